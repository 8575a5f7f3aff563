"""Does a real llama.cpp apply our exported LoRA?  (`make interop-check`, outside `make test`.)

Memorizes a passage of the sample story with the embedded model (or reuses an
adapter: --adapter NAME), exports it with `--format gguf`, and measures the mean
negative log-likelihood per token of the passage four ways:

    the app's model          without / with the adapter   (transformers + peft, the converted folder)
    llama.cpp (llama-cpp-python)  base GGUF / base GGUF + LoRA GGUF  (q4_k_m weights)

The base GGUF is 4-bit, so the values differ; what must carry over is the *drop*
the adapter brings.  The bar (issue 18): llama.cpp's drop is at least half the
app's.  Both score the same token ids (the app's tokenizer's, BOS first).

llama-cpp-python lives in a venv of its own (--llama-python): this script runs
itself there with --score-gguf to do llama.cpp's half.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


def llama_cpp_nll(base: str, lora: str | None, ids: list[int], threads: int) -> float:
    """Mean NLL of ids[1:] under llama.cpp (run inside the llama-cpp-python venv)."""
    import numpy as np
    from llama_cpp import Llama

    kwargs = {"lora_path": lora} if lora else {}
    llm = Llama(model_path=base, n_ctx=len(ids) + 8, n_batch=len(ids) + 8, logits_all=True, n_threads=threads,
                verbose=False, **kwargs)
    llm.eval(ids)
    logits = np.asarray(llm.scores[: len(ids) - 1], dtype=np.float64)  # position t predicts token t+1
    peak = logits.max(axis=1, keepdims=True)
    log_norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
    picked = logits[np.arange(len(ids) - 1), ids[1:]]
    return float(np.mean(log_norm - picked))


def app_nll(lm, ids: list[int]) -> float:
    import torch

    with torch.no_grad():
        tokens = torch.tensor([ids], device=lm.device)
        logits = lm.model(tokens).logits[0, :-1].float()
        return float(torch.nn.functional.cross_entropy(logits, tokens[0, 1:]))


def memorize_passage(ws, passage: str, work: Path, epochs: int, lr: float):
    from lift_reader.core.settings import MemorizeSettings

    book = work / "ledger-passage.txt"
    book.write_text(passage, encoding="utf-8")
    record = ws.add_book(book)
    settings = MemorizeSettings.for_hardware(ws.lm.placement.device).with_changes(
        epochs=epochs, learning_rate=lr, segment_length=128, aux_tasks=False, study=False, checkpoint_minutes=0)
    started = time.perf_counter()
    for event in ws.memorize(record, settings, adapter_name="interop-check passage"):
        if event.kind == "step" and event.step % 10 == 0:
            print(f"  step {event.step}/{event.total_steps} loss {event.loss:.3f}", flush=True)
    print(f"memorized in {time.perf_counter() - started:.0f} s", flush=True)
    return ws.last_outcome.adapter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-python", default=os.environ.get("INTEROP_PYTHON", sys.executable),
                        help="python of the venv with llama-cpp-python")
    parser.add_argument("--adapter", help="reuse this saved adapter (of the embedded model) instead of memorizing")
    parser.add_argument("--chars", type=int, default=1500, help="passage length (from the story's start)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "interop")
    parser.add_argument("--score-gguf", nargs=3, metavar=("BASE", "LORA_OR_-", "IDS_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_gguf:  # the llama.cpp half, in the other venv
        base, lora, ids_file = args.score_gguf
        print(json.dumps(llama_cpp_nll(base, None if lora == "-" else lora,
                                       json.loads(Path(ids_file).read_text()), args.threads)))
        return 0

    from lift_reader.store.paths import data_home, library_home_at

    if args.adapter:  # one of the reader's adapters
        return check(args)
    # The passage and its adapter in a library of their own (the converted model stays shared).
    with library_home_at(data_home() / "interop") as home:
        print(f"interop-check library: {home}", flush=True)
        return check(args)


def check(args) -> int:
    from lift_reader.core.gguf_export import export_gguf_adapter
    from lift_reader.core.workspace import Workspace

    passage = SAMPLE.read_text(encoding="utf-8")[: args.chars]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    ws = Workspace(progress=lambda m: print(m, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.adapter:
            adapter = ws.library.get_adapter(args.adapter)
            if adapter is None:
                print(f"no adapter named {args.adapter!r}", file=sys.stderr)
                return 2
        else:
            adapter = memorize_passage(ws, passage, work, args.epochs, args.lr)
        lm = ws.lm
        ids = ([lm.tokenizer.bos_token_id] if lm.tokenizer.bos_token_id is not None else []) + \
            lm.tokenizer(passage, add_special_tokens=False)["input_ids"]
        lm.attach_adapter(adapter.name, Path(adapter.path))
        with lm.adapter_disabled():
            app_base = app_nll(lm, ids)
        app_lora = app_nll(lm, ids)
        exported = export_gguf_adapter(Path(adapter.path), args.out)
        print(f"exported {exported.lora} ({exported.tensors} tensors) for {exported.base}", flush=True)
        ids_file = work / "ids.json"
        ids_file.write_text(json.dumps(ids))

        def llama(lora: str) -> float:
            result = subprocess.run([args.llama_python, __file__, "--threads", str(args.threads), "--score-gguf",
                                     str(exported.base), lora, str(ids_file)], capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"llama.cpp scoring failed:\n{result.stderr[-3000:]}")
            return float(result.stdout.strip().splitlines()[-1])

        cpp_base, cpp_lora = llama("-"), llama(str(exported.lora))
    app_drop, cpp_drop = app_base - app_lora, cpp_base - cpp_lora
    rows = [("app (transformers + peft)", app_base, app_lora, app_drop),
            ("llama.cpp (llama-cpp-python)", cpp_base, cpp_lora, cpp_drop)]
    print(f"\npassage: first {args.chars} characters of {SAMPLE.name}, {len(ids) - 1} scored tokens; "
          f"adapter {adapter.name!r}")
    print(f"{'':30} {'NLL base':>9} {'NLL +LoRA':>10} {'drop':>7}")
    for name, base_nll, lora_nll, drop in rows:
        print(f"{name:30} {base_nll:9.3f} {lora_nll:10.3f} {drop:7.3f}")
    ratio = cpp_drop / app_drop if app_drop > 0 else float("nan")
    passed = app_drop > 0 and cpp_drop >= 0.5 * app_drop
    print(f"llama.cpp's drop is {ratio:.2f} of the app's (bar: at least 0.5): {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
