"""Entry point of the PyInstaller app: the ``lift-reader`` command, the desktop app by default.

Started with no arguments (a double click, a desktop launcher) it opens the desktop app;
with arguments it is the same command line as a pip install (``lift-reader doctor``, ...).
"""

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()  # a frozen app must answer child-process starts itself
    from lift_reader.cli import main as cli_main

    return cli_main(sys.argv[1:] or ["gui"])


if __name__ == "__main__":
    raise SystemExit(main())
