"""Fixtures: real mpmd servers on ephemeral ports, always stopped by PID."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import Server, run_server


@pytest.fixture
def mpmd(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``mpmd(conf_body, **kw)`` starts a server for this test; all are stopped at its end."""
    with ExitStack() as stack:
        count = 0

        def start(conf_body: str = "", **kw: Any) -> Server:
            nonlocal count
            count += 1
            return stack.enter_context(run_server(tmp_path / f"server{count}", conf_body, **kw))

        yield start
