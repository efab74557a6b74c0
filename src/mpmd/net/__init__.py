"""Networking: the listen sockets (Listen, IPv6, backlog)."""
