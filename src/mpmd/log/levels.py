"""Apache's log levels, most severe first."""

from __future__ import annotations

LEVELS = {
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "error": 3,
    "warn": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
    **{f"trace{i}": 7 + i for i in range(1, 9)},
}
NAMES = {v: k for k, v in LEVELS.items()}
EMERG, ALERT, CRIT, ERROR, WARN, NOTICE, INFO, DEBUG = range(8)
