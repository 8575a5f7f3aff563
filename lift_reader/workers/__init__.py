"""workers/: the only Qt code that runs core work off the GUI thread.

``run_in_background`` and ``run_generator`` run any function; the ``Session``
owns the library, the Workspace and the one-thread ``ModelLane`` that every
model job (load, memorize, ask) goes through.  Nothing here touches widgets.
"""

from lift_reader.workers.background import (
    CancelFlag,
    Worker,
    live_workers,
    run_generator,
    run_in_background,
    wait_for_workers,
)
from lift_reader.workers.lane import ModelLane
from lift_reader.workers.session import Session

__all__ = ["CancelFlag", "ModelLane", "Session", "Worker", "live_workers", "run_generator", "run_in_background",
           "wait_for_workers"]
