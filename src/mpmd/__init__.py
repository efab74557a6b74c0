"""mpmd: Apache httpd's multiprocessing modules, in Python."""

from __future__ import annotations

__version__ = "0.1.0"
SERVER_BASE_PRODUCT = "mpmd"


def compiled_modules() -> list[str]:
    """The modules installed as C extensions (mypyc, setup.py), by import name; [] for plain Python."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    package = Path(__file__).parent
    found = []
    for path in package.rglob("*.*"):
        # the most specific suffix first: ".cpython-311-x86_64-linux-gnu.so" before ".so"
        suffix = next((s for s in EXTENSION_SUFFIXES if path.name.endswith(s)), None)
        if suffix is not None:
            module = path.relative_to(package.parent).with_name(path.name[: -len(suffix)])
            found.append(".".join(module.parts))
    return sorted(found)
