"""The CUDA path, checked on a GPU: 4-bit NF4 base vs bf16, training speed, MFU and peak VRAM.

Builds a Llama-shaped model from a config with random weights (no downloads),
saves it as a model folder and loads it through the app's own ``load_model``
twice: in bf16 and in 4-bit NF4 with bf16 compute (bitsandbytes).  Then:

  1. correctness: the NF4 model's next-token logits against the bf16 model's
     on the same tokens (cosine similarity, top-1 agreement), and both models
     memorizing the same token sequence with ``MemorizeJob`` (loss must fall in
     both, and the NF4 run's final loss stay close to the bf16 run's);
  2. speed: tokens/s of ``MemorizeJob`` after warm-up steps, MFU against the
     measured bf16 matmul rate and the datasheet peak, ~4N FLOPs a token (a frozen
     base: forward + backward through activations) plus attention;
  3. memory: peak VRAM (``torch.cuda.max_memory_allocated``) of each run, and
     the plan the run chose for free VRAM (passes, gradient checkpointing).

    python3 bench/gpu_check.py                     # on a CUDA machine: ~1.3B Llama, 2,048-token segments
    python3 bench/gpu_check.py --size small        # ~150M, quicker
    python3 bench/gpu_check.py --cpu-smoke         # checks the script on a CPU (tiny model, bf16 only)

Prints plain-text tables and writes Markdown + JSON under --out-dir.  See
``bench/gpu_check.sh`` for running it on a machine that lacks some packages.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common as bc  # noqa: E402

NAME = "gpu_check"
SIZES = {  # Llama shapes: hidden, layers, heads, kv heads, intermediate, vocab
    "tiny": (64, 2, 4, 2, 128, 512),
    "small": (768, 12, 12, 4, 2048, 32000),
    "1b": (2048, 16, 32, 8, 5632, 32000),
}
DATASHEET_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "RTX 4090": 165.0}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="1b")
    p.add_argument("--segment-length", type=int, default=2048)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=12, help="timed optimizer steps (after --warmup)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--learn-steps", type=int, default=30, help="steps of the correctness run (memorizing)")
    p.add_argument("--cpu-smoke", action="store_true", help="tiny model on the CPU, bf16 only: checks the script")
    p.add_argument("--out-dir", type=Path, default=bc.OUT_DIR)
    args = p.parse_args(argv)
    if args.cpu_smoke:
        args.size, args.segment_length, args.steps, args.warmup, args.learn_steps = "tiny", 64, 2, 1, 25
    return args


def build_model_folder(size: str, folder: Path) -> Path:
    """A random Llama in ``folder`` (safetensors) with the tests' small byte-level tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lift_reader.core.model.tiny_model import tiny_tokenizer

    hidden, layers, heads, kv, inter, vocab = SIZES[size]
    config = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv, intermediate_size=inter, vocab_size=vocab,
                         max_position_embeddings=8192, tie_word_embeddings=False, torch_dtype="bfloat16")
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(vocab_size=min(vocab, 384)).save_pretrained(folder)
    return folder


def matmul_tflops(device: str) -> float:
    import torch

    n = 8192 if device == "cuda" else 512
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    _sync(device)
    t0, reps = time.perf_counter(), 10
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def train_run(lm, token_ids, settings, steps: int, warmup: int, device: str) -> dict:
    """Run MemorizeJob for warmup + steps steps; tokens/s over the timed ones, losses, peak VRAM, notices."""
    import torch

    from lift_reader.core.cancel import CancelToken
    from lift_reader.core.text.book_tokens import BookTokens
    from lift_reader.core.memorize.training import MemorizeJob

    import numpy as np

    tokens = BookTokens(ids=np.asarray(token_ids, dtype=np.int32),
                        char_starts=np.arange(len(token_ids), dtype=np.int64), end_char=len(token_ids))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    job = MemorizeJob(lm, tokens, settings, job_key="gpu-check", checkpoint_dir=None)
    need = warmup + steps
    cancel, stamps, losses, notices = CancelToken(), [], [], []
    for event in job.run(cancel=cancel):
        if event.kind == "notice":
            notices.append(event.message)
        if event.kind == "step":
            _sync(device)
            stamps.append(time.perf_counter())
            losses.append(event.loss)
            if len(stamps) >= need:
                cancel.cancel()
    per_step = settings.segment_length * settings.micro_batch_size
    timed = stamps[warmup:] if warmup else stamps
    seconds = timed[-1] - (stamps[warmup - 1] if warmup else timed[0])
    count = len(timed) if warmup else len(timed) - 1
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else None
    from lift_reader.core.model.lora import drop_training_adapter

    drop_training_adapter(lm, job.adapter_name)
    return {"tokens_per_s": count * per_step / seconds, "losses": losses, "peak_vram_bytes": peak,
            "notices": notices}


