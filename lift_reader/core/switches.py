"""The words an environment switch reads as on or off (LIFT_READER_COMPILE, LIFT_READER_GRAD_FILTER)."""

from __future__ import annotations

ON = frozenset(("1", "true", "yes", "on"))
OFF = frozenset(("0", "false", "no", "off"))


def switch(value: str) -> bool | None:
    """True or False for an on or off word (any case, spaces around), None for anything else."""
    value = value.strip().lower()
    return True if value in ON else False if value in OFF else None
