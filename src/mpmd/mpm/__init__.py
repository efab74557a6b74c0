"""MPMs: who runs a connection. ``single`` is httpd's -X: one process, one connection at a time."""
