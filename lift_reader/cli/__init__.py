"""The ``lift-reader`` command (``lift_reader.cli:main``, the entry point pyproject names).

Modules: ``entry`` (the parser and ``main``), ``commands`` (add, books, ask, chat, adapters, models,
doctor, demo, gui), ``memorize`` (memorize, batch), ``eval``, ``recipe`` (the memorize recipe's flags,
one table) and ``common`` (what they share).  Imports go one way: entry -> commands -> memorize, eval ->
recipe -> common.
"""

from lift_reader.cli.entry import build_parser, main

__all__ = ["main", "build_parser"]
