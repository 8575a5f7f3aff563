"""Token-by-token generation as a generator of text pieces.

A loop of our own rather than ``model.generate`` with a streamer thread: it
stops between any two tokens when asked (``CancelToken``), holds back text
that could be the start of a stop string or half of a multi-byte character,
and needs no extra thread.  The prompt is encoded once; each later token
costs one forward pass over a single position thanks to the KV cache.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterator

import torch

from lift_reader.core.ask.answer_rule import NO_RULE, AnswerRule, answer_end, guard_logits, open_word_start


@dataclass
class PromptCache:
    """The KV cache of the last prompt's stable prefix: the book context.

    Successive questions about a book share everything up to the question
    (title and head-and-tail context: ~1K tokens by default), so the next
    question only encodes its own tokens.  ``key`` names the weights in use
    (adapter and version); ``ids`` must match the new prompt's prefix exactly.
    """

    key: tuple = ()
    ids: tuple[int, ...] = ()
    kv: object = None

    def clear(self) -> None:
        self.key, self.ids, self.kv = (), (), None


@dataclass(frozen=True)
class SamplingSettings:
    greedy: bool = True
    """Always take the most likely token (reproducible answers)."""
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 200
    seed: int | None = None


def _eos_ids(model, tokenizer) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids


def _pick(logits: torch.Tensor, sampling: SamplingSettings, generator) -> int:
    if sampling.greedy:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / max(sampling.temperature, 1e-4), dim=-1)
    sorted_probs, order = torch.sort(probs, descending=True)
    keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < sampling.top_p
    sorted_probs = sorted_probs * keep
    choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=generator)
    return int(order[choice])


def _safe_prefix(text: str, stops: tuple[str, ...]) -> str:
    """Drop a trailing partial character and any tail that may begin a stop string."""
    text = text.rstrip("\ufffd")
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                return text[:-k]
    return text


def _cache_argument(model) -> str:
    """transformers 5.x calls the KV cache argument ``cache``; 4.x ``past_key_values``."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _returned_cache(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


@torch.inference_mode()
def stream_tokens(
    model,
    tokenizer,
    prompt_ids: list[int],
    sampling: SamplingSettings = SamplingSettings(),
    *,
    stop_strings: tuple[str, ...] = (),
    rule: AnswerRule = NO_RULE,
    cancel=None,
    prefix_len: int = 0,
    prompt_cache: PromptCache | None = None,
    cache_key: tuple = (),
) -> Iterator[str]:
    """Yield the answer's text piece by piece until EOS, its end (``rule``, stop strings), the limit or cancel.

    With ``prompt_cache`` and ``prefix_len`` the first ``prefix_len`` prompt
    tokens are encoded once and reused by later prompts that start the same way.
    """
    if sampling.max_new_tokens < 1 or (cancel is not None and cancel.cancelled):
        return
    device = next(model.parameters()).device
    cache_arg = _cache_argument(model)
    past, start = None, 0
    if prompt_cache is not None and 0 < prefix_len < len(prompt_ids):
        past, start = _cached_prefix(model, prompt_ids, prefix_len, prompt_cache, cache_key, cache_arg, device)
    ids = torch.tensor([prompt_ids[start:]], dtype=torch.long, device=device)
    # logits_to_keep=1: only the last position's logits are needed; on the
    # prompt pass this skips a (prompt x vocabulary) matrix (512 x 262K for Gemma).
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1, **{cache_arg: past})
    yield from generate_pieces(model, tokenizer, _returned_cache(out), out.logits[0, -1], sampling,
                               stop_strings=stop_strings, rule=rule, cancel=cancel)


@torch.inference_mode()
def generate_pieces(
    model,
    tokenizer,
    past,
    logits: torch.Tensor,
    sampling: SamplingSettings,
    *,
    stop_strings: tuple[str, ...] = (),
    rule: AnswerRule = NO_RULE,
    cancel=None,
) -> Iterator[str]:
    """The answer's text pieces from a prompt's KV cache ``past`` and its next-token ``logits``.

    The one decoding loop: the app's stream and the evaluation's greedy
    answers both run it, so both end answers by the same ``rule``.
    ``past`` is extended in place.
    """
    device = next(model.parameters()).device
    cache_arg = _cache_argument(model)
    eos = _eos_ids(model, tokenizer)
    generator = None
    if not sampling.greedy and sampling.seed is not None:
        generator = torch.Generator(device="cpu").manual_seed(sampling.seed)
    generated: list[int] = []
    emitted = ""
    for step in range(sampling.max_new_tokens):
        if cancel is not None and cancel.cancelled:
            return
        token = _pick(guard_logits(logits.float().cpu(), generated, rule), sampling, generator)
        if token in eos:
            break
        generated.append(token)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        cut = answer_end(text, rule, stop_strings)
        if cut is not None:
            if cut > len(emitted):
                yield text[len(emitted):cut]
            return
        safe = _safe_prefix(text, stop_strings)
        if rule.no_repeat_ngram:  # a word still being written may yet end the answer before it
            safe = safe[:open_word_start(safe)]
        if len(safe) > len(emitted) and safe.startswith(emitted):
            yield safe[len(emitted):]
            emitted = safe
        if step == sampling.max_new_tokens - 1:
            break  # the limit: no forward pass for a token that will not be taken
        out = model(input_ids=torch.tensor([[token]], dtype=torch.long, device=device), use_cache=True,
                    logits_to_keep=1, **{cache_arg: past})
        past, logits = _returned_cache(out), out.logits[0, -1]
    text = tokenizer.decode(generated, skip_special_tokens=True).rstrip("\ufffd")
    if len(text) > len(emitted) and text.startswith(emitted):
        yield text[len(emitted):]


def _cached_prefix(model, prompt_ids, prefix_len, prompt_cache, cache_key, cache_arg, device):
    """(KV cache holding the prompt's first ``prefix_len`` tokens, prefix_len)."""
    prefix = tuple(prompt_ids[:prefix_len])
    if prompt_cache.key != cache_key or prompt_cache.ids != prefix or prompt_cache.kv is None:
        out = model(input_ids=torch.tensor([prefix], dtype=torch.long, device=device), use_cache=True,
                    logits_to_keep=1, **{cache_arg: None})
        prompt_cache.key, prompt_cache.ids, prompt_cache.kv = cache_key, prefix, _returned_cache(out)
    # Generation appends to the cache in place: work on a copy (~20 MB for 1K tokens on Gemma 270M).
    return copy.deepcopy(prompt_cache.kv), prefix_len


@torch.inference_mode()
def sequence_logprob(model, prompt_ids: list[int], answer_ids: list[int]) -> float:
    """Sum of log-probabilities of ``answer_ids`` following ``prompt_ids`` (for scoring)."""
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids + answer_ids], dtype=torch.long, device=device)
    # Only the answer's positions need logits: a (prompt x vocabulary) matrix
    # would cost 1 GB for a 1K-token prompt with Gemma's 262K vocabulary.
    logits = model(input_ids=ids, logits_to_keep=len(answer_ids) + 1).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    target = torch.tensor(answer_ids, device=device)
    return float(logp.gather(1, target[:, None]).sum())