def flops_per_token(lm, seg: int) -> float:
    """~4N (forward + backward through activations; the base is frozen) plus causal attention."""
    config = lm.base_config
    n_params = sum(p.numel() for p in lm.model.parameters())
    if lm.placement.precision == "nf4":  # bitsandbytes packs two weights a byte: count the shapes instead
        hidden, inter, layers, vocab = (config.hidden_size, config.intermediate_size, config.num_hidden_layers,
                                        config.vocab_size)
        kv = config.num_key_value_heads * (hidden // config.num_attention_heads)
        n_params = layers * (2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * inter) + 2 * vocab * hidden
    attention = 4 * 2 * config.num_hidden_layers * config.hidden_size * seg / 2  # QK^T and AV, fwd+bwd, causal
    return 4 * n_params + attention


def logits_agreement(lm_a, lm_b, ids) -> dict:
    import torch

    with torch.no_grad():
        a = lm_a.model(input_ids=ids.to(lm_a.device)).logits.float().cpu()
        b = lm_b.model(input_ids=ids.to(lm_b.device)).logits.float().cpu()
    cos = torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=-1).mean().item()
    top1 = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    return {"cosine": cos, "top1_agreement": top1}


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from lift_reader.core.model.models import load_model
    from lift_reader.core.memorize.settings import MemorizeSettings

    device = "cpu" if args.cpu_smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --cpu-smoke to check the script on a CPU")
    precisions = ["bf16"] if args.cpu_smoke else ["bf16", "nf4"]
    facts = {"torch": torch.__version__, "size": args.size, "segment length": args.segment_length,
             "micro-batch": args.micro_batch}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        facts["gpu"] = props.name
        facts["gpu memory GiB"] = round(props.total_memory / 2**30, 1)
        import bitsandbytes

        facts["bitsandbytes"] = bitsandbytes.__version__
    measured_tflops = matmul_tflops(device)
    datasheet = next((v for k, v in DATASHEET_TFLOPS.items() if k in facts.get("gpu", "")), None)
    facts["bf16 matmul TFLOP/s (measured)"] = round(measured_tflops, 1)

    rng = torch.Generator().manual_seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_model_folder(args.size, Path(tmp) / "llama")
        vocab = SIZES[args.size][5]
        # The correctness run memorizes a short random sequence (it can only be learned by heart);
        # the speed run goes over a longer one.
        learn_ids = torch.randint(0, vocab, (args.segment_length,), generator=rng).tolist()
        speed_ids = torch.randint(0, vocab, (args.segment_length * 8,), generator=rng).tolist()
        probe = torch.randint(0, vocab, (2, min(512, args.segment_length)), generator=rng)
        learn = MemorizeSettings(segment_length=args.segment_length, epochs=100, learning_rate=2e-3,
                                 warmup_ratio=0.0, schedule="constant", micro_batch_size=1)
        speed = MemorizeSettings(segment_length=args.segment_length, epochs=100, micro_batch_size=args.micro_batch)

        loaded, results = {}, {}
        for precision in precisions:
            t0 = time.perf_counter()
            lm = load_model(str(folder), device=device, precision=precision, progress=lambda _m: None)
            load_s = time.perf_counter() - t0
            learned = train_run(lm, learn_ids, learn, args.learn_steps, 0, device)
            timed = train_run(lm, speed_ids, speed, args.steps, args.warmup, device)
            fpt = flops_per_token(lm, args.segment_length)
            results[precision] = {"load_s": load_s, "learn": learned, "speed": timed, "flops_per_token": fpt}
            loaded[precision] = lm
        agreement = logits_agreement(loaded["nf4"], loaded["bf16"], probe) if "nf4" in loaded else None

    speed_table = bc.Table("Memorize on the GPU (MemorizeJob)", [
        "precision", "tokens/s", "TFLOP/s", "MFU vs measured", "MFU vs datasheet", "peak VRAM GiB", "memory plan"])
    learn_table = bc.Table("Correctness: memorizing the same random tokens", [
        "precision", "first loss", f"loss after {args.learn_steps} steps", "fell by"])
    for precision, r in results.items():
        tps = r["speed"]["tokens_per_s"]
        tflops = tps * r["flops_per_token"] / 1e12
        peak = r["speed"]["peak_vram_bytes"]
        speed_table.add(precision, tps, tflops, f"{100 * tflops / measured_tflops:.1f}%",
                        f"{100 * tflops / datasheet:.1f}%" if datasheet else "-",
                        peak / 2**30 if peak else None, "; ".join(r["speed"]["notices"]) or "-")
        losses = r["learn"]["losses"]
        learn_table.add(precision, losses[0], losses[-1], losses[0] - losses[-1])
    speed_table.notes.append("FLOPs per token: 4N (frozen base: forward + backward through activations) + "
                             "causal attention; N counted from the layer shapes")
    tables = [speed_table, learn_table]
    checks = {}
    for precision, r in results.items():
        losses = r["learn"]["losses"]
        tail = sum(losses[-3:]) / 3
        checks[f"{precision}: loss fell by more than 5%"] = math.isfinite(tail) and tail < 0.95 * losses[0]
    if agreement is not None:
        agree_table = bc.Table("Correctness: NF4 logits against bf16 (same random weights)",
                               ["cosine similarity", "top-1 agreement"])
        agree_table.add(agreement["cosine"], agreement["top1_agreement"])
        tables.append(agree_table)
        bf16_final = results["bf16"]["learn"]["losses"][-1]
        nf4_final = results["nf4"]["learn"]["losses"][-1]
        checks["nf4 logits cosine > 0.98 vs bf16"] = agreement["cosine"] > 0.98
        bf16_drop = results["bf16"]["learn"]["losses"][0] - bf16_final
        checks["nf4 final loss within a quarter of bf16's drop of bf16's"] = abs(nf4_final - bf16_final) <= 0.25 * bf16_drop
    check_table = bc.Table("Checks", ["check", "result"])
    for name, ok in checks.items():
        check_table.add(name, "PASS" if ok else "FAIL")
    tables.append(check_table)
    payload = bc.report(NAME, "GPU check: 4-bit NF4 path, speed, MFU, peak VRAM", tables, facts, args.out_dir,
                        extra={"results": results, "agreement": agreement, "checks": checks})
    if not all(checks.values()):
        raise SystemExit("some checks failed (see the Checks table)")
    return payload


if __name__ == "__main__":
    main()
