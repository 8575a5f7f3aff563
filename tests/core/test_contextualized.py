"""Contextualized segments: a head/tail excerpt before each segment, loss on the segment only."""

import numpy as np
import torch

from lift_reader.core.memorize.contextualized import SegmentPrefixes
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.core.memorize.training import MemorizeJob
from lift_reader.core.workspace import run_to_end


def _prefixes(tiny_lm, tokens, seed=0):
    return SegmentPrefixes(tiny_lm.tokenizer, "The Ledger", tokens, seed, excerpt_tokens=16, head_tail_tokens=64)


def test_prefix_holds_header_an_excerpt_of_head_or_tail_and_the_instruction(tiny_lm, tokens):
    prefixes = _prefixes(tiny_lm, tokens)
    ids = tokens.ids.astype(np.int64)
    seen_head = seen_tail = False
    for segment in range(40):
        prefix = prefixes.for_segment(0, segment)
        assert len(prefix) == prefixes.length  # equal lengths: segments batch without padding
        text = tiny_lm.tokenizer.decode(prefix, skip_special_tokens=True)
        assert text.startswith("Book: The Ledger") and text.rstrip().endswith("Recite the book from here:")
        # The excerpt is 16 consecutive book tokens from the first or the last 64.
        excerpt = prefix[prefixes.header_length:prefixes.header_length + 16]
        starts = [s for s in range(len(ids) - 15) if np.array_equal(ids[s:s + 16], excerpt)]
        assert starts, "the excerpt is not a run of the book's tokens"
        seen_head |= any(s <= 64 - 16 for s in starts)
        seen_tail |= any(s >= len(ids) - 64 for s in starts)
    assert seen_head and seen_tail
    # Seeded by (seed, epoch, segment): a resumed run sees the same prefixes, other epochs others.
    assert np.array_equal(prefixes.for_segment(1, 3), _prefixes(tiny_lm, tokens).for_segment(1, 3))
    assert any(not np.array_equal(prefixes.for_segment(0, s), prefixes.for_segment(1, s)) for s in range(10))


def test_the_loss_falls_on_the_segment_only(tiny_lm, short_story_tokens):
    settings = MemorizeSettings(segment_length=32, micro_batch_size=2, epochs=1, contextualized=True)
    prefixes = SegmentPrefixes(tiny_lm.tokenizer, "The Ledger", short_story_tokens, 0)
    job = MemorizeJob(tiny_lm, short_story_tokens, settings, job_key="k", prefixes=prefixes)
    unit = job.epoch_order(0)[0]
    ids, labels, weight = job._batch(unit, torch.device("cpu"))
    assert ids.shape == (2, prefixes.length + 32)
    assert (labels[:, :prefixes.length] == -100).all()
    a, b = job.plan.bounds(unit.segments[0])
    assert torch.equal(labels[0, prefixes.length:], torch.from_numpy(short_story_tokens.ids[a:b].astype(np.int64)))
    assert torch.equal(ids[:, prefixes.length:], labels[:, prefixes.length:])


def test_contextualized_is_part_of_the_training_key_and_old_keys_stay():
    plain, ctx = MemorizeSettings(), MemorizeSettings(contextualized=True)
    assert plain.training_key() != ctx.training_key()
    assert job_key("b", "m", plain) != job_key("b", "m", ctx)
    # Adapters trained before the option existed keep their key (their metadata lacks the field).
    old = MemorizeSettings.from_dict({k: v for k, v in plain.as_dict().items() if k != "contextualized"})
    assert old.training_key() == plain.training_key()
    # ...even though the app's recipe now turns the option on: missing means what it meant then.
    recipe = MemorizeSettings.for_hardware("cpu")
    assert recipe.contextualized and recipe.aux_tasks
    saved_before = {k: v for k, v in recipe.as_dict().items() if k not in ("contextualized", "aux_reading")}
    assert not MemorizeSettings.from_dict(saved_before).contextualized


def test_memorize_contextualized_trains_a_different_adapter(ferry_book):
    ws, record = ferry_book
    weights = {}
    for contextualized in (False, True):
        settings = MemorizeSettings(segment_length=48, epochs=1, checkpoint_every=1000,
                                    contextualized=contextualized)
        events: list = []
        outcome = run_to_end(ws.memorize(record, settings, adapter_name=f"ctx {contextualized}"), events.append)
        assert events[-1].kind == "done"
        assert events[-1].loss is not None and np.isfinite(events[-1].loss)
        assert ws.adapter_trained_with(record, settings) is not None
        weights[contextualized] = outcome
    assert weights[False].adapter.path != weights[True].adapter.path
