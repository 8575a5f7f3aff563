"""Small text formats shared by the CLI and the GUI (no torch)."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    """'1h 05m', '3m 07s' or '42s'; '?' when unknown."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")
