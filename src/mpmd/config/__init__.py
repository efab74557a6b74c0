"""Configuration: Apache syntax -> directive tree -> validated server configuration.

``parser`` turns text into nodes, ``registry`` declares what a module and a
directive are, ``loader`` walks the nodes in Apache's order and applies each
directive to the server or section it sits in, ``server`` holds the result.
"""
