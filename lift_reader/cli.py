"""The ``lift-reader`` command: everything the app does, from a terminal.

Exit codes: 0 done, 1 a failure (model, disk, ...), 2 bad input (a file
that is not a book, an unknown adapter, a bad option), 130 stopped by
Ctrl-C (a memorize run saves a checkpoint first: resume with --resume).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from pathlib import Path

from lift_reader import __version__
from lift_reader.cli_eval import add_recipe_options
from lift_reader.core.ask.modes import DEFAULT_MODE, MODES
from lift_reader.errors import LiftReaderError, PasswordRequiredError

EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


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
        p.add_argument("book", help="a book file, or a book already in the library (hash prefix or path)")
        p.add_argument("--password", help="password of an encrypted PDF")

    p = sub.add_parser("add", help="add a book to the library")
    book_arg(p)
    sub.add_parser("books", help="list the books in the library")

    p = sub.add_parser("memorize", help="fine-tune an adapter on a whole book (LIFT); runs under torchrun too")
    book_arg(p)
    _memorize_options(p)
    p.add_argument("--name", help="name of the saved adapter (default: the book's title)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint of the same run")
    p.add_argument("--estimate", action="store_true", help="print the estimate and stop")

    p = sub.add_parser("batch", help="memorize every book in folders or lists, skipping those already done")
    p.add_argument("sources", nargs="*", type=Path, metavar="FOLDER_OR_FILE",
                   help="book files and folders of books (not searched recursively unless --recursive)")
    p.add_argument("--list", dest="list_files", action="append", type=Path, default=[], metavar="FILE",
                   help="a text file with one book path per line (# comments allowed); may be repeated")
    p.add_argument("--recursive", action="store_true", help="also look in subfolders")
    p.add_argument("--dry-run", action="store_true", help="only say what would be memorized or skipped")
    _memorize_options(p)

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
    from lift_reader.cli_eval import add_eval_parser  # the eval command lives in its own module

    add_eval_parser(sub)
    p = sub.add_parser("gui", help="open the desktop app")
    p.add_argument("book", nargs="?", type=Path, help="a book to open (what a file manager passes)")
    p.add_argument("--open", dest="open_path", type=Path, help="a book to open (the same as BOOK)")
    p.add_argument("--screenshot", type=Path, help="save a screenshot of the window once the book is shown, then exit")
    return parser


def _memorize_options(p: argparse.ArgumentParser) -> None:
    """Training settings shared by memorize and batch (unset ones take the hardware's defaults)."""
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--segment-length", type=_positive_int, help="tokens per segment (l)")
    p.add_argument("--stride", type=_positive_int, help="tokens between segment starts (s; default 3/8 l)")
    p.add_argument("--lr", type=float, dest="learning_rate", help="peak learning rate")
    p.add_argument("--rank", type=_positive_int, dest="lora_rank", help="LoRA rank")
    p.add_argument("--alpha", type=_positive_int, dest="lora_alpha", help="LoRA alpha")
    p.add_argument("--dropout", type=float, dest="lora_dropout", help="LoRA dropout")
    p.add_argument("--micro-batch", type=_positive_int, dest="micro_batch_size", help="segments per forward pass")
    p.add_argument("--grad-accum", type=_positive_int, dest="grad_accum_steps", help="micro-batches per optimizer step (under torchrun: default, the number of processes)")
    p.add_argument("--schedule", choices=["cosine", "linear", "constant"])
    p.add_argument("--warmup", type=float, dest="warmup_ratio", help="fraction of steps for warm-up")
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=_positive_int, help="optimizer steps between checkpoints")
    p.add_argument("--checkpoint-minutes", type=float,
                   help="minutes of training between checkpoints as well (default 2.5; 0: by steps only)")
    p.add_argument("--compile", choices=["auto", "on", "off"],
                   help="torch.compile the model for this run (default auto: runs of 300,000 tokens or more)")
    add_recipe_options(p)
    p.add_argument("--aux-weight", type=float, help="weight gamma of the auxiliary loss")
    p.add_argument("--up-to-page", type=_positive_int, help="spoiler-safe: memorize only up to this page")


def _ask_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", default=DEFAULT_MODE, choices=MODES,
                   help=f"lift+icl: adapter + head/tail of the book; icl: no adapter; lift: no context; "
                        f"rag / lift+rag: passages retrieved for the question instead of head/tail "
                        f"(default: {DEFAULT_MODE})")
    p.add_argument("--context-tokens", type=int, default=None, help="book tokens in the prompt (head + tail)")
    p.add_argument("--max-new-tokens", type=_positive_int, default=200)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=None, help="seed for --sample")
    p.add_argument("--up-to-page", type=_positive_int, default=None,
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
    from lift_reader import cli_commands

    try:
        return getattr(cli_commands, f"cmd_{args.command}")(args)
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


# Ctrl-C, `kill`, a logout or shutdown (SIGTERM), a closed terminal (SIGHUP): all stop cleanly.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


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


__all__ = ["main", "build_parser"]
