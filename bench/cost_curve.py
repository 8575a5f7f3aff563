"""Cost curve: one needle question answered by ICL (the whole text in the prompt) vs LIFT (memorize, then answer).

The method's cost curve (the LIFT paper's Figure 3) on this machine: for
inputs of growing length (1K to 32K tokens by default, up to the model's
context window), the time and peak memory of answering ONE question

  (a) ICL:  mode ``icl`` with the whole text in the prompt (nothing cut);
  (b) LIFT: ``memorize`` with the app's default CPU settings, then mode
            ``lift+icl`` with the app's default truncated window.

Each input is the start of a long public-domain book (pg2701, Moby Dick)
cut to N tokens with the model's own tokenizer, with an invented fact (the
needle: a passphrase) inserted as a paragraph in the middle; the question
asks for it.  Every measurement runs in a fresh subprocess with its own
empty ``LIFT_READER_HOME``, so peak RSS (``ru_maxrss``) is per measurement.
The question is asked twice in each subprocess: the first answer is the
measured one; the repeat shows what the app's prompt cache saves.

    .venv/bin/python bench/cost_curve.py                      # embedded Gemma, 1K..32K tokens (long: see README)
    .venv/bin/python bench/cost_curve.py --sizes 1024 4096 --epochs 1
    .venv/bin/python bench/cost_curve.py --tiny --quick       # checks the script
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc  # noqa: E402

NAME = "cost_curve"
TITLE = "Cost curve: ICL with the whole text vs LIFT, one needle question"
MiB = 2**20
DEFAULT_SIZES = [1024, 2048, 4096, 8192, 16384, 32000]
QUICK_SIZES = [256, 1024]

# The needle: a made-up fact that appears nowhere else in the book.
PASSPHRASE = "copper lantern"
NEEDLE = (f"Before the voyage the captain chose a secret passphrase for the ship's strongbox, and he wrote it "
          f"on the inside cover of the log: the passphrase was {PASSPHRASE}.")
QUESTION = "What was the secret passphrase the captain wrote on the inside cover of the log?"

ICL, LIFT = "icl", "lift"
NONE_FOUND = "none in the measured range"
MARGIN = 0.01  # LIFT must cost this much less than ICL to count as cheaper


def parse_args(argv):
    p = bc.common_parser(__doc__.splitlines()[0], allow_both=False)
    for action in p._actions:  # memorize runs all its steps here: the common --steps means nothing
        if action.dest == "steps":
            action.help = argparse.SUPPRESS
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help=f"input lengths in tokens (default {' '.join(map(str, DEFAULT_SIZES))}; "
                        f"{' '.join(map(str, QUICK_SIZES))} with --quick); capped to what the model's window holds")
    p.add_argument("--epochs", type=int, default=None,
                   help="memorize epochs (default: the app's, MemorizeSettings.for_hardware(\"cpu\").epochs)")
    p.add_argument("--book", type=Path, default=None,
                   help="the long text the inputs are cut from (default: ../shared/data/books/pg2701.txt, "
                        "else the sample story repeated)")
    p.add_argument("--answer-tokens", type=int, default=32, help="most tokens generated per answer")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per subprocess")
    p.add_argument("--skip-icl-above", type=int, default=None, metavar="N",
                   help="do not measure ICL for inputs longer than N tokens (ICL gets slow)")
    p.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=None,
                   help="run each size's ICL and LIFT subprocesses at the same time (quicker checks; peaks "
                        "stay per process, but the times then mean little); default: on with --tiny, else off")
    # The subprocess side (internal).
    p.add_argument("--child-kind", choices=[ICL, LIFT], default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-input", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-title", default="", help=argparse.SUPPRESS)
    p.add_argument("--child-result", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.epochs is None:
        from lift_reader.core.memorize.settings import MemorizeSettings

        args.epochs = MemorizeSettings.for_hardware("cpu").epochs
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.parallel is None:
        args.parallel = args.tiny
    return args


# --- inside a subprocess ---------------------------------------------------------


def has_passphrase(text: str) -> bool:
    """Whether an answer names the passphrase (case, punctuation and spacing ignored)."""
    def squash(s):
        return re.sub(r"[^a-z0-9]+", "", s.lower())

    return squash(PASSPHRASE) in squash(text)


def ask_timed(ws, record, settings) -> dict:
    """Ask QUESTION once: wall time from building the prompt to the last piece, its parts, and the answer.

    A forward hook on the model notes when each forward pass ends and how many
    positions it took: passes over more than one position encode the prompt,
    single-position passes generate (one token each).
    """
    passes: list[tuple[float, int]] = []

    def note(module, args, kwargs, output):
        ids = kwargs.get("input_ids", args[0] if args else None)
        passes.append((time.perf_counter(), int(ids.shape[-1]) if ids is not None else 0))

    t0 = time.perf_counter()
    stream = ws.ask(record, QUESTION, settings)
    with ws.model_lock:
        hook = stream.lm.model.register_forward_hook(note, with_kwargs=True)
        try:
            for _ in stream:
                pass
        finally:
            hook.remove()
    took = time.perf_counter() - t0
    prompt_passes = [t for t, n in passes if n > 1]
    prompt_s = (prompt_passes[-1] if prompt_passes else passes[0][0]) - t0 if passes else None
    text = stream.text.strip()
    return {"s": took, "prompt_s": prompt_s, "generate_s": None if prompt_s is None else took - prompt_s,
            "prompt_passes": len(prompt_passes),
            # tokens picked: one per pass of the generation loop (a final end-of-sequence included)
            "picked_tokens": sum(1 for _, n in passes if n == 1) + 1,
            "text": text, "correct": has_passphrase(text), "prompt_tokens": len(stream.prompt_ids),
            "context_tokens": stream.context.n_tokens, "needle_in_prompt": NEEDLE in stream.context.text}


def child(args) -> None:
    """One measurement (ICL or LIFT on one input) in this fresh process; numbers go to --child-result."""
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.text.book import BookText
    from lift_reader.core.ask.generation import SamplingSettings
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.workspace import Workspace, run_to_end

    bc.apply_threads(args)
    (precision,) = bc.precisions(args.precision)
    out = {"kind": args.child_kind, "precision": precision, "rss_start": bc.current_rss()}
    ws = Workspace(model_ref=args.model, device="cpu", precision=precision,
                   progress=lambda msg: print(msg, file=sys.stderr))
    t0 = time.perf_counter()
    if args.tiny:
        ws.use_model(bc.tiny_lm(precision))
    out["context_window"] = ws.lm.context_window
    out["load_s"] = time.perf_counter() - t0
    out["rss_after_load"] = bc.current_rss()

    text = args.child_input.read_text(encoding="utf-8")
    book = BookText(text=text, page_starts=[0], title=args.child_title, format="txt", source_path=args.child_input)
    record = ws.add_text(book, args.child_input)
    t0 = time.perf_counter()
    tokens = ws.book_tokens(record)
    out["tokenize_s"] = time.perf_counter() - t0
    out["tokens"] = len(tokens)
    # From here on VmHWM tracks the measurement alone (loading the model has a transient peak of its own).
    out["peak_before_work"] = bc.lifetime_peak()
    out["hwm_reset"] = bc.reset_peak()

    sampling = SamplingSettings(greedy=True, max_new_tokens=args.answer_tokens)
    if args.child_kind == ICL:
        # Room for every token of the text: the engine then puts the whole text in the prompt.
        settings = AskSettings(mode="icl", context_tokens=len(tokens), history_turns=0, sampling=sampling)
    else:
        # Modules memorize loads on first use: imported now, so that memorize_s is training, not imports.
        import peft  # noqa: F401

        import lift_reader.core.memorize.estimate  # noqa: F401
        import lift_reader.core.model.lora  # noqa: F401
        import lift_reader.core.memorize.training  # noqa: F401

        mem = MemorizeSettings.for_hardware("cpu").with_changes(epochs=args.epochs)
        out["memorize_settings"] = {"segment_length": mem.segment_length, "stride": mem.effective_stride,
                                    "epochs": mem.epochs, "learning_rate": mem.learning_rate,
                                    "lora_rank": mem.lora_rank}
        t0 = time.perf_counter()
        outcome = run_to_end(ws.memorize(record, mem))
        steps = outcome.steps
        out["memorize_s"] = time.perf_counter() - t0
        if not outcome.finished or outcome.adapter is None:
            raise SystemExit("memorize did not finish")
        out["steps"] = steps
        out["final_loss"] = outcome.final_loss
        out["peak_after_load_memorize"] = bc.peak_since_reset() if out["hwm_reset"] else None
        settings = AskSettings(mode="lift+icl", history_turns=0, sampling=sampling)  # the app's default window
    out["context_tokens_setting"] = settings.context_tokens
    out["answer"] = ask_timed(ws, record, settings)
    out["peak_after_load_first_answer"] = bc.peak_since_reset() if out["hwm_reset"] else None
    out["repeat"] = ask_timed(ws, record, settings)  # same prompt again: the book prefix comes from the cache
    out["peak"] = bc.lifetime_peak()
    out["peak_after_load"] = bc.peak_since_reset() if out["hwm_reset"] else None
    args.child_result.write_text(json.dumps(out), encoding="utf-8")


# --- the inputs ----------------------------------------------------------------------


def parent_tokenizer(args, folder: str | None):
    """(tokenizer, context window in tokens) without loading the model's weights where possible."""
    if args.tiny:
        tok, model = bc.tiny_parts()
        return tok, model.config.max_position_embeddings
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(folder)
    config = getattr(config, "text_config", None) or config
    window = next((v for v in (getattr(config, k, None) for k in
                               ("max_position_embeddings", "n_positions", "max_sequence_length"))
                   if isinstance(v, int) and v > 0), 2048)
    return AutoTokenizer.from_pretrained(folder), window


