"""The ``lift-reader`` command's parser and entry point: everything the app does, from a terminal.

What each command does lives in ``commands`` (adding, asking, adapters, ...), ``memorize``
(memorize and batch) and ``eval``; ``common`` holds what they share and ``recipe`` the memorize
recipe's flags.  Building the parser imports no torch.

Exit codes: 0 done, 1 a failure (model, disk, ...), 2 bad input (a file
that is not a book, an unknown adapter, a bad option), 130 stopped by
Ctrl-C (a memorize run saves a checkpoint first: resume with --resume).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lift_reader import __version__
from lift_reader.cli.common import EXIT_INTERRUPTED, positive_int
from lift_reader.cli.eval import add_eval_parser
from lift_reader.cli.recipe import add_memorize_options
from lift_reader.core.ask.modes import DEFAULT_MODE, MODES
from lift_reader.errors import LiftReaderError, PasswordRequiredError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lift-reader",
        description="Memorize whole books into a local language model (LIFT) and ask about them.",
    )
    parser.add_argument("--version", action="version", version=f"lift-reader {__version__}")
    parser.add_argument("--model", help="base model: 'embedded' (default), a model folder, a .gguf file or a hub id")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default: auto)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "nf4"],
                        help="number format of the base model (default: auto: nf4 on CUDA, fastest on CPU)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show library log messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def book_arg(p):
        p.add_argument("book", help="a book file, or a book already in the library (hash prefix, path or a word of its title)")
        p.add_argument("--password", help="password of an encrypted PDF")

    p = sub.add_parser("add", help="add a book to the library")
    book_arg(p)
    sub.add_parser("books", help="list the books in the library")

    p = sub.add_parser("memorize", help="fine-tune an adapter on a whole book (LIFT); runs under torchrun too")
    book_arg(p)
    add_memorize_options(p)
    p.add_argument("--name", help="name of the saved adapter (default: the book's title)")
    p.add_argument("--resume", action="store_true",
                   help="continue the book's paused run (from the app or the command line) with the settings saved "
                        "in its checkpoint; flags given must agree with them")
    p.add_argument("--estimate", action="store_true", help="print the estimate and stop")

    p = sub.add_parser("batch", help="memorize every book in folders or lists, skipping those already done")
    p.add_argument("sources", nargs="*", type=Path, metavar="FOLDER_OR_FILE",
                   help="book files and folders of books (not searched recursively unless --recursive)")
    p.add_argument("--list", dest="list_files", action="append", type=Path, default=[], metavar="FILE",
                   help="a text file with one book path per line (# comments allowed); may be repeated")
    p.add_argument("--recursive", action="store_true", help="also look in subfolders")
    p.add_argument("--dry-run", action="store_true", help="only say what would be memorized or skipped")
    add_memorize_options(p)

    p = sub.add_parser("ask", help="ask one question about a book")
    book_arg(p)
    p.add_argument("question")
    _ask_options(p)

    p = sub.add_parser("chat", help="talk about a book (interactive; empty line or Ctrl-D ends)")
    book_arg(p)
    _ask_options(p)

    p = sub.add_parser("adapters", help="list, show, rename, remove, export or import adapters")
    asub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    asub.add_parser("list", help="all saved adapters")
    q = asub.add_parser("show", help="an adapter's settings and loss curve")
    q.add_argument("name")
    q = asub.add_parser("rename")
    q.add_argument("name")
    q.add_argument("new_name")
    q = asub.add_parser("rm", help="delete an adapter")
    q.add_argument("name")
    q = asub.add_parser("export", help="write an adapter to a .zip (peft), or as a llama.cpp/Ollama LoRA (gguf)")
    q.add_argument("name")
    q.add_argument("zip", type=Path, nargs="?", metavar="DEST",
                   help="peft: the .zip to write; gguf: the folder to write (default ./<name>-gguf)")
    q.add_argument("--format", choices=["peft", "gguf"], default="peft",
                   help="peft (default): the adapter folder as a .zip, for LIFT Reader and plain peft; "
                        "gguf: a llama.cpp LoRA file, an Ollama Modelfile and a README")
    q.add_argument("--out", type=Path, help="the same as DEST")
    q = asub.add_parser("import", help="add an adapter from a .zip or a peft adapter folder (checked before "
                                       "anything is written)")
    q.add_argument("zip", type=Path, metavar="ZIP_OR_FOLDER")
    q.add_argument("--book", help="for a plain peft folder: the book it memorized (a library book or a file)")
    q.add_argument("--name", help="for a plain peft folder: the adapter's name (default: the folder's name)")
    q = asub.add_parser("activate", help="make an adapter the one that answers for its book")
    q.add_argument("name")

    sub.add_parser("models", help="GGUF and safetensors models already on this machine (Ollama, LM Studio, "
                                  "the Hugging Face cache), and whether each can memorize here")
    sub.add_parser("doctor", help="what this machine has and what the app will use")
    p = sub.add_parser("demo", help="memorize the sample story and answer questions about it")
    p.add_argument("--questions", type=int, default=4, help="how many sample questions to ask")
    add_eval_parser(sub)
    p = sub.add_parser("gui", help="open the desktop app")
    p.add_argument("book", nargs="?", type=Path, help="a book to open (what a file manager passes)")
    p.add_argument("--open", dest="open_path", type=Path, help="a book to open (the same as BOOK)")
    p.add_argument("--screenshot", type=Path, help="save a screenshot of the window once the book is shown, then exit")
    return parser


def _ask_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", default=DEFAULT_MODE, choices=MODES,
                   help=f"lift+icl: adapter + head/tail of the book; icl: no adapter; lift: no context; "
                        f"rag / lift+rag: passages retrieved for the question instead of head/tail "
                        f"(default: {DEFAULT_MODE}); a book not memorized yet answers without the adapter "
                        f"(icl or rag) and says so")
    p.add_argument("--context-tokens", type=int, default=None, help="book tokens in the prompt (head + tail)")
    p.add_argument("--max-new-tokens", type=positive_int, default=200)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=None, help="seed for --sample")
    p.add_argument("--up-to-page", type=positive_int, default=None,
                   help="spoiler-safe: the book text in the prompt ends with this page (says so when the "
                        "adapter has read further)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        _quiet_libraries()
    if args.command is None:
        parser.print_help()
        return 2
    from lift_reader.cli.commands import COMMANDS

    try:
        return COMMANDS[args.command](args)
    except PasswordRequiredError as err:
        print(f"error: {_one_line(err)} (use --password)", file=sys.stderr)
        return err.exit_code
    except LiftReaderError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(err: Exception) -> str:
    """The message with control characters (a newline in a file name, say) made visible."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(err))


def _quiet_libraries() -> None:
    import os
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", module="transformers")
    warnings.filterwarnings("ignore", module="peft")
    # bitsandbytes announces at import that optional CPU kernels are missing;
    # they only matter for 4-bit on the CPU, which we do not use by default.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    # transformers' hub-kernels helper (the `kernels` package) warns on every load in offline mode
    # that it skips a publisher trust check for a bitsandbytes kernel we never fetch.
    logging.getLogger("kernels").setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:
        pass


__all__ = ["main", "build_parser"]
