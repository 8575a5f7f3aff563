"""Memory estimates and the GPU plan: checkpointing and split passes only as far as memory needs."""

from lift_reader.core.memorize.estimate import MemoryParts, estimate_peak_memory, memory_parts, plan_cuda_memory
from lift_reader.core.memorize.settings import MemorizeSettings

GiB = 2**30
PARTS = MemoryParts(weights=4 * GiB, lora_state=GiB // 4, per_segment=6 * GiB,
                    per_segment_checkpointed=GiB, loss_buffer=GiB // 4)


def test_a_roomy_gpu_gets_one_pass_and_no_checkpointing():
    plan = plan_cuda_memory(PARTS, micro_batch=2, free_bytes=40 * GiB)
    assert plan.passes == 1 and not plan.checkpointing


def test_a_micro_batch_that_does_not_fit_is_split_before_checkpointing_is_used():
    plan = plan_cuda_memory(PARTS, micro_batch=4, free_bytes=16 * GiB)  # budget 13.1 GiB: 2 segments a pass
    assert plan.passes == 2 and not plan.checkpointing


def test_checkpointing_only_when_not_even_one_segment_fits_without_it():
    plan = plan_cuda_memory(PARTS, micro_batch=4, free_bytes=5 * GiB)  # 3.75 GiB: 3 checkpointed segments
    assert plan.checkpointing and plan.passes == 2
    hopeless = plan_cuda_memory(PARTS, micro_batch=4, free_bytes=GiB)
    assert hopeless.checkpointing and hopeless.passes == 4  # the training loop's OOM handler decides


def test_estimates_grow_with_segments_not_with_the_vocabulary_times_tokens(tiny_lm, monkeypatch):
    short = memory_parts(tiny_lm, MemorizeSettings(segment_length=256))
    long = memory_parts(tiny_lm, MemorizeSettings(segment_length=1024))
    assert long.per_segment == 4 * short.per_segment
    assert short.per_segment_checkpointed < short.per_segment
    # The fused loss keeps one chunk of logits whatever the segment length.
    assert long.loss_buffer == short.loss_buffer
    # On the CPU the process's own memory (runtime, model) is counted as it is now, plus what training adds.
    from lift_reader.core.memorize import estimate

    monkeypatch.setattr(estimate, "_process_rss", lambda: 3 * GiB)
    assert estimate_peak_memory(tiny_lm, MemorizeSettings(segment_length=256, micro_batch_size=2)) == \
        3 * GiB + short.peak(2) - short.weights