def largest_input(tokenizer, window: int, answer_tokens: int) -> int:
    """Most text tokens ICL can take: the engine keeps the new tokens, the question and 64 tokens free."""
    question = len(tokenizer(QUESTION, add_special_tokens=False)["input_ids"])
    return window - (answer_tokens + question + 64)


def source_text(args) -> tuple[str, str, str, list[str]]:
    """(text, title, shown path, notes) of the long text the inputs are cut from."""
    notes = []
    path = args.book or (bc.LONG_BOOK if bc.LONG_BOOK.is_file() else None)
    if path is None:
        story = bc.SAMPLE_STORY.read_text(encoding="utf-8")
        text = "\n\n".join(f"Part {i + 1}\n\n{story}" for i in range(60))
        notes.append("../shared is absent: the inputs are cut from the sample story repeated 60 times.")
        return text, "The Lighthouse Keeper's Ledger", bc.SAMPLE_STORY.name + " x60", notes
    book, _ = bc.read_book(Path(path))
    return book.text, book.title or Path(path).stem, bc.display_path(path), notes


def needle_position(body: str) -> int:
    """Where the needle goes: a paragraph break near the middle of ``body``, else a sentence end, else a space."""
    mid = len(body) // 2
    slack = len(body) // 10
    for sep in ("\n\n", ". ", " "):
        before, after = body.rfind(sep, 0, mid), body.find(sep, mid)
        candidates = [i + len(sep) for i in (before, after) if i >= 0 and abs(i - mid) <= slack]
        if candidates:
            return min(candidates, key=lambda i: abs(i - mid))
    return mid


