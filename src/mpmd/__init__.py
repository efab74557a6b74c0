"""mpmd: Apache httpd's multiprocessing modules, in Python."""

from __future__ import annotations

__version__ = "0.1.0"
SERVER_BASE_PRODUCT = "mpmd"
