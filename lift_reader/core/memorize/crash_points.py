"""Named points where a test can make this process die or get a signal, to test crash safety.

``LIFT_READER_CRASH_AT=POINT@STEP[:SIGNAL]`` makes the process send itself
SIGNAL (default KILL: no clean-up at all, like a power cut or the
out-of-memory killer) when it reaches POINT at optimizer step STEP, e.g.
``checkpoint-files@10`` (inside the save of step 10's checkpoint, every file
written, nothing swapped in yet) or ``step@7:TERM`` (a logout after step 7).
Without the variable every call is a dictionary lookup and nothing else:
tests choose the moment instead of racing a timer against the process.

Points: ``step`` (a step is done and reported), ``checkpoint-weights``,
``checkpoint-files`` (inside a checkpoint save), ``checkpoint-saved`` (the
new checkpoint is in place).
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "LIFT_READER_CRASH_AT"


def crash_point(name: str, step: int) -> None:
    """Die (or get the chosen signal) here if the environment asks for ``name`` at ``step``."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    where, _, sig_name = spec.partition(":")
    point, _, at = where.partition("@")
    if point == name and at == str(step):
        os.kill(os.getpid(), getattr(signal, f"SIG{sig_name or 'KILL'}"))
