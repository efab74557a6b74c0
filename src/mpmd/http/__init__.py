"""The HTTP/1.1 layer: connections, parsing (httptools), requests, responses, error pages.

It knows requests, never processes or threads: an MPM hands it a connected
socket and calls ``Connection.serve``. Conditional requests (``conditional.py``)
and byte ranges (``ranges.py``) are pure RFC 9110 that a handler asks what to send.
"""
