"""Training tokens/s: our LIFT loop against a naive peft loop, on the same model and data.

In one run, on one base model, the same book segments and precision:

  (a) ours:  ``MemorizeJob(...).run()``, timing the wall clock between step
             events after the warm-up steps (the job is cancelled right after);
  (b) naive: ``get_peft_model`` with LoRA r=16, alpha=32 on all linear layers,
             AdamW, ``model(input_ids, labels=input_ids).loss.backward()``,
             one segment per step, the same number of steps.

It also measures this machine's float32 and bfloat16 matmul ceiling (square
matmuls in a loop) and reports each loop's share of the bf16 ceiling with
~4N FLOPs per trained token.

    .venv/bin/python bench/train_throughput.py                      # embedded Gemma, fp32 + bf16
    .venv/bin/python bench/train_throughput.py --precision bf16 --steps 30
    .venv/bin/python bench/train_throughput.py --tiny --steps 3 --quick   # checks the script

``--compare-before`` times instead, on the same model and book, the app's default recipe with issue
14's changes off ("before": the exact output-layer gradient, the default again since 2026-12-08) and
on ("after": the gradient filter of core/memorize/fused_loss.py, ``LIFT_READER_GRAD_FILTER=on``), in alternating rounds so that other load on a shared machine hits both alike,
and ends with the line ``speedup: X.XXx`` (after / before tokens per second).  ``--placements``
adds the cheaper placements to the rounds, each on top of "after": LoRA on the upper half of the
layers, 4 segments a step, and torch.compile.

    .venv/bin/python bench/train_throughput.py --compare-before --steps 8 --rounds 3 --placements
"""

from __future__ import annotations

import contextlib
import copy
import gc
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc  # noqa: E402

NAME = "train_throughput"
OURS = "ours (MemorizeJob)"
OURS_COMPILED = "ours, compiled"
OURS_APP = "ours, app recipe"
NAIVE = "naive peft loop"


def parse_args(argv):
    p = bc.common_parser(__doc__.splitlines()[0], default_precision="both")
    p.add_argument("--book", type=Path, default=None,
                   help="book file (default: ../shared/data/books/pg1063.txt, else the sample story)")
    p.add_argument("--segment-length", type=int, default=None, help="tokens per segment (default 256; 64 with --quick)")
    p.add_argument("--warmup", type=int, default=2, help="steps run before timing starts")
    p.add_argument("--app-recipe", action="store_true",
                   help="also time our loop with the app's CPU recipe (MemorizeSettings.for_hardware('cpu'): "
                        "contextualized prefixes and auxiliary items, whose masked tokens skip the output layer)")
    p.add_argument("--micro-batch", type=int, nargs="+", default=[1],
                   help="segments per step in our loop; several values give one row each (the naive loop "
                        "always takes one segment a step)")
    p.add_argument("--compiled", action="store_true",
                   help="also time our loop with torch.compile forced on (LIFT_READER_COMPILE=1; at least 4 "
                        "warm-up steps, which hold the compile)")
    p.add_argument("--compare-before", action="store_true",
                   help="time the app's recipe with issue 14's changes off and on, in alternating rounds; the last "
                        "line says 'speedup: X.XXx'")
    p.add_argument("--rounds", type=int, default=3, help="with --compare-before: rounds of each variant")
    p.add_argument("--placements", action="store_true",
                   help="with --compare-before: also time LoRA on the upper half of the layers, 4 segments a step "
                        "and torch.compile (each on top of 'after'), in the same rounds")
    p.add_argument("--matmul-size", type=int, default=None, help="n of the n x n matmul (default 4096; 512 with --quick)")
    p.add_argument("--matmul-seconds", type=float, default=None, help="seconds per dtype (default 3; 0.3 with --quick)")
    args = p.parse_args(argv)
    if any(b < 1 for b in args.micro_batch):
        p.error("--micro-batch values must be at least 1")
    args.segment_length = args.segment_length or (64 if args.quick else 256)
    args.matmul_size = args.matmul_size or (512 if args.quick else 4096)
    args.matmul_seconds = args.matmul_seconds if args.matmul_seconds is not None else (0.3 if args.quick else 3.0)
    return args


