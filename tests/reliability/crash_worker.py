"""Child processes for the crash tests: they write, report progress, and get killed (or kill themselves).

Run as ``python crash_worker.py MODE ARGS...``:

- ``chat DB BOOK_HASH``: writes chat messages forever (a question, then a
  streamed answer updated piece by piece), printing one line after each
  commit: ``C id`` (message added), ``U id length`` (content updated),
  ``D id`` (answer complete).  The parent SIGKILLs it at a random moment.
- ``save DEST POINT``: saves a new version of the adapter folder ``DEST``
  with ``store.atomic.staging_folder`` and SIGKILLs itself at ``POINT``.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np
from safetensors.numpy import save as safetensors_bytes

KILL_POINTS = ("staging-created", "mid-weights", "weights-written", "all-written", "between-renames",
               "after-swap")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def adapter_files(version: str, seed: int) -> dict[str, bytes]:
    """The files of a small adapter folder whose content says ``version``."""
    rng = np.random.default_rng(seed)
    weights = safetensors_bytes({
        "base_model.model.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((8, 256)).astype(np.float32),
        "base_model.model.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((256, 8)).astype(np.float32),
    })
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"], "version": version}
    meta = {"name": "Ledger", "base_model": {"id": "tiny", "fingerprint": "fp-tiny"}, "book_hash": "ab" * 32,
            "book_title": version, "steps": seed}
    return {"adapter_model.safetensors": weights, "adapter_config.json": json.dumps(config).encode(),
            "lift_adapter.json": json.dumps(meta).encode()}


def chat(db: str, book_hash: str) -> None:
    from lift_reader.store.library import Library

    lib = Library(db)
    n = 0
    while True:
        n += 1
        uid = lib.add_message(book_hash, "user", f"question {n}: who kept the light?")
        print(f"C {uid}", flush=True)
        aid = lib.add_message(book_hash, "assistant", "", mode="lift+icl", complete=False)
        print(f"C {aid}", flush=True)
        text = ""
        for piece in range(12):
            text += f"piece {piece} of answer {n}. "
            lib.update_message(aid, text, False)
            print(f"U {aid} {len(text.strip())}", flush=True)
        lib.update_message(aid, text.strip(), True, pages=[1, 2])
        print(f"D {aid}", flush=True)


def save(dest: str, point: str) -> None:
    from lift_reader.store import atomic

    files = adapter_files("new", seed=2)
    with atomic.staging_folder(dest) as staged:
        if point == "staging-created":
            die()
        weights = files["adapter_model.safetensors"]
        with open(staged / "adapter_model.safetensors", "wb") as fh:
            fh.write(weights[: len(weights) // 2])
            if point == "mid-weights":
                fh.flush()
                die()
            fh.write(weights[len(weights) // 2 :])
        if point == "weights-written":
            die()
        for name in ("adapter_config.json", "lift_adapter.json"):
            (staged / name).write_bytes(files[name])
        if point == "all-written":
            die()
        # The swap itself: (atomic's os and shutil are the modules themselves; this process dies anyway)
        if point == "between-renames":
            real_replace, calls = os.replace, []

            def replace_then_die(src, dst):
                calls.append(src)
                if len(calls) == 2:  # the previous folder is aside, the new one not yet in place
                    die()
                real_replace(src, dst)

            atomic.os.replace = replace_then_die
        if point == "after-swap":  # the new folder is in place, the old one not yet deleted
            atomic.shutil.rmtree = lambda *args, **kwargs: die()
    print("saved without being killed", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"chat": chat, "save": save}[mode](*args)
