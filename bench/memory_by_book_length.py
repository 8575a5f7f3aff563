"""Peak memory of memorizing a short book against a long one (goal: within 10%).

Each book runs in a fresh subprocess (so peaks do not mix) with its own empty
``LIFT_READER_HOME``, through the real Workspace path: ``add_book``,
``book_tokens``, then ``memorize`` cancelled (``CancelToken``) after a fixed
number of optimizer steps.  Memory does not depend on how far into the book
training is (every step holds one segment's activations and the same LoRA and
AdamW state), so a fixed step count measures the whole run's training peak.

Per book it records the RSS after loading the model and right after
tokenization, the whole process's peak RSS (``ru_maxrss``), and the peak RSS
during training alone (the kernel's high-water mark, reset after tokenization
through ``/proc/self/clear_refs``; cross-checked by a psutil sampler).

    .venv/bin/python bench/memory_by_book_length.py                  # pg1063 vs pg2701, embedded Gemma
    .venv/bin/python bench/memory_by_book_length.py --precision both --steps 20
    .venv/bin/python bench/memory_by_book_length.py --tiny --steps 3 --quick   # checks the script
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc  # noqa: E402

NAME = "memory_by_book_length"
RATIO = "long/short"
MiB = 2**20


def parse_args(argv):
    p = bc.common_parser(__doc__.splitlines()[0])
    p.add_argument("--short", type=Path, default=None, help="the short book (default: ../shared/data/books/pg1063.txt)")
    p.add_argument("--long", type=Path, default=None, help="the long book (default: ../shared/data/books/pg2701.txt)")
    p.add_argument("--segment-length", type=int, default=None, help="tokens per segment (default 256; 64 with --quick)")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed per subprocess")
    p.add_argument("--parallel", action="store_true",
                   help="run the two books' subprocesses at the same time (quicker checks; peaks stay per "
                        "process, but the tokens/s side number then means little)")
    # The subprocess side (internal).
    p.add_argument("--child-book", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-result", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.segment_length = args.segment_length or (64 if args.quick else 256)
    return args


# --- measuring inside the subprocess -----------------------------------------


class RssSampler:
    """Samples RSS with psutil every few milliseconds (None when psutil is missing)."""

    def __init__(self, every_s: float = 0.005):
        self.every_s = every_s
        self.peak = None
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        try:
            import psutil
        except ImportError:
            return self
        proc = psutil.Process()
        self.peak = proc.memory_info().rss

        def loop():
            while not self._stop.wait(self.every_s):
                self.peak = max(self.peak, proc.memory_info().rss)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def add_book(ws, path: Path):
    """``Workspace.add_book``; where the document loaders are missing, the same steps with plain text."""
    try:
        from lift_reader.core.text.documents import open_book  # noqa: F401  (import is the check)
    except ImportError:
        return ws.add_text(bc.plain_text_book(path), Path(path).resolve()), "plain-text fallback"
    return ws.add_book(path), "Workspace.add_book"


def child(args) -> None:
    """One book in this (fresh) process; the numbers go to --child-result as JSON."""
    from lift_reader.core.text.segments import SegmentPlan
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.memorize.training import CancelToken
    from lift_reader.core.workspace import Workspace

    bc.apply_threads(args)
    (precision,) = bc.precisions(args.precision)
    out = {"book": args.child_book.name, "precision": precision, "home": os.environ.get("LIFT_READER_HOME")}
    out["rss_start"] = bc.current_rss()
    ws = Workspace(model_ref=args.model, device="cpu", precision=precision,
                   progress=lambda msg: print(msg, file=sys.stderr))
    if args.tiny:
        ws.use_model(bc.tiny_lm(precision))
    _ = ws.lm
    out["rss_after_load"] = bc.current_rss()

    t0 = time.perf_counter()
    record, out["loader"] = add_book(ws, args.child_book)
    tokens = ws.book_tokens(record)
    out["tokenize_s"] = time.perf_counter() - t0
    out["rss_after_tokenize"] = bc.current_rss()
    out["tokens"] = len(tokens)
    out["segments"] = len(SegmentPlan.for_book(len(tokens), args.segment_length))
    out["peak_before_training"] = bc.lifetime_peak()
    out["peak_reset"] = bc.reset_peak()

    settings = MemorizeSettings(segment_length=args.segment_length)
    cancel = CancelToken()
    stamps, kinds, total_steps = [], [], None
    with RssSampler() as sampler:
        for event in ws.memorize(record, settings, cancel=cancel):
            kinds.append(event.kind)
            total_steps = event.total_steps
            if event.kind == "step":
                stamps.append(time.perf_counter())
                if event.step >= args.steps:
                    cancel.cancel()
    out["peak_training_hwm"] = bc.peak_since_reset() if out["peak_reset"] else None
    out["peak_training_psutil"] = sampler.peak
    out["peak_whole_run"] = max(bc.lifetime_peak(), out["peak_before_training"])
    out["steps_done"] = len(stamps)
    out["total_steps_full_run"] = total_steps
    out["last_event"] = kinds[-1] if kinds else None
    if len(stamps) >= 3:  # skip the first step (warm-up)
        out["tokens_per_s"] = (len(stamps) - 1) * settings.segment_length / (stamps[-1] - stamps[0])
    args.child_result.write_text(json.dumps(out), encoding="utf-8")


# --- the parent ----------------------------------------------------------------


def resolve_books(args, scratch: Path) -> tuple[Path, Path, str | None]:
    short = args.short or (bc.SHORT_BOOK if bc.SHORT_BOOK.is_file() else bc.SAMPLE_STORY)
    long = args.long or (bc.LONG_BOOK if bc.LONG_BOOK.is_file() else None)
    note = None
    if long is None:
        # No shared data: a long book made of the sample story 60 times over.
        story = bc.SAMPLE_STORY.read_text(encoding="utf-8")
        long = scratch / "sample-story-x60.txt"
        long.write_text("\n\n".join(f"Part {i + 1}\n\n{story}" for i in range(60)), encoding="utf-8")
        note = "../shared is absent: the long book is the sample story repeated 60 times."
    return Path(short), Path(long), note


def resolve_model_folder(args) -> str | None:
    """Convert/fetch the model once here, so the subprocesses (with empty homes) just load a folder."""
    if args.tiny:
        return None
    from lift_reader.core.model.model_source import parse_model_ref, resolve_to_folder

    return resolve_to_folder(parse_model_ref(args.model), lambda msg: print(msg, file=sys.stderr))


def start_child(args, book: Path, precision: str, folder: str | None, scratch: Path):
    """Start the subprocess for one book; returns (process, result path, log path)."""
    home = Path(tempfile.mkdtemp(prefix="lift-home-", dir=scratch))
    result = scratch / f"{book.stem}-{precision}.json"
    log = scratch / f"{book.stem}-{precision}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-book", str(book), "--child-result", str(result),
           "--steps", str(args.steps), "--precision", precision, "--segment-length", str(args.segment_length)]
    cmd += ["--tiny"] if args.tiny else ["--model", folder]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ, LIFT_READER_HOME=str(home))
    print(f"[{precision}] {book.name}: subprocess ...", file=sys.stderr)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, result, log


def finish_child(args, started, book: Path) -> dict:
    proc, result, log = started
    try:
        code = proc.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise SystemExit(f"the subprocess for {book.name} took longer than {args.timeout:g} s")
    if code != 0 or not result.is_file():
        raise SystemExit(f"the subprocess for {book.name} failed ({code}):\n"
                         f"{log.read_text(encoding='utf-8', errors='replace')[-4000:]}")
    return json.loads(result.read_text(encoding="utf-8"))


def run_pair(args, short: Path, long: Path, precision: str, folder: str | None, scratch: Path) -> list[dict]:
    if args.parallel:
        started = [start_child(args, b, precision, folder, scratch) for b in (short, long)]
        return [finish_child(args, s, b) for s, b in zip(started, (short, long))]
    return [finish_child(args, start_child(args, b, precision, folder, scratch), b) for b in (short, long)]


def mib(x):
    return None if x is None else x / MiB


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child_book is not None:
        child(args)
        return {}
    if args.steps < 1:
        raise SystemExit("--steps must be at least 1")
    facts = bc.machine_facts()
    precs = bc.precisions(args.precision)
    folder = resolve_model_folder(args)
    facts.update({"model": "tiny-gemma3 (in-process)" if args.tiny else folder,
                  "segment length": args.segment_length, "optimizer steps per book": args.steps})

    cols = ["book", "precision", "tokens", "segments", "RSS after load MiB", "RSS after tokenize MiB",
            "peak RSS MiB", "peak RSS training MiB", "train tokens/s"]
    table = bc.Table("Peak memory by book length", cols)
    runs = []
    with tempfile.TemporaryDirectory(prefix="lift-bench-mem-") as tmp:
        scratch = Path(tmp)
        short, long, note = resolve_books(args, scratch)
        for prec in precs:
            pair = run_pair(args, short, long, prec, folder, scratch)
            for r, path in zip(pair, (short, long)):
                r["path"] = bc.display_path(path) if path.parent != scratch else path.name
                table.add(path.name, prec, r["tokens"], r["segments"], mib(r["rss_after_load"]),
                          mib(r["rss_after_tokenize"]), mib(r["peak_whole_run"]),
                          mib(r["peak_training_hwm"] or r["peak_training_psutil"]), r.get("tokens_per_s"))
            s, lg = pair

            def ratio(key):
                a, b = s.get(key), lg.get(key)
                return bc.Ratio(b / a) if a and b else None

            train_key = "peak_training_hwm" if s["peak_training_hwm"] else "peak_training_psutil"
            table.add(RATIO, prec, ratio("tokens"), ratio("segments"), ratio("rss_after_load"),
                      ratio("rss_after_tokenize"), ratio("peak_whole_run"), ratio(train_key), ratio("tokens_per_s"))
            runs.append({"precision": prec, "short": s, "long": lg,
                         "peak_ratio": ratio("peak_whole_run"), "training_peak_ratio": ratio(train_key)})

    goal = ", ".join(f"{r['precision']}: whole-run peak x{r['peak_ratio']:.3f}, training peak "
                     f"x{r['training_peak_ratio']:.3f} -> {'met' if max(r['peak_ratio'], r['training_peak_ratio']) <= 1.10 else 'NOT met'}"
                     for r in runs)
    table.notes += [
        f"Goal: the long book's peak RSS within 10% of the short book's. {goal}.",
        f"Each book: a fresh subprocess with an empty LIFT_READER_HOME; Workspace.add_book, book_tokens, then "
        f"memorize (default MemorizeSettings, {args.segment_length}-token segments) cancelled with a CancelToken "
        f"after {args.steps} optimizer steps (the cancel writes a checkpoint, as in the app). Memory does not "
        "depend on how far into the book training is: each step holds one segment's activations plus the same "
        "LoRA weights and AdamW moments, so a fixed step count stands for the whole run.",
        "peak RSS = ru_maxrss of the whole subprocess (model load, tokenization and training); peak RSS training "
        "= the kernel's high-water mark (VmHWM) reset after tokenization via /proc/self/clear_refs "
        f"(psutil sampler every 5 ms as a check: "
        + "; ".join(f"{r['precision']} {mib(r['short']['peak_training_psutil']) or 0:.0f} / "
                    f"{mib(r['long']['peak_training_psutil']) or 0:.0f} MiB" for r in runs) + ").",
        "Loader: " + ", ".join(sorted({runs[0]["short"]["loader"], runs[0]["long"]["loader"]})) + "; tokenize "
        "(add_book + book_tokens) took " + " / ".join(f"{r[k]['tokenize_s']:.1f} s" for r in runs[:1]
                                                      for k in ("short", "long")) + " (short / long).",
        "train tokens/s: from the step events after the first step (a side number; see train_throughput.py).",
    ]
    set_early = [f"{r['precision']} {k}" for r in runs for k in ("short", "long")
                 if (r[k]["peak_training_hwm"] or 0) < r[k]["peak_before_training"]]
    if set_early:
        table.notes.append("The whole-run peak was set before training (model load or tokenization) in: "
                           + ", ".join(set_early) + "; compare the training column.")
    if note:
        table.notes.append(note)
    if args.parallel:
        table.notes.append("--parallel: both books ran at the same time; ignore train tokens/s.")
    return bc.report(NAME, "Peak memory by book length", [table], facts, args.out_dir, extra={"runs": runs})


if __name__ == "__main__":
    main()