def matmul_gflops(dtype, n: int, seconds: float) -> float:
    """GFLOP/s of an n x n @ n x n torch.matmul in a loop (2 n^3 FLOPs each), after 2 warm-ups."""
    import torch

    with torch.inference_mode():
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        for _ in range(2):
            torch.matmul(a, b)
        iters, t0 = 0, time.perf_counter()
        while True:
            torch.matmul(a, b)
            iters += 1
            took = time.perf_counter() - t0
            if took >= seconds and iters >= 3:
                break
    return 2 * n**3 * iters / took / 1e9


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for a block, then put back what was there."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def time_ours(spec, precision: str, tokens, seg_len: int, warmup: int, steps: int, *, compiled: bool = False,
              micro_batch: int = 1, app_recipe_book=None, grad_filter: bool = False, **changes) -> dict:
    """Tokens/s of MemorizeJob over ``steps`` steps after ``warmup`` steps (wall clock between events).

    ``grad_filter=True`` turns the output layer's gradient filter on (off by default since 2026-12-08: its
    bias adds up over a run); ``changes`` are further MemorizeSettings changes (lora_layers=0.5, ...).
    """
    from lift_reader.core.memorize.compiling import ENV as COMPILE_ENV
    from lift_reader.core.memorize.fused_loss import FILTER_COUNTS, FILTER_ENV
    from lift_reader.core.text.segments import SegmentPlan
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.memorize.training import CancelToken, MemorizeJob

    need = warmup + steps
    plan = SegmentPlan.for_book(len(tokens), seg_len)
    settings = MemorizeSettings(segment_length=seg_len, micro_batch_size=micro_batch,
                                epochs=min(100, math.ceil(need * micro_batch / len(plan))), **changes)
    lm = spec.fresh(precision)
    extras = {}
    if app_recipe_book is not None:  # the recipe the app memorizes with, built as Workspace builds it
        from dataclasses import replace

        from lift_reader.core.memorize.auxiliary import build_aux_items
        from lift_reader.core.memorize.contextualized import SegmentPrefixes

        settings = replace(MemorizeSettings.for_hardware("cpu"), segment_length=seg_len,
                           micro_batch_size=micro_batch, epochs=settings.epochs, **changes)
        extras = {"aux_items": build_aux_items(lm, app_recipe_book, tokens, settings),
                  "prefixes": SegmentPrefixes(lm.tokenizer, app_recipe_book.title, tokens, settings.seed)}
    job = MemorizeJob(lm, tokens, settings, job_key="bench", checkpoint_dir=None, **extras)
    if job.total_steps < need:
        raise SystemExit(f"the book gives only {job.total_steps} steps; {need} are needed")
    cancel = CancelToken()
    stamps, reported, seen = [], [], []
    started = time.perf_counter()
    FILTER_COUNTS.reset()
    with environment(**{COMPILE_ENV: "1" if compiled else "0", FILTER_ENV: "on" if grad_filter else "0"}):
        for event in job.run(cancel=cancel):
            if event.kind == "step":
                stamps.append(time.perf_counter())
                seen.append(job.state.tokens_seen)  # a short last micro-batch of an epoch counts what it holds
                reported.append(event.tokens_per_s)
                if len(stamps) >= need:
                    cancel.cancel()
    start = warmup - 1 if warmup > 0 else 0
    took = stamps[need - 1] - stamps[start]
    timed = need - 1 - start
    tokens_timed = seen[need - 1] - seen[start]
    tokens_per_step = tokens_timed / timed
    del lm, job
    gc.collect()
    return {"tokens_per_s": tokens_timed / took, "s_per_step": took / timed,
            "job_reported_tokens_per_s": reported[-1], "tokens_per_step": tokens_per_step,
            "output_rows_kept": FILTER_COUNTS.kept_share if FILTER_COUNTS.seen else None,
            "warmup_s": stamps[warmup - 1] - started if warmup > 0 else None}