def make_input(text: str, src_starts, target: int, tokenizer) -> tuple[str, int, float]:
    """(input text, its token count, where the needle starts as a fraction of the tokens) for ~``target`` tokens."""
    from lift_reader.core.text.book_tokens import tokenize_book

    inserted = "\n\n" + NEEDLE + "\n\n"
    body_tokens = target - len(tokenizer(inserted, add_special_tokens=False)["input_ids"])
    for _ in range(5):
        cut = int(src_starts[body_tokens]) if body_tokens < len(src_starts) else len(text)
        body = text[:cut].rstrip()
        at = needle_position(body)
        built = body[:at].rstrip() + inserted + body[at:].lstrip()
        tokens = tokenize_book(built, tokenizer)
        if len(tokens) <= target:
            break
        body_tokens -= len(tokens) - target
    return built, len(tokens), tokens.token_index_at(built.index(NEEDLE)) / max(1, len(tokens))


def tokenized_prefix(text: str, tokenizer, need: int):
    """(text, BookTokens) of the shortest prefix of ``text`` (doubling) with at least ``need`` tokens, if any."""
    from lift_reader.core.text.book_tokens import tokenize_book

    chars = 6 * need + 1000
    while True:
        part = text[:chars]
        tokens = tokenize_book(part, tokenizer)
        if len(tokens) >= need or chars >= len(text):
            return part, tokens
        chars *= 2


