"""What a configuration was read from: every file's text and what each Include matched.

The loader reads through ``Sources`` and so records a snapshot of the
configuration as it stood when it was read. A winnt child (a new
interpreter, not a fork) replays the parent's snapshot instead of reading
the disk again: otherwise a configuration file edited since the parent read
it (broken, even) would decide what the child runs, and a graceful restart
refused for a bad configuration would still take the child down.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mpmd.config.parser import Node, parse_text, read_file


class Sources:
    def __init__(self, snapshot: dict[str, Any] | None = None) -> None:
        self.files: dict[str, str] = {}
        self.matches: dict[str, list[str]] = {}
        self._replay_files: dict[str, str] = dict((snapshot or {}).get("files", {}))
        self._replay_matches: dict[str, list[str]] = dict((snapshot or {}).get("matches", {}))

    def parse(self, path: str) -> list[Node]:
        """The directives of the file at ``path`` (from the snapshot when replaying)."""
        text = self._replay_files.get(path)
        if text is None:
            text = read_file(path)
        self.files[path] = text
        return parse_text(text, path)

    def match(self, path: str, resolve: Callable[[], list[str]]) -> list[str]:
        """The files an Include of ``path`` reads (``resolve`` looks at the disk)."""
        files = self._replay_matches.get(path)
        if files is None:
            files = resolve()
        self.matches[path] = files
        return files

    def snapshot(self) -> str:
        return json.dumps({"files": self.files, "matches": self.matches})

    @classmethod
    def replay(cls, text: str) -> Sources:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a configuration snapshot")
        return cls(data)
