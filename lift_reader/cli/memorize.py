"""``lift-reader memorize`` and ``batch``: fine-tune adapters with a terminal progress bar (torchrun too)."""

from __future__ import annotations

import sys

from lift_reader.cli.common import EXIT_INTERRUPTED, find_book, install_sigint_cancel, workspace
from lift_reader.cli.recipe import given_settings, memorize_settings


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
    ws = workspace(args, quiet=not dist.is_main)
    with dist.main_first():  # rank 0 converts the model and caches the book's tokens; the others reuse them
        record = find_book(ws, args)
        paused = _paused_run(args, ws, record) if args.resume else None
        if paused is not None:
            settings = paused
            say("resuming the book's paused run with the settings saved in its checkpoint")
        else:
            settings = _distributed_settings(args, memorize_settings(args, ws.lm.placement.device), dist, say)
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
    outcome = train_with_progress(ws, record, settings, resume=args.resume, name=args.name, dist=dist)
    if not outcome.finished:
        say(f"stopped at step {outcome.steps}/{outcome.total_steps}; checkpoint saved. "
            f"Continue with: lift-reader memorize {args.book} --resume")
        return EXIT_INTERRUPTED
    if outcome.adapter is not None:
        _say_memorized(say, outcome, outcome.adapter, ws.library.active_adapter(record.content_hash))
    return 0


def _paused_run(args, ws, record):
    """The settings of the book's paused run (the newest) that every recipe flag given agrees with, or None.

    A run paused in the app resumes with ``--resume`` alone: its settings come from its checkpoint.
    Flags that do not change what is trained (checkpoint intervals, --compile) apply to the resumed run.
    """
    given = given_settings(args)
    for paused in ws.paused_runs():
        if paused.record.content_hash != record.content_hash:
            continue
        settings = paused.settings.with_changes(**given)
        if settings.training_key() == paused.settings.training_key():
            return settings
    return None


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


def train_with_progress(ws, record, settings, *, resume: bool, name: str | None, dist, cancel=None):
    """Run memorize with a terminal progress bar (rank 0 only); Ctrl-C stops cleanly after a checkpoint.

    Returns the run's MemorizeOutcome.
    """
    from tqdm import tqdm

    from lift_reader.core.cancel import CancelToken
    from lift_reader.core.memorize.crash_points import crash_point
    from lift_reader.core.workspace import run_to_end

    if cancel is None:
        cancel = CancelToken()
        install_sigint_cancel(cancel)
    bar = None

    def show(event) -> None:
        nonlocal bar
        if event.kind == "step":
            crash_point("step", event.step)  # tests only: die or get a signal right after this step
        if not dist.is_main:
            return
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

    outcome = run_to_end(ws.memorize(record, settings, resume=resume, cancel=cancel, adapter_name=name, dist=dist),
                         show)
    if bar is not None:
        bar.close()
    return outcome


def cmd_batch(args) -> int:
    return _in_process_group(args, _batch)


def _batch(args, dist) -> int:
    """Memorize each book in turn; a book that fails is reported and the batch goes on."""
    import time

    from lift_reader.core.memorize.batch import BatchLine, collect_books, summary_table
    from lift_reader.core.cancel import CancelToken
    from lift_reader.errors import LiftReaderError

    say = _printer(dist)
    paths = collect_books(args.sources, args.list_files, recursive=args.recursive)
    ws = workspace(args, quiet=not dist.is_main)
    with dist.main_first():
        settings = _distributed_settings(args, memorize_settings(args, ws.lm.placement.device), dist, say)
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
            outcome = train_with_progress(ws, record, settings, resume=resume, name=None, dist=dist,
                                          cancel=cancel)
        except LiftReaderError as err:
            if dist.enabled:
                raise  # the other ranks may be waiting in a collective: stop the whole job
            lines.append(BatchLine(path, "failed", str(err).splitlines()[0], time.perf_counter() - started))
            say(f"[{n}/{len(paths)}] {path.name}: failed: {err}")
            continue
        took = time.perf_counter() - started
        if not outcome.finished:
            lines.append(BatchLine(path, "stopped", "checkpoint saved; run the batch again to resume", took))
        else:
            adapter = outcome.adapter
            detail = f"adapter {adapter.name!r}, final loss {outcome.final_loss:.3f}" if adapter else ""
            lines.append(BatchLine(path, "memorized", detail, took))
    say("")
    say(summary_table(lines))
    if any(line.status == "stopped" for line in lines):
        return EXIT_INTERRUPTED
    return 1 if any(line.status == "failed" for line in lines) else 0


def _duration(adapter) -> float | None:
    from lift_reader.store.adapters import read_meta

    return read_meta(adapter.path).duration_s