# --- running the subprocesses ----------------------------------------------------------


def resolve_model_folder(args) -> str | None:
    """Convert/fetch the model once here; the subprocesses (empty homes) load that folder."""
    if args.tiny:
        return None
    from lift_reader.core.model.model_source import parse_model_ref, resolve_to_folder

    return resolve_to_folder(parse_model_ref(args.model), lambda msg: print(msg, file=sys.stderr))


def start(args, kind: str, input_path: Path, title: str, folder: str | None, precision: str, scratch: Path):
    home = Path(tempfile.mkdtemp(prefix=f"home-{kind}-", dir=scratch))
    stem = f"{input_path.stem}-{kind}"
    result, log = scratch / f"{stem}.json", scratch / f"{stem}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-kind", kind, "--child-input", str(input_path),
           "--child-title", title, "--child-result", str(result), "--precision", precision,
           "--epochs", str(args.epochs), "--answer-tokens", str(args.answer_tokens)]
    cmd += ["--tiny"] if args.tiny else ["--model", folder]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ, LIFT_READER_HOME=str(home))
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    return proc, result, log, time.perf_counter()


def finish(args, started, label: str) -> dict:
    """The subprocess's numbers, or {"error": ...} when it failed or ran out of time."""
    proc, result, log, t0 = started
    try:
        code = proc.wait(timeout=max(1.0, args.timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(f"  {label}: timed out after {args.timeout:g} s", file=sys.stderr)
        return {"error": f"timed out after {args.timeout:g} s", "timed_out": True}
    if code != 0 or not result.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"  {label}: failed ({code}):\n{tail}", file=sys.stderr)
        return {"error": f"exit code {code}: {tail.strip().splitlines()[-1] if tail.strip() else ''}"}
    out = json.loads(result.read_text(encoding="utf-8"))
    out["wall_s"] = time.perf_counter() - t0
    return out


def progress_line(label: str, r: dict) -> str:
    if "error" in r:
        return f"  {label}: {r['error']}"
    a = r["answer"]
    mem = f"memorize {r['memorize_s']:.1f} s ({r['steps']} steps), " if "memorize_s" in r else ""
    after = f" ({r['peak_after_load'] / MiB:,.0f} after load)" if r.get("peak_after_load") else ""
    return (f"  {label}: {r['tokens']:,} tokens, {mem}answer {a['s']:.2f} s (prompt {a['prompt_s']:.2f} s, "
            f"{a['picked_tokens']} tokens), repeated {r['repeat']['s']:.2f} s, peak {r['peak'] / MiB:,.0f} MiB{after}, "
            f"{'correct' if a['correct'] else 'wrong'}: {short(a['text'], 60)!r}")


# --- the report --------------------------------------------------------------------------


def short(text: str, n: int = 28) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= n else text[: n - 1] + "…"


def epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def mib(n):
    return None if n is None else n / MiB


def lift_total(li: dict) -> float:
    return li["memorize_s"] + li["answer"]["s"]


def yes_no(flag) -> str | None:
    return None if flag is None else ("yes" if flag else "no")


def ok(r: dict | None) -> bool:
    return r is not None and "error" not in r


def questions_to_repay(memorize_s: float, icl_s: float, lift_s: float):
    """Fewest questions q with memorize + q x LIFT answer < q x ICL answer ("never" if LIFT answers are not cheaper)."""
    if icl_s <= lift_s:
        return "never"
    return math.floor(memorize_s / (icl_s - lift_s)) + 1


def crossover(rows: list[dict], lift_value, icl_value, unit: str) -> tuple[str, str]:
    """(smallest size where LIFT costs clearly less than ICL, detail), among the sizes where both were measured.

    Clearly less: by more than MARGIN; closer than that is a tie (the same model load sets both
    whole-process peaks at small sizes, a few MiB apart).
    """
    both = [r for r in rows if ok(r["icl"]) and ok(r["lift"])
            and lift_value(r["lift"]) is not None and icl_value(r["icl"]) is not None]
    if not both:
        return "-", "ICL and LIFT were not both measured at any size"

    def wins(r):
        return lift_value(r["lift"]) < (1 - MARGIN) * icl_value(r["icl"])

    def pair(r):
        return f"LIFT {lift_value(r['lift']):,.1f} vs ICL {icl_value(r['icl']):,.1f} {unit} at {r['tokens']:,} tokens"

    span = f"{both[0]['tokens']:,}" + (f"-{both[-1]['tokens']:,}" if len(both) > 1 else "") + " tokens"
    won = [r for r in both if wins(r)]
    if not won:
        return NONE_FOUND, f"ICL lower or within {MARGIN:.0%} at every measured size ({span}); largest: {pair(both[-1])}"
    first = won[0]
    detail = pair(first)
    lost_later = [r for r in both if r["size"] > first["size"] and not wins(r)]
    if lost_later:
        detail += "; but not at " + ", ".join(f"{r['tokens']:,}" for r in lost_later)
    elif first is not both[-1]:
        detail += "; and at every larger measured size"
    return f"{first['tokens']:,} tokens", detail


def write_plot(rows: list[dict], path: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def series(kind, value):
        pts = [(r["tokens"], value(r[kind])) for r in rows if ok(r[kind])]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.8))
    for kind, value, label, style in [
        (ICL, lambda r: r["answer"]["s"], "ICL: whole text in the prompt", "o-"),
        (LIFT, lambda r: r["memorize_s"] + r["answer"]["s"], "LIFT total (memorize + answer)", "s-"),
        (LIFT, lambda r: r["memorize_s"], "LIFT memorize", "s--"),
        (LIFT, lambda r: r["answer"]["s"], "LIFT answer (lift+icl)", "s:"),
    ]:
        xs, ys = series(kind, value)
        if xs:
            ax_t.plot(xs, ys, style, label=label)
    for kind, label, style, color in [(ICL, "ICL", "o", "C0"), (LIFT, "LIFT (memorize + answer)", "s", "C1")]:
        xs, ys = series(kind, lambda r: r["peak"] / MiB)
        if xs:
            ax_m.plot(xs, ys, style + "-", color=color, label=f"{label}: whole process")
        xs, ys = series(kind, lambda r: mib(r["peak_after_load"]) or float("nan"))
        if xs:
            ax_m.plot(xs, ys, style + "--", color=color, label=f"{label}: after model load")
    xs, ys = series(LIFT, lambda r: mib(r.get("rss_after_load")) or float("nan"))
    if xs:
        ax_m.plot(xs, ys, "x:", color="grey", label="RSS after model load")
    plain = FuncFormatter(lambda v, _: f"{v:,.{0 if v >= 10 else 2}f}")
    ax_t.set_yscale("log")
    ax_t.yaxis.set_major_formatter(plain)
    ax_t.yaxis.set_minor_formatter(NullFormatter())
    ax_t.set_ylabel("seconds (log scale)")
    ax_t.set_title("Time for one question")
    ax_m.set_ylim(bottom=0)
    ax_m.set_ylabel("peak RSS, MiB")
    ax_m.set_title("Peak RSS")
    ticks = sorted({r["tokens"] for r in rows})
    for ax in (ax_t, ax_m):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("input tokens (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is ax_m else "upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    latest = path.with_name(f"{NAME}-latest.png")
    fig.savefig(path, dpi=110)
    fig.savefig(latest, dpi=110)
    plt.close(fig)
    return [path, latest]


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child_kind is not None:
        child(args)
        return {}
    if args.epochs < 1 or args.answer_tokens < 1 or min(args.sizes) < 128:
        raise SystemExit("--epochs and --answer-tokens must be at least 1, and sizes at least 128 tokens")
    bc.apply_threads(args)  # not used here: so that the facts show the subprocesses' thread count
    facts = bc.machine_facts()
    (precision,) = bc.precisions(args.precision)
    folder = resolve_model_folder(args)
    tokenizer, window = parent_tokenizer(args, folder)
    from lift_reader.core.memorize.settings import MemorizeSettings

    mem = MemorizeSettings.for_hardware("cpu").with_changes(epochs=args.epochs)
    notes: list[str] = []
    cap = largest_input(tokenizer, window, args.answer_tokens)
    sizes = sorted({min(s, cap) for s in args.sizes})
    if max(args.sizes) > cap:
        capped = ", ".join(f"{s:,}" for s in sorted(args.sizes) if s > cap)
        line = (f"The {'tiny model' if args.tiny else 'model'}'s context window is {window:,} tokens: with the "
                f"question and {args.answer_tokens} answer tokens (+64 the engine keeps free) an input may have at "
                f"most {cap:,} tokens, so {capped} became {cap:,}.")
        print("note: " + line, file=sys.stderr)
        notes.append(line)

    model_label = "tiny-gemma3 (in-process, random weights)" if args.tiny else folder
    facts.update({"model": model_label, "precision": precision, "context window": window,
                  "memorize settings": f"app defaults for CPU: {mem.segment_length}-token segments, stride "
                                       f"{mem.effective_stride}, {epochs(mem.epochs)}, lr {mem.learning_rate:g}, "
                                       f"LoRA r={mem.lora_rank}",
                  "answer": f"greedy, at most {args.answer_tokens} new tokens",
                  "needle question": QUESTION, "needle answer": PASSPHRASE})

    rows: list[dict] = []
    skipped_icl: list[int] = []
    with tempfile.TemporaryDirectory(prefix="lift-bench-cost-") as tmp:
        scratch = Path(tmp)
        text, title, shown, src_notes = source_text(args)
        notes += src_notes
        need = sizes[-1] + 64
        text, src = tokenized_prefix(text, tokenizer, need)  # only the part the inputs come from
        if len(src) < need:  # too short for the largest input: repeat it
            times = math.ceil(need / max(1, len(src)))
            text, src = tokenized_prefix("\n\n".join([text] * times), tokenizer, need)
            notes.append(f"{shown} has fewer tokens than the largest input: it was repeated {times} times.")
        facts["source text"] = shown
        icl_gave_up = None
        for size in sizes:
            built, n, where = make_input(text, src.char_starts, size, tokenizer)
            path = scratch / f"input-{size}.txt"
            path.write_text(built, encoding="utf-8")
            print(f"[{size:,} tokens] input of {n:,} tokens, needle at {where:.0%} of the text", file=sys.stderr)
            kinds = [LIFT]
            if args.skip_icl_above is not None and size > args.skip_icl_above:
                skipped_icl.append(size)
            elif icl_gave_up is not None:
                skipped_icl.append(size)
            else:
                kinds.insert(0, ICL)
            if args.parallel:
                started = {k: start(args, k, path, title, folder, precision, scratch) for k in kinds}
                results = {k: finish(args, started[k], k) for k in kinds}
            else:
                results = {k: finish(args, start(args, k, path, title, folder, precision, scratch), k) for k in kinds}
            for k in kinds:
                print(progress_line(k.upper(), results[k]), file=sys.stderr)
            if ICL in results and results[ICL].get("timed_out"):
                icl_gave_up = size
            rows.append({"size": size, "tokens": results[LIFT].get("tokens", n), "input_tokens": n,
                         "needle_at": where, "icl": results.get(ICL), "lift": results[LIFT]})

    table = bc.Table("Cost of one needle question by input length",
                     ["size", "tokens", "ICL s", "ICL answer", "ICL correct", "ICL peak MiB", "ICL peak after load MiB",
                      "LIFT memorize s", "LIFT answer s", "LIFT total s", "LIFT peak MiB", "LIFT peak after load MiB",
                      "LIFT answer", "LIFT correct"])
    for r in rows:
        i, li = r["icl"], r["lift"]
        icl_cells = ([i["answer"]["s"], short(i["answer"]["text"]), yes_no(i["answer"]["correct"]), mib(i["peak"]),
                      mib(i["peak_after_load"])]
                     if ok(i) else [None, "skipped" if i is None else "failed", None, None, None])
        lift_cells = ([li["memorize_s"], li["answer"]["s"], lift_total(li), mib(li["peak"]),
                       mib(li["peak_after_load"]), short(li["answer"]["text"]), yes_no(li["answer"]["correct"])]
                      if ok(li) else [None, None, None, None, None, "failed", None])
        table.add(r["size"], r["tokens"], *icl_cells, *lift_cells)

    cross = bc.Table("Crossover: smallest input where LIFT costs less than ICL", ["measure", "crossover", "detail"])
    cross.add("time (LIFT memorize + answer < ICL answer)",
              *crossover(rows, lift_total, lambda i: i["answer"]["s"], "s"))
    cross.add("peak memory after model load (LIFT < ICL)",
              *crossover(rows, lambda li: mib(li["peak_after_load"]), lambda i: mib(i["peak_after_load"]), "MiB"))
    cross.add("peak memory, whole process (LIFT < ICL)",
              *crossover(rows, lambda li: mib(li["peak"]), lambda i: mib(i["peak"]), "MiB"))

    repay = bc.Table("Break-even: questions about the same text until memorizing has paid for itself",
                     ["size", "tokens", "memorize s", "ICL s/question", "LIFT s/question", "questions to repay",
                      "ICL s/question cached", "LIFT s/question cached", "questions to repay cached"])
    for r in rows:
        i, li = r["icl"], r["lift"]
        if not (ok(i) and ok(li)):
            continue
        m = li["memorize_s"]
        repay.add(r["size"], r["tokens"], m, i["answer"]["s"], li["answer"]["s"],
                  questions_to_repay(m, i["answer"]["s"], li["answer"]["s"]),
                  i["repeat"]["s"], li["repeat"]["s"], questions_to_repay(m, i["repeat"]["s"], li["repeat"]["s"]))

    lift_ok = [r for r in rows if ok(r["lift"])]
    whole_window = [r["tokens"] for r in lift_ok if r["lift"]["answer"]["needle_in_prompt"]]
    table.notes += [
        f"Input: the start of {shown} cut to the size with the model's tokenizer, with one invented sentence (the "
        f"needle) inserted as a paragraph near the middle: \"{NEEDLE}\". Question: \"{QUESTION}\" Correct = the "
        f"answer contains \"{PASSPHRASE}\" (case and punctuation ignored). tokens = the engine's count of the input "
        "(Workspace.book_tokens).",
        "Each ICL and each LIFT measurement is a fresh subprocess with an empty LIFT_READER_HOME: Workspace with the "
        "model folder, add_text, book_tokens, then the measurement. Model load and tokenization are not timed "
        "(JSON: load_s, tokenize_s).",
        f"ICL s = Workspace.ask in mode icl with context_tokens = all the input's tokens (the whole text in the "
        f"prompt), from building the prompt to the last answer piece (prefill + greedy answer, at most "
        f"{args.answer_tokens} tokens).",
        f"LIFT memorize s = Workspace.memorize with the app's CPU defaults ({mem.segment_length}-token segments, "
        f"stride {mem.effective_stride}, {epochs(mem.epochs)}; saving and attaching the adapter included); LIFT "
        f"answer s = Workspace.ask in mode lift+icl with the app's default window "
        f"({lift_ok[0]['lift']['context_tokens_setting'] if lift_ok else 1024} tokens: head and tail), "
        "timed as for ICL.",
        "peak MiB = ru_maxrss of the whole subprocess (model load, tokenization, memorize, both answers). Loading "
        "the model has a transient peak of its own, the same for ICL and LIFT, which can hide the measurement's: "
        "peak after load MiB = the kernel's RSS high-water mark (VmHWM) restarted after loading and tokenizing "
        "(/proc/self/clear_refs), i.e. the highest RSS during memorize and the answers, the model included. The "
        "RSS right after loading is in the JSON (rss_after_load) and in the plot.",
    ]
    if any(ok(r[k]) and r[k]["peak_after_load"] is None for r in rows for k in (ICL, LIFT)):
        table.notes.append("This kernel did not let the peak-RSS mark be restarted: no peak after load.")
    if whole_window:
        table.notes.append("At " + ", ".join(f"{t:,}" for t in whole_window) + " tokens the lift+icl window held "
                           "the whole input, needle included: there LIFT's answer also sees the needle in its prompt.")
    cut = [f"{r['tokens']:,} ({r['icl']['answer']['context_tokens']:,} in the prompt)" for r in rows
           if ok(r["icl"]) and r["icl"]["answer"]["context_tokens"] < r["icl"]["tokens"]]
    if cut:
        table.notes.append("ICL's prompt did NOT hold the whole text at " + ", ".join(cut) + ".")
    if skipped_icl:
        why = f"--skip-icl-above {args.skip_icl_above}" if args.skip_icl_above is not None and all(
            s > args.skip_icl_above for s in skipped_icl) else "--skip-icl-above or an earlier ICL timeout"
        table.notes.append("ICL not measured at " + ", ".join(f"{s:,}" for s in skipped_icl) + f" ({why}).")
    failed = [f"{k.upper()} at {r['size']:,}: {r[k]['error']}" for r in rows for k in (ICL, LIFT)
              if r[k] is not None and "error" in r[k]]
    if failed:
        table.notes.append("Failed: " + "; ".join(failed))
    if args.parallel:
        table.notes.append("--parallel: ICL and LIFT ran at the same time; the times mean little.")
    if args.tiny:
        table.notes.append("--tiny: a random model; checks the script, says nothing about cost or correctness.")
    table.notes += notes

    cross.notes.append(f"Among the sizes where both were measured; LIFT counts as cheaper when it costs more than "
                       f"{MARGIN:.0%} less. Time: one question, LIFT's memorize included.")
    repay.notes += [
        "questions to repay = fewest questions q about the same text with memorize + q x LIFT answer < q x ICL "
        "answer; \"never\" when a LIFT answer is not cheaper than an ICL answer.",
        "s/question = the first question's time (a cold prompt: what every question costs in a new session, and "
        "the method's comparison). \"cached\" = the same question asked again in the same process: the app "
        "keeps the KV cache of the prompt's book part (generation.PromptCache), so a repeat only encodes the "
        "question; for ICL that cache holds the whole text.",
    ]
    extra = {"sizes": sizes, "rows": rows, "needle": NEEDLE, "question": QUESTION, "passphrase": PASSPHRASE}
    payload = bc.report(NAME, TITLE, [table, cross, repay], facts, args.out_dir, extra=extra)
    png = Path(payload["written"][0]).with_suffix(".png")
    payload["plots"] = [str(p) for p in write_plot(rows, png, f"{TITLE}\n{model_label}, {precision}")]
    print(f"plot: {png} (and {NAME}-latest.png)")
    return payload


if __name__ == "__main__":
    main()
