"""Answer speed: time to first token and greedy tokens/s, base model vs an adapter, and adapter switching.

On one loaded model: greedy generation with ``stream_tokens`` from a prompt
made of the book's opening plus a question, (1) on the bare base model,
(2) with a freshly trained adapter active (``MemorizeJob`` for a few steps,
saved, attached with ``LoadedModel.attach_adapter``) and (3) with adapters
attached but disabled (``adapter_disabled()``, the app's "book in context
only" mode).  Then the adapter switch: two adapters attached, switched back
and forth with ``attach_adapter`` (a ``set_adapter`` once attached), median
of 20 switches; and the first attach of each (a file read).

    .venv/bin/python bench/answer_speed.py                          # embedded Gemma
    .venv/bin/python bench/answer_speed.py --precision bf16 --new-tokens 128
    .venv/bin/python bench/answer_speed.py --tiny --steps 3 --quick   # checks the script
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc  # noqa: E402

NAME = "answer_speed"
BASE = "base model"
ADAPTER = "adapter active"
DISABLED = "adapters attached, disabled"
SWITCH = "switch (attach_adapter, already attached)"
FIRST_ATTACH = "first attach (load from disk)"
PREFILL_ALL = "every prompt position (as stream_tokens)"
PREFILL_LAST = "last position only (logits_to_keep=1)"
QUESTION = "\n\nQuestion: Who is the main character, and what happens to them?\nAnswer:"


def parse_args(argv):
    p = bc.common_parser(__doc__.splitlines()[0], default_steps=5)
    p.add_argument("--book", type=Path, default=None,
                   help="book file (default: ../shared/data/books/pg1063.txt, else the sample story)")
    p.add_argument("--prompt-tokens", type=int, default=None, help="book tokens in the prompt (default 512; 64 with --quick)")
    p.add_argument("--new-tokens", type=int, default=None, help="tokens to generate (default 64; 8 with --quick)")
    p.add_argument("--repeats", type=int, default=None, help="timed generations per mode (default 3; 1 with --quick)")
    p.add_argument("--switches", type=int, default=20, help="adapter switches to time")
    p.add_argument("--segment-length", type=int, default=None, help="segment length of the adapter training (default 128; 32 with --quick)")
    p.add_argument("--keep-eos", action="store_true",
                   help="stop at end-of-sequence (default: ignore it, so every run generates --new-tokens)")
    args = p.parse_args(argv)
    args.prompt_tokens = args.prompt_tokens or (64 if args.quick else 512)
    args.new_tokens = args.new_tokens or (8 if args.quick else 64)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.segment_length = args.segment_length or (32 if args.quick else 128)
    return args


class CountingModel:
    """Passes through to the model, noting when each forward pass returns."""

    def __init__(self, model, hide_eos: bool):
        self._model = model
        self._hide_eos = hide_eos
        self.stamps: list[float] = []

    def __call__(self, *args, **kwargs):
        out = self._model(*args, **kwargs)
        self.stamps.append(time.perf_counter())
        return out

    def parameters(self):
        return self._model.parameters()

    def __getattr__(self, name):
        if name == "generation_config" and self._hide_eos:
            return None
        return getattr(self._model, name)


class NoEosTokenizer:
    """The tokenizer with its end-of-sequence id hidden from stream_tokens."""

    eos_token_id = None

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)

    def decode(self, *args, **kwargs):
        return self._tokenizer.decode(*args, **kwargs)


def generate_once(lm, prompt_ids: list[int], new_tokens: int, hide_eos: bool) -> dict:
    from lift_reader.core.ask.generation import SamplingSettings, stream_tokens

    model = CountingModel(lm.model, hide_eos)
    tokenizer = NoEosTokenizer(lm.tokenizer) if hide_eos else lm.tokenizer
    t0 = time.perf_counter()
    first_piece = None
    text = ""
    for piece in stream_tokens(model, tokenizer, prompt_ids, SamplingSettings(greedy=True, max_new_tokens=new_tokens)):
        if first_piece is None:
            first_piece = time.perf_counter() - t0
        text += piece
    n = len(model.stamps)
    decode_s = model.stamps[-1] - model.stamps[0] if n > 1 else None
    return {
        "ttft_s": first_piece,
        "prefill_s": model.stamps[0] - t0 if n else None,
        "forwards": n,
        "decode_tokens_per_s": (n - 1) / decode_s if decode_s else None,
        "text": text,
    }


def measure(lm, prompt_ids, args) -> dict:
    hide = not args.keep_eos
    generate_once(lm, prompt_ids, min(4, args.new_tokens), hide)  # warm-up
    runs = [generate_once(lm, prompt_ids, args.new_tokens, hide) for _ in range(args.repeats)]

    def med(key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    return {"ttft_s": med("ttft_s"), "prefill_s": med("prefill_s"), "decode_tokens_per_s": med("decode_tokens_per_s"),
            "forwards": runs[-1]["forwards"], "text": runs[-1]["text"]}


def prefill_reference(lm, prompt_ids: list[int], repeats: int) -> dict:
    """Seconds of one prompt forward pass computing all positions' logits vs only the last one's."""
    import torch

    ids = torch.tensor([prompt_ids], dtype=torch.long)
    out = {}
    with torch.inference_mode():
        for key, extra in (("all", {}), ("last", {"logits_to_keep": 1})):
            times = []
            try:
                for _ in range(repeats + 1):  # the first is a warm-up
                    t0 = time.perf_counter()
                    lm.model(input_ids=ids, use_cache=True, **extra)
                    times.append(time.perf_counter() - t0)
            except TypeError:  # a model without logits_to_keep
                out[key] = None
                continue
            out[key] = statistics.median(times[1:])
    return out


def train_adapter(lm, tokens, seg_len: int, steps: int, seed: int, folder: Path) -> float:
    """Train a throwaway adapter for ``steps`` optimizer steps, save it, take it off the model; seconds."""
    from lift_reader.core.model.lora import save_adapter_weights
    from lift_reader.core.text.book_tokens import BookTokens
    from lift_reader.core.text.segments import default_stride
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.memorize.training import MemorizeJob

    n = min(len(tokens), seg_len + default_stride(seg_len) * (steps - 1))
    part = BookTokens(tokens.ids[:n], tokens.char_starts[:n], int(tokens.char_starts[n]) if n < len(tokens)
                      else tokens.end_char)
    settings = MemorizeSettings(segment_length=seg_len, epochs=1, seed=seed)
    job = MemorizeJob(lm, part, settings, job_key=f"bench-{seed}", checkpoint_dir=None)
    t0 = time.perf_counter()
    events = list(job.run())
    took = time.perf_counter() - t0
    if events[-1].kind != "done":
        raise SystemExit(f"adapter training ended with {events[-1].kind!r}")
    save_adapter_weights(lm, job.adapter_name, folder)
    try:
        from lift_reader.core.model.lora import drop_training_adapter
    except ImportError:  # older core: take it off by hand
        lm.model.delete_adapter(job.adapter_name)
        lm.active_adapter = None
    else:
        drop_training_adapter(lm, job.adapter_name)
    return took


def main(argv=None) -> dict:
    args = parse_args(argv)
    bc.apply_threads(args)
    if args.steps < 1 or args.switches < 1:
        raise SystemExit("--steps and --switches must be at least 1")
    facts = bc.machine_facts()
    precs = bc.precisions(args.precision)
    spec = bc.load_spec(args)
    book = args.book or bc.default_book()
    tokens, loader = bc.book_tokens(book, spec.tokenizer)
    tok = spec.tokenizer
    question = tok(QUESTION, add_special_tokens=False)["input_ids"]
    bos = [tok.bos_token_id] if getattr(tok, "bos_token_id", None) is not None else []
    prompt_ids = bos + [int(i) for i in tokens.ids[:args.prompt_tokens]] + list(question)
    facts.update({
        "model": spec.label,
        "book": f"{bc.display_path(book)} ({len(tokens):,} tokens; {loader})",
        "prompt tokens": len(prompt_ids),
        "new tokens": args.new_tokens,
        "timed generations per mode": args.repeats,
        "adapter training steps": args.steps,
    })

    gen = bc.Table("Greedy generation", ["mode", "precision", "TTFT ms", "prefill ms", "decode tokens/s",
                                         "vs base"])
    pre = bc.Table("Prompt prefill reference (base model, one forward pass)",
                   ["logits computed", "precision", "ms", "vs all"])
    sw = bc.Table("Adapter switching", ["operation", "precision", "median ms", "min ms", "max ms", "count"])
    results = []
    with tempfile.TemporaryDirectory(prefix="lift-bench-answer-") as tmp:
        for prec in precs:
            lm = spec.fresh(prec)
            print(f"[{prec}] base model ...", file=sys.stderr)
            base = measure(lm, prompt_ids, args)
            prefill = prefill_reference(lm, prompt_ids, args.repeats)
            print(f"[{prec}] training two adapters ({args.steps} steps each) ...", file=sys.stderr)
            folders = {name: Path(tmp) / f"{prec}-{name}" for name in ("book-a", "book-b")}
            train_s = [train_adapter(lm, tokens, args.segment_length, args.steps, seed, folder)
                       for seed, folder in enumerate(folders.values())]
            first_attach = []
            for name, folder in folders.items():
                t0 = time.perf_counter()
                lm.attach_adapter(name, folder)
                first_attach.append(time.perf_counter() - t0)
            lm.attach_adapter("book-a", folders["book-a"])
            print(f"[{prec}] adapter active ...", file=sys.stderr)
            adapted = measure(lm, prompt_ids, args)
            with lm.adapter_disabled():
                disabled = measure(lm, prompt_ids, args)
            switches = []
            for k in range(args.switches):
                name = ("book-b", "book-a")[k % 2]
                t0 = time.perf_counter()
                lm.attach_adapter(name, folders[name])
                switches.append(time.perf_counter() - t0)
            assert lm.active_adapter == ("book-b", "book-a")[(args.switches - 1) % 2]

            for label, r in ((BASE, base), (ADAPTER, adapted), (DISABLED, disabled)):
                ratio = (bc.Ratio(r["decode_tokens_per_s"] / base["decode_tokens_per_s"])
                         if r["decode_tokens_per_s"] and base["decode_tokens_per_s"] else None)
                gen.add(label, prec, 1000 * r["ttft_s"] if r["ttft_s"] is not None else None,
                        1000 * r["prefill_s"], r["decode_tokens_per_s"], ratio)
                results.append({"mode": label, "precision": prec, **r, "decode_vs_base": ratio})
            for label, key in ((PREFILL_ALL, "all"), (PREFILL_LAST, "last")):
                value = prefill[key]
                pre.add(label, prec, 1000 * value if value is not None else None,
                        bc.Ratio(value / prefill["all"]) if value is not None and prefill["all"] else None)
            results.append({"precision": prec, "prefill_all_s": prefill["all"], "prefill_last_s": prefill["last"]})
            sw.add(SWITCH, prec, 1000 * statistics.median(switches), 1000 * min(switches), 1000 * max(switches),
                   len(switches))
            sw.add(FIRST_ATTACH, prec, 1000 * statistics.median(first_attach), 1000 * min(first_attach),
                   1000 * max(first_attach), len(first_attach))
            results.append({"precision": prec, "switch_s": switches, "first_attach_s": first_attach,
                            "adapter_train_s": train_s})
            del lm

    gen.notes += [
        "TTFT = from calling stream_tokens to its first text piece (prompt prefill, first pick, decode); "
        "prefill = until the first forward pass returns; decode tokens/s = (forward passes - 1) / time from "
        "the first to the last forward pass. Medians of the timed generations after one short warm-up.",
        "Greedy (SamplingSettings(greedy=True)), KV cache, no stop strings; "
        + ("end-of-sequence stops generation (--keep-eos)." if args.keep_eos else
           "end-of-sequence hidden from stream_tokens, so every run generates exactly the requested tokens."),
        f"Adapters: MemorizeJob with default settings (LoRA r=16 all-linear), {args.segment_length}-token segments, "
        f"{args.steps} steps each, saved with save_adapter_weights and attached with LoadedModel.attach_adapter.",
    ]
    pre.notes.append("stream_tokens' first forward pass computes the logits of every prompt position (prompt "
                     "tokens x vocabulary), of which it uses the last; logits_to_keep=1 computes only that one.")
    sw.notes.append("Switch = LoadedModel.attach_adapter on an adapter already attached (what Workspace does "
                    "before each answer), alternating between the two; first attach = reading the adapter folder "
                    "onto the model.")
    return bc.report(NAME, f"Answer speed: {spec.label}", [gen, pre, sw], facts, args.out_dir, extra={"results": results})


if __name__ == "__main__":
    main()