def time_naive(spec, precision: str, tokens, seg_len: int, warmup: int, steps: int) -> dict:
    """The same measurement for a plain peft training loop written here."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model

    from lift_reader.core.text.segments import SegmentPlan

    need = warmup + steps
    plan = SegmentPlan.for_book(len(tokens), seg_len)
    torch.manual_seed(0)
    base = copy.deepcopy(spec.master.model).to(bc.dtype_of(precision))
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    model.train()
    stamps = []
    for k in range(need):
        a, b = plan.bounds(k % len(plan))
        ids = torch.from_numpy(tokens.ids[a:b].astype(np.int64))[None]
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        stamps.append(time.perf_counter())
    tokens_per_step = plan.segment_length
    took = stamps[need - 1] - stamps[warmup - 1] if warmup > 0 else stamps[need - 1] - stamps[0]
    timed = steps if warmup > 0 else steps - 1
    del model, base, optimizer
    gc.collect()
    return {"tokens_per_s": timed * tokens_per_step / took, "s_per_step": took / timed,
            "tokens_per_step": tokens_per_step}


BEFORE = "before (exact output-layer gradient)"
AFTER = "after (gradient filter)"
FILTER_ON = {"grad_filter": True}  # "after": issue 14's filter, off in the app since 2026-12-08
PLACEMENTS = {  # each on top of "after"
    "after + LoRA on the upper half of the layers": {**FILTER_ON, "lora_layers": 0.5},
    "after + 4 segments a step": {**FILTER_ON, "micro_batch": 4},
    "after + torch.compile": {**FILTER_ON, "compiled": True},
}


def compare_before(args, spec, book_text, tokens, facts) -> dict:
    """The app's recipe with issue 14's changes off and on, alternating; the last line printed is the speedup."""
    prec = bc.precisions("auto" if args.precision == "both" else args.precision)[0]
    variants = {BEFORE: {"grad_filter": False}, AFTER: FILTER_ON}
    if args.placements:
        variants.update(PLACEMENTS)
    timed = {label: [] for label in variants}
    labels = list(variants)
    for round_no in range(args.rounds):
        # Each round starts one variant further on, so that none always runs first or right after another.
        for label in labels[round_no % len(labels):] + labels[:round_no % len(labels)]:
            print(f"[{prec}] round {round_no + 1}/{args.rounds}: {label} ...", file=sys.stderr)
            kwargs = variants[label]
            warmup = max(args.warmup, 4) if kwargs.get("compiled") else args.warmup  # the compile's steps
            timed[label].append(time_ours(spec, prec, tokens, args.segment_length, warmup, args.steps,
                                          app_recipe_book=book_text, **kwargs))
    rows = list(timed.items())

    def speed(runs):  # all rounds together: tokens over seconds
        return sum(r["tokens_per_s"] * r["s_per_step"] for r in runs) / sum(r["s_per_step"] for r in runs)

    before = speed(timed[BEFORE])
    table = bc.Table("Issue 14: the app's recipe before and after",
                     ["loop", "precision", "tokens/s", "s/step", "per round tokens/s", "output rows kept %",
                      "vs before"])
    for label, runs in rows:
        kept = [r["output_rows_kept"] for r in runs if r["output_rows_kept"] is not None]
        table.add(label, prec, speed(runs), sum(r["s_per_step"] for r in runs) / len(runs),
                  " / ".join(f"{r['tokens_per_s']:.0f}" for r in runs),
                  100 * sum(kept) / len(kept) if kept else None, bc.Ratio(speed(runs) / before))
    table.notes += [
        f"MemorizeSettings.for_hardware('cpu') (contextualized segments, auxiliary items, one segment a step) with "
        f"{args.segment_length}-token segments; each round is a fresh MemorizeJob: {args.warmup} warm-up steps, then "
        f"{args.steps} timed steps; tokens/s counts every token the steps processed (prefixes and prompts too).",
        f"{args.rounds} rounds of each variant, interleaved (each round starts one variant further on): the machine "
        "may be shared, and load changes hit all alike. tokens/s of a row: all its rounds' tokens over their time.",
        "before: LIFT_READER_GRAD_FILTER=0 (the exact output-layer gradient: the default); after: "
        "LIFT_READER_GRAD_FILTER=on (rows of the output layer whose gradient is below 2**-14 for every token of a chunk skip the gradient "
        "matmul). The recipe's defaults are the same in both. Output rows kept: the share of the output layer's "
        "rows that went through the gradient matmul (warm-up steps included).",
    ]
    speedup = speed(timed[AFTER]) / before
    result = bc.report(NAME + "-compare", f"Issue 14 before/after: {spec.label}", [table], facts, args.out_dir,
                       extra={"rows": {label: runs for label, runs in rows}, "speedup": speedup})
    print(f"speedup: {speedup:.2f}x")
    return result


def main(argv=None) -> dict:
    args = parse_args(argv)
    bc.apply_threads(args)
    import torch

    if args.steps < 1 or args.warmup < 0:
        raise SystemExit("--steps must be at least 1 and --warmup at least 0")
    if args.warmup == 0 and args.steps < 2:
        raise SystemExit("without warm-up steps at least 2 steps are needed")
    facts = bc.machine_facts()
    precs = bc.precisions(args.precision)

    if args.compare_before:
        spec = bc.load_spec(args)
        book = args.book or bc.default_book()
        book_text, tokens, loader = bc.book_and_tokens(book, spec.tokenizer)
        facts.update({"model": spec.label, "book": f"{bc.display_path(book)} ({len(tokens):,} tokens; {loader})",
                      "segment length": args.segment_length})
        return compare_before(args, spec, book_text, tokens, facts)

    ceilings = {}
    for label, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        ceilings[label] = matmul_gflops(dtype, args.matmul_size, args.matmul_seconds)
    ceiling_table = bc.Table("Matmul ceiling", ["dtype", "n", "GFLOP/s"])
    for label, g in ceilings.items():
        ceiling_table.add(label, args.matmul_size, g)
    ceiling_table.notes.append(f"torch.matmul of two {args.matmul_size}x{args.matmul_size} matrices in a loop for "
                               f"~{args.matmul_seconds:g} s after 2 warm-ups; 2n^3 FLOPs each.")

    spec = bc.load_spec(args)
    book = args.book or bc.default_book()
    book_text, tokens, loader = bc.book_and_tokens(book, spec.tokenizer)
    n_params = spec.base_params()
    facts.update({
        "model": spec.label,
        "model load s": round(spec.loaded_in_s, 1),
        "base parameters (N)": f"{n_params:,}",
        "book": f"{bc.display_path(book)} ({len(tokens):,} tokens; {loader})",
        "segment length": args.segment_length,
        "warm-up steps": args.warmup,
        "timed steps": args.steps,
    })

    table = bc.Table("Training throughput",
                     ["loop", "precision", "tokens/s", "s/step", "ours/naive", "vs naive fp32", "% bf16 ceiling",
                      "% own ceiling", "warm-up s"])
    results = []
    for prec in precs:
        rows = []
        for batch in args.micro_batch:
            print(f"[{prec}] timing our loop, {batch} segment(s) a step ...", file=sys.stderr)
            label = OURS if batch == 1 else f"{OURS}, {batch} segments a step"
            rows.append((label, time_ours(spec, prec, tokens, args.segment_length, args.warmup, args.steps,
                                          micro_batch=batch)))
        if args.app_recipe:
            print(f"[{prec}] timing our loop with the app's recipe ...", file=sys.stderr)
            rows.append((OURS_APP, time_ours(spec, prec, tokens, args.segment_length, args.warmup, args.steps,
                                             app_recipe_book=book_text)))
        if args.compiled:
            print(f"[{prec}] timing our loop, compiled ...", file=sys.stderr)
            rows.append((OURS_COMPILED, time_ours(spec, prec, tokens, args.segment_length, max(args.warmup, 4),
                                                  args.steps, compiled=True)))
        print(f"[{prec}] timing the naive loop ...", file=sys.stderr)
        naive = time_naive(spec, prec, tokens, args.segment_length, args.warmup, args.steps)
        rows.append((NAIVE, naive))
        for label, r in rows:
            flops = 4 * n_params * r["tokens_per_s"]
            r.update(loop=label, precision=prec,
                     ratio=r["tokens_per_s"] / naive["tokens_per_s"],
                     bf16_fraction=flops / (ceilings["bf16"] * 1e9),
                     own_fraction=flops / (ceilings[prec] * 1e9))
            results.append(r)
    naive_fp32 = next((r["tokens_per_s"] for r in results if r["loop"] == NAIVE and r["precision"] == "fp32"), None)
    for r in results:
        table.add(r["loop"], r["precision"], r["tokens_per_s"], r["s_per_step"],
                  bc.Ratio(r["ratio"]) if r["loop"] != NAIVE else None,
                  bc.Ratio(r["tokens_per_s"] / naive_fp32) if naive_fp32 else None,
                  100 * r["bf16_fraction"], 100 * r["own_fraction"], r.get("warmup_s"))
    table.notes += [
        f"Achieved fraction uses ~4N FLOPs per trained token, N = {n_params:,} total parameters of the base "
        "model (a tied embedding counted once): with a frozen base, the forward pass costs 2N and the "
        "backward pass only goes through the activations (another 2N), not the weight gradients (the "
        "LoRA matrices are negligible). Attention FLOPs are left out.",
        f"Both loops: the same {args.segment_length}-token segments of the book, one segment per step "
        "unless the row says otherwise, "
        f"{args.warmup} warm-up steps, then {args.steps} timed steps; tokens/s = tokens trained in the timed "
        "steps / wall time from the end of the last warm-up step to the end of the last timed step.",
        "Ours: MemorizeJob(...).run() with default MemorizeSettings (LoRA r=16, alpha=32, all-linear, AdamW, "
        "grad clipping, lr schedule), no checkpoint folder (no checkpoint writes), cancelled after the timed "
        "steps. Naive: get_peft_model(LoraConfig(r=16, lora_alpha=32, target_modules='all-linear')), "
        "AdamW(lr=2e-4), model(ids, labels=ids).loss.backward(), step, zero_grad.",
        "Ours, app recipe: MemorizeSettings.for_hardware('cpu') (one epoch's settings at lr 1e-4, auxiliary "
        "items, each segment after its contextualized prefix); tokens/s counts every token the steps "
        "processed, prefixes and auxiliary prompts included, though the loss skips them.",
        "Job-reported tokens/s (the TrainEvent average, which times only the micro-batches and optimizer "
        "step): " + ", ".join(f"{r['precision']} {r['job_reported_tokens_per_s']:.1f}"
                              for r in results if r["loop"] == OURS) + ".",
    ]
    title = f"Training throughput: {spec.label}"
    return bc.report(NAME, title, [ceiling_table, table], facts, args.out_dir,
                     extra={"ceilings_gflops": ceilings, "results": results})


if __name__ == "__main__":
    main()
