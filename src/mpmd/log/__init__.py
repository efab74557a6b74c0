"""Logging: the error log (Apache's line form), the access log's line format, the log levels."""
