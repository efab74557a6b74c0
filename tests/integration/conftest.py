"""The integration suite runs on every MPM: ``mpm`` is None (``mpmd -X``) or an MPM's name.

A module-scoped server fixture that takes ``mpm`` is started once per MPM,
and every test that uses it runs against each: the HTTP layer and the
modules must behave the same whichever MPM runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import MPMS, Server, run_server


@pytest.fixture(scope="module", params=[None, *MPMS], ids=["X", *MPMS])
def mpm(request: pytest.FixtureRequest) -> str | None:
    param: str | None = request.param
    return param


@pytest.fixture
def mpmd(tmp_path: Path, mpm: str | None) -> Iterator[Callable[..., Server]]:
    """``mpmd(conf_body, **kw)`` starts a server on the current MPM; all stopped at test end."""
    with ExitStack() as stack:
        count = 0

        def start(conf_body: str = "", **kw: Any) -> Server:
            nonlocal count
            count += 1
            kw.setdefault("mpm", mpm)
            return stack.enter_context(run_server(tmp_path / f"server{count}", conf_body, **kw))

        yield start
