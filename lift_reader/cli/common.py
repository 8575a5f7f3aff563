"""What the ``lift-reader`` commands share: the Workspace a command works in, exit codes, stop signals.

Nothing here imports torch or the other cli modules: each command module imports this one.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

EXIT_INTERRUPTED = 130

# Ctrl-C, `kill`, a logout or shutdown (SIGTERM), a closed terminal (SIGHUP): all stop cleanly.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def workspace(args, *, quiet: bool = False):
    """The Workspace of the model and device the command line names; progress goes to stderr."""
    from lift_reader.core.workspace import Workspace

    def progress(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return Workspace(model_ref=args.model, device=args.device, precision=args.precision, progress=progress)


def find_book(ws, args):
    """The library book the command names (a file not yet in the library is added)."""
    return ws.find_book(args.book, password=getattr(args, "password", None))


def install_sigint_cancel(cancel) -> None:
    """The first stop signal asks the running job to stop cleanly (it saves a checkpoint); a second one aborts."""
    def handler(signum, frame):
        if cancel.cancelled:
            raise KeyboardInterrupt
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        cancel.cancel()

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
