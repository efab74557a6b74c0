"""Command-line programs: ``mpmd`` (httpd's flags)."""
