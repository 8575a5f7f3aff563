"""Scoring one prompt: answer likelihoods and a greedy answer from one pass over the prompt.

The prompt is encoded once (in chunks, so a whole-book prompt never needs a
(prompt x prompt) attention matrix at once) and its KV cache is copied for
each continuation: an option's log-likelihood then costs a forward pass
over the option only, and the greedy answer continues from the same cache.
A prefix shared by all questions of a condition (book title + head-and-tail
or whole-book context) is encoded once per document and reused the same way.
Costs on the CPU with Gemma 3 270M: a 1K-token prompt ~1-2 s, a 14K-token
whole book ~30 s (once per document), an option or a decoded token ~30 ms.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import torch

from lift_reader.core.ask.answer_rule import NO_RULE, AnswerRule
from lift_reader.core.ask.generation import SamplingSettings, _cache_argument, _returned_cache, generate_pieces
from lift_reader.core.model.models import LoadedModel
from lift_reader.core.ask.prompts import stop_strings_for

PREFILL_CHUNK = 2048  # tokens per forward pass while encoding a prompt


@contextlib.contextmanager
def model_state(lm: LoadedModel, adapter: str | None):
    """The adapter ``adapter`` selected, or (None) the bare base model."""
    if adapter is not None:
        lm.select_adapter(adapter)
        yield
    else:
        with lm.adapter_disabled():
            yield


def answer_ids(lm: LoadedModel, text: str) -> list[int]:
    """Token ids of ``text`` as a reply (as ``AnswerStream.answer_logprob`` encodes it)."""
    text = text.strip() if lm.is_chat_model else " " + text.strip()
    return list(lm.tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass
class EncodedPrompt:
    """Token ids, the KV cache after them, and the next-token logits (float32, shape (V,))."""

    ids: list[int]
    cache: object
    last_logits: torch.Tensor


@torch.inference_mode()
def encode(model, ids: list[int], prefix: EncodedPrompt | None = None,
           chunk: int = PREFILL_CHUNK) -> EncodedPrompt:
    """Encode ``ids``, continuing from ``prefix`` when ``ids`` starts with its tokens."""
    device = next(model.parameters()).device
    cache_arg = _cache_argument(model)
    start, past, logits = 0, None, None
    if prefix is not None and len(prefix.ids) < len(ids) and ids[:len(prefix.ids)] == prefix.ids:
        start, past = len(prefix.ids), copy.deepcopy(prefix.cache)
    for pos in range(start, len(ids), chunk):
        piece = torch.tensor([ids[pos:pos + chunk]], dtype=torch.long, device=device)
        out = model(input_ids=piece, use_cache=True, logits_to_keep=1, **{cache_arg: past})
        past, logits = _returned_cache(out), out.logits[0, -1]
    return EncodedPrompt(list(ids), past, logits.float())


def common_prefix_length(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PromptScorer:
    """Log-likelihoods of continuations of one prompt, and its greedy answer."""

    def __init__(self, lm: LoadedModel, prompt_ids: list[int], prefix: EncodedPrompt | None = None):
        self.lm = lm
        self.model = lm.model
        self.prompt = encode(self.model, list(prompt_ids), prefix)
        self._cache_arg = _cache_argument(self.model)

    @torch.inference_mode()
    def logprob(self, ids: list[int]) -> float:
        """Sum of log p(ids[i] | prompt, ids[:i])."""
        if not ids:
            return 0.0
        total = float(torch.log_softmax(self.prompt.last_logits, -1)[ids[0]])
        if len(ids) > 1:
            device = next(self.model.parameters()).device
            x = torch.tensor([ids[:-1]], dtype=torch.long, device=device)
            out = self.model(input_ids=x, use_cache=True, **{self._cache_arg: copy.deepcopy(self.prompt.cache)})
            logp = torch.log_softmax(out.logits[0].float(), -1)
            total += float(logp.gather(1, torch.tensor(ids[1:], device=device)[:, None]).sum())
        return total

    def greedy(self, max_new_tokens: int, rule: AnswerRule = NO_RULE) -> str:
        """The greedy answer, ended as the app's stream ends it (``generation.generate_pieces``), stripped."""
        tok = self.lm.tokenizer
        pieces = generate_pieces(self.model, tok, copy.deepcopy(self.prompt.cache), self.prompt.last_logits,
                                 SamplingSettings(greedy=True, max_new_tokens=max_new_tokens),
                                 stop_strings=stop_strings_for(tok), rule=rule)
        return "".join(pieces).strip()


class BaselineScorer:
    """log p(option | prompt without book and question), cached per option text.

    The calibration term of multiple-choice scoring: the option's prior under
    the same model state (adapter on or off) with the question removed, as in
    domain-conditional PMI (Holtzman et al., 2021).
    """

    def __init__(self, lm: LoadedModel, title: str):
        from lift_reader.core.ask.prompts import encode_prompt

        self.lm = lm
        self._scorer = PromptScorer(lm, encode_prompt(lm.tokenizer, title, "", [], ""))
        self._cache: dict[str, float] = {}

    def __call__(self, option: str) -> float:
        if option not in self._cache:
            self._cache[option] = self._scorer.logprob(answer_ids(self.lm, option))
        return self._cache[option]
