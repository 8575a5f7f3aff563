"""bench/gpu_check.py runs its CPU smoke mode end to end (the CUDA run needs a lent GPU)."""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))


def test_gpu_check_cpu_smoke(tmp_path):
    import gpu_check

    payload = gpu_check.main(["--cpu-smoke", "--out-dir", str(tmp_path)])
    assert payload["checks"] and all(payload["checks"].values())
    bf16 = payload["results"]["bf16"]
    assert bf16["speed"]["tokens_per_s"] > 0 and bf16["flops_per_token"] > 0
    assert len(bf16["learn"]["losses"]) == 25
    saved = json.loads((tmp_path / "gpu_check-latest.json").read_text(encoding="utf-8"))
    assert [t["title"] for t in saved["tables"]][:2] == ["Memorize on the GPU (MemorizeJob)",
                                                         "Correctness: memorizing the same random tokens"]
