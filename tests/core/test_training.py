"""LIFT training invariants on a tiny random model."""

import copy

import numpy as np
import pytest
import torch

from lift_reader.core.model.lora import save_adapter_weights
from lift_reader.core.model.models import wrap_loaded
from lift_reader.core.text.book_tokens import tokenize_book
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.training import CancelToken, MemorizeJob

FAST = MemorizeSettings(segment_length=32, epochs=2, learning_rate=5e-3, checkpoint_every=3, warmup_ratio=0.1)


@pytest.fixture
def short_tokens(tiny_parts, story_text):
    tok, _ = tiny_parts
    return tokenize_book(story_text[:3000], tok)


def _job(lm, tokens, tmp_path, settings=FAST):
    return MemorizeJob(lm, tokens, settings, job_key="test", checkpoint_dir=tmp_path / "ckpt")


def test_loss_falls_and_base_weights_stay_frozen(tiny_lm, short_tokens, tmp_path):
    base_before = {k: v.clone() for k, v in tiny_lm.model.state_dict().items()}
    events = list(_job(tiny_lm, short_tokens, tmp_path, FAST.with_changes(epochs=4, learning_rate=3e-2)).run())
    steps = [e for e in events if e.kind == "step"]
    assert events[0].kind == "start" and events[-1].kind == "done"
    assert steps[-1].step == steps[-1].total_steps
    first, last = np.mean([e.loss for e in steps[:5]]), np.mean([e.loss for e in steps[-5:]])
    assert last < first - 0.3
    for name, param in tiny_lm.model.named_parameters():
        if "lora_" not in name:
            key = name.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(param, base_before[key]), name


def test_events_report_progress(tiny_lm, short_tokens, tmp_path):
    steps = [e for e in _job(tiny_lm, short_tokens, tmp_path).run() if e.kind == "step"]
    assert [e.step for e in steps] == list(range(1, len(steps) + 1))
    assert all(e.tokens_per_s > 0 and e.eta_s is not None and e.learning_rate > 0 for e in steps)
    assert steps[-1].eta_s == 0
    assert 0 < steps[0].fraction < steps[-1].fraction == 1.0


def test_saved_adapter_reloads_to_the_same_logits(tiny_lm, tiny_parts, short_tokens, tmp_path):
    list(_job(tiny_lm, short_tokens, tmp_path).run())
    ids = torch.from_numpy(short_tokens.ids[None, :20].astype(np.int64))
    with torch.no_grad():
        trained = tiny_lm.model(input_ids=ids).logits
    save_adapter_weights(tiny_lm, "memorizing", tmp_path / "adapter")
    tok, model = tiny_parts
    fresh = wrap_loaded(copy.deepcopy(model), tok, label="tiny-llama", fingerprint="tiny0001")
    with torch.no_grad():
        base = fresh.model(input_ids=ids).logits
    fresh.attach_adapter("reloaded", tmp_path / "adapter")
    with torch.no_grad():
        reloaded = fresh.model(input_ids=ids).logits
    assert not torch.allclose(base, trained, atol=1e-4)  # training changed something
    torch.testing.assert_close(reloaded, trained, rtol=1e-5, atol=1e-5)


