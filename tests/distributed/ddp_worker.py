"""One memorize run of the tiny model, as a process of a torchrun job or alone.

    python ddp_worker.py MODEL_FOLDER BOOK.txt OUT_DIR CKPT_DIR [--stop-after N] [--resume]

Rank 0 (or the lone process) writes OUT_DIR/lora.safetensors (the LoRA weights)
and OUT_DIR/run.json (world size, steps, losses) when it finishes or stops.
With --stop-after N the last rank asks to stop after step N, so the test sees
a stop request travel from another rank to rank 0's checkpoint.
"""

import argparse
import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from lift_reader.core.cancel import CancelToken
from lift_reader.core.memorize.distributed import from_environment
from lift_reader.core.model.models import load_model
from lift_reader.core.text.book_tokens import tokenize_book
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.training import MemorizeJob

# Three micro-batches per step: with two processes one rank takes two and the other one.
SETTINGS = MemorizeSettings(segment_length=32, epochs=2, learning_rate=5e-3, warmup_ratio=0.1,
                            grad_accum_steps=3, checkpoint_every=2)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("model", type=Path)
    p.add_argument("book", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("ckpt", type=Path)
    p.add_argument("--stop-after", type=int)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)

    dist = from_environment("cpu")
    lm = load_model(str(args.model), device="cpu", precision="fp32", progress=lambda _: None)
    tokens = tokenize_book(args.book.read_text(encoding="utf-8"), lm.tokenizer)
    job = MemorizeJob(lm, tokens, SETTINGS, job_key="ddp-test", checkpoint_dir=args.ckpt, dist=dist)
    cancel = CancelToken()
    losses = []
    for event in job.run(resume=args.resume, cancel=cancel):
        if event.kind == "step":
            losses.append(event.loss)
            if args.stop_after and event.step == args.stop_after and dist.rank == dist.world_size - 1:
                cancel.cancel()
    if dist.is_main:
        args.out.mkdir(parents=True, exist_ok=True)
        lora = {k: v.detach().contiguous() for k, v in lm.model.state_dict().items() if "lora_" in k}
        save_file(lora, str(args.out / "lora.safetensors"))
        run = {"world_size": dist.world_size, "step": job.state.step, "total_steps": job.total_steps,
               "finished": job.state.finished, "losses": losses}
        (args.out / "run.json").write_text(json.dumps(run))
    if dist.enabled:
        import torch.distributed

        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
