"""Logging: the error log (Apache's line form) and the log levels."""