def test_an_adapter_attached_to_a_bf16_base_answers_in_bf16(tiny_lm, tiny_parts, short_tokens, tmp_path):
    """No fp32 LoRA layers on a bf16 base (their casts tripled prefill time), and the same predictions."""
    list(_job(tiny_lm, short_tokens, tmp_path).run())
    save_adapter_weights(tiny_lm, "memorizing", tmp_path / "adapter")
    ids = torch.from_numpy(short_tokens.ids[None, :40].astype(np.int64))
    with torch.no_grad():
        full = tiny_lm.model(input_ids=ids).logits.float()
    tok, model = tiny_parts
    half = wrap_loaded(copy.deepcopy(model).to(torch.bfloat16), tok, label="tiny-llama", fingerprint="tiny0001")
    half.attach_adapter("ledger", tmp_path / "adapter")
    assert {p.dtype for n, p in half.model.named_parameters() if "lora_" in n} == {torch.bfloat16}
    with torch.no_grad():
        logits = half.model(input_ids=ids).logits.float()
    agree = (logits.argmax(-1) == full.argmax(-1)).float().mean()
    assert agree > 0.9 and (logits - full).abs().mean() < 0.05 * full.abs().mean()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cancel_then_resume_matches_an_uninterrupted_run(tiny_parts, short_tokens, tmp_path, dtype):
    """Bit-exact, in fp32 and in bf16 (where the checkpoint must hold the fp32 master weights)."""
    tok, model = tiny_parts
    settings = FAST.with_changes(lora_dropout=0.1)  # dropout: the RNG state must be restored too

    def fresh():
        return wrap_loaded(copy.deepcopy(model).to(dtype), tok, label="tiny-llama", fingerprint="tiny0001")

    straight = fresh()
    list(MemorizeJob(straight, short_tokens, settings, job_key="a", checkpoint_dir=tmp_path / "a").run())

    interrupted = fresh()
    job = MemorizeJob(interrupted, short_tokens, settings, job_key="b", checkpoint_dir=tmp_path / "b")
    cancel = CancelToken()
    events = []
    for event in job.run(cancel=cancel):
        events.append(event)
        if event.kind == "step" and event.step == 7:
            cancel.cancel()
    assert events[-1].kind == "cancelled" and events[-1].step == 7
    assert job.has_checkpoint()

    resumed = fresh()  # a new process would start from a fresh base model too
    job2 = MemorizeJob(resumed, short_tokens, settings, job_key="b", checkpoint_dir=tmp_path / "b")
    events2 = list(job2.run(resume=True))
    assert [e for e in events2 if e.kind == "step"][0].step == 8
    assert events2[-1].kind == "done" and events2[-1].step == job2.total_steps
    a = {k: v for k, v in straight.model.named_parameters() if "lora_" in k}
    b = {k: v for k, v in resumed.model.named_parameters() if "lora_" in k}
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == torch.float32  # the finished adapter carries the fp32 masters
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_bf16_lora_computes_in_bf16_and_learns_like_fp32(tiny_parts, short_tokens, tmp_path):
    """The bf16 run's LoRA layers compute in bf16 (no casts) yet its loss falls like the fp32 run's."""
    tok, model = tiny_parts
    settings = FAST.with_changes(epochs=4, learning_rate=3e-2)
    curves = {}
    for dtype in (torch.float32, torch.bfloat16):
        lm = wrap_loaded(copy.deepcopy(model).to(dtype), tok, label="tiny-llama", fingerprint="tiny0001")
        job = MemorizeJob(lm, short_tokens, settings, job_key=str(dtype), checkpoint_dir=None)
        seen, losses = set(), []
        for event in job.run():
            if event.kind == "step":
                losses.append(event.loss)
                if event.step == 1:
                    seen = {p.dtype for n, p in lm.model.named_parameters() if "lora_" in n and ".memorizing." in n}
        curves[dtype] = losses
        assert seen == {dtype}
    fp32, bf16 = (np.array(curves[d]) for d in (torch.float32, torch.bfloat16))
    assert bf16[-5:].mean() < bf16[:5].mean() - 0.3
    assert abs(bf16[-5:].mean() - fp32[-5:].mean()) < 0.1 * fp32[-5:].mean()


def test_data_order_is_seeded_and_covers_every_segment(tiny_lm, short_tokens, tmp_path):
    job = _job(tiny_lm, short_tokens, tmp_path, FAST.with_changes(micro_batch_size=3))
    order = job.epoch_order(0)
    seen = sorted(i for unit in order for i in unit.segments)
    assert seen == list(range(len(job.plan)))
    assert order == job.epoch_order(0) and order != job.epoch_order(1)


def test_micro_batches_and_accumulation_count_steps(tiny_lm, short_tokens, tmp_path):
    s = FAST.with_changes(micro_batch_size=2, grad_accum_steps=2, epochs=1)
    job = _job(tiny_lm, short_tokens, tmp_path, s)
    steps = [e for e in job.run() if e.kind == "step"]
    assert len(steps) == job.total_steps == -(-(-(-len(job.plan) // 2)) // 2)


def test_schedule_warms_up_then_decays(tiny_lm, short_tokens, tmp_path):
    job = _job(tiny_lm, short_tokens, tmp_path, FAST.with_changes(epochs=5))
    lrs = [job.learning_rate_at(s) for s in range(job.total_steps)]
    peak = int(np.argmax(lrs))
    assert lrs[0] < lrs[peak] == pytest.approx(FAST.learning_rate)
    assert lrs[-1] < lrs[peak] and lrs[-1] >= FAST.learning_rate * FAST.min_lr_ratio - 1e-12


def test_out_of_memory_retries_with_smaller_passes(tiny_lm, short_tokens, tmp_path, monkeypatch):
    from lift_reader.core.memorize import training

    real_loss = training.causal_lm_loss
    seen_rows = []

    def tight_memory(model, ids, labels):
        seen_rows.append(ids.shape[0])
        if ids.shape[0] > 1:
            raise torch.OutOfMemoryError("simulated")
        return real_loss(model, ids, labels)

    monkeypatch.setattr(training, "causal_lm_loss", tight_memory)
    job = _job(tiny_lm, short_tokens, tmp_path, FAST.with_changes(micro_batch_size=4, epochs=1))
    events = list(job.run())
    notices = [e for e in events if e.kind == "notice"]
    assert [n.message for n in notices] == ["out of memory: retrying with 2 segment(s) per pass",
                                            "out of memory: retrying with 1 segment(s) per pass"]
    assert events[-1].kind == "done" and events[-1].step == job.total_steps
    assert set(seen_rows[-5:]) == {1}


def test_out_of_memory_with_one_segment_is_a_clear_error(tiny_lm, short_tokens, tmp_path, monkeypatch):
    from lift_reader.core.memorize import training
    from lift_reader.errors import LiftReaderError

    def no_memory(model, ids, labels):
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(training, "causal_lm_loss", no_memory)
    with pytest.raises(LiftReaderError, match="shorter segment"):
        list(_job(tiny_lm, short_tokens, tmp_path).run())
