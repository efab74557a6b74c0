"""Configuration errors in Apache's own wording, with file and line."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration error a user can act on.

    ``str()`` gives httpd's two-line form::

        AH00526: Syntax error on line 12 of /etc/mpmd/mpmd.conf:
        Invalid command 'Foo', perhaps misspelled or defined by a module ...
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None or self.line is None:
            return self.message
        return f"AH00526: Syntax error on line {self.line} of {self.file}:\n{self.message}"

    def one_line(self) -> str:
        """The form used in an error-log line (no newline)."""
        return str(self).replace(":\n", ": ", 1)
