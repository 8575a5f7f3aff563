"""Does a real llama.cpp apply our exported LoRA?  (`make interop-check`, outside `make test`.)

Memorizes a passage of the sample story with the embedded model (or reuses an
adapter: --adapter NAME), exports it with `--format gguf`, and measures the mean
negative log-likelihood per token of the passage four ways:

    the app's model          without / with the adapter   (transformers + peft, the converted folder)
    llama.cpp (llama-cpp-python)  base GGUF / base GGUF + LoRA GGUF  (q4_k_m weights)

The base GGUF is 4-bit, so the values differ; what must carry over is the *drop*
the adapter brings.  The bar (issue 18): llama.cpp's drop is at least half the
app's.  Both score the same token ids (the app's tokenizer's, BOS first).

llama-cpp-python lives in a venv of its own (--llama-python): this script runs
itself there with --score-gguf to do llama.cpp's half.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


def llama_cpp_nll(base: str, lora: str | None, ids: list[int], threads: int) -> float:
    """Mean NLL of ids[1:] under llama.cpp (run inside the llama-cpp-python venv)."""
    import numpy as np
    from llama_cpp import Llama

    kwargs = {"lora_path": lora} if lora else {}
    llm = Llama(model_path=base, n_ctx=len(ids) + 8, n_batch=len(ids) + 8, logits_all=True, n_threads=threads,
                verbose=False, **kwargs)
    llm.eval(ids)
    logits = np.asarray(llm.scores[: len(ids) - 1], dtype=np.float64)  # position t predicts token t+1
    peak = logits.max(axis=1, keepdims=True)
    log_norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
    picked = logits[np.arange(len(ids) - 1), ids[1:]]
    return float(np.mean(log_norm - picked))


def llama_cpp_logits(base: str, lora: str | None, ids: list[int], out: str) -> None:
    """All positions' logits under llama.cpp, saved as .npy (the tiny-Llama layout check)."""
    import numpy as np
    from llama_cpp import Llama

    kwargs = {"lora_path": lora} if lora else {}
    llm = Llama(model_path=base, n_ctx=64, logits_all=True, n_threads=1, verbose=False, **kwargs)
    llm.eval(ids)
    np.save(out, np.asarray(llm.scores[: len(ids)], dtype=np.float32))


def tiny_llama_gguf(model, tokenizer, path: Path) -> Path:
    """A tiny transformers Llama as llama.cpp's converter would write it: q/k rows permuted to
    llama.cpp's rotary layout (gguf_export.permute_rotary_rows), tied head left out, a BPE vocab."""
    from gguf import GGUFWriter, MODEL_ARCH, TokenType, get_tensor_name_map

    from lift_reader.core.model.gguf_export import permute_rotary_rows

    config = model.config
    names = get_tensor_name_map(MODEL_ARCH.LLAMA, config.num_hidden_layers)
    writer = GGUFWriter(path, "llama")
    writer.add_name("tiny llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(getattr(config, "rope_theta", None) or config.rope_parameters["rope_theta"])
    writer.add_file_type(0)
    vocab = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    tokens = [t for t, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([TokenType.CONTROL if t.startswith("<") and t.endswith(">") else TokenType.NORMAL
                            for t in tokens])
    writer.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in vocab["merges"]])
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    heads = {"q_proj": config.num_attention_heads, "k_proj": config.num_key_value_heads}
    for hf_name, value in model.state_dict().items():
        if hf_name == "lm_head.weight":
            continue  # tied: llama.cpp reuses token_embd
        array = value.detach().float().numpy()
        projection = hf_name.split(".")[-2]
        if projection in heads:
            array = permute_rotary_rows(array, heads[projection])
        writer.add_tensor(names.get_name(hf_name, try_suffixes=(".weight",)), array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_llama_check(args, work: Path) -> int:
    """llama.cpp's own rotary layout is the judge: the tiny Llama's logits under llama.cpp, base and
    with the exported LoRA (q/k rows permuted), against transformers + peft."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model

    from lift_reader.core.model.gguf_export import BaseGGUF, write_lora_gguf
    from lift_reader.core.model.tiny_model import tiny_model, tiny_tokenizer

    tokenizer = tiny_tokenizer(SAMPLE.read_text(encoding="utf-8"), vocab_size=512)
    model = tiny_model(tokenizer, arch="llama")
    base = tiny_llama_gguf(model, tokenizer, work / "tiny-llama.gguf")
    ids = [tokenizer.bos_token_id] + tokenizer("The keeper wrote in the ledger every night.",
                                               add_special_tokens=False)["input_ids"]
    torch.manual_seed(0)
    with torch.no_grad():
        hf_base = model(torch.tensor([ids])).logits[0].numpy()
        peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear",
                                                      init_lora_weights=False))
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                param.mul_(3.0)  # a change well above float noise
        hf_lora = peft_model(torch.tensor([ids])).logits[0].numpy()
    peft_model.save_pretrained(work / "tiny-lora")
    lora = work / "tiny-lora.gguf"
    write_lora_gguf(work / "tiny-lora", BaseGGUF.read(base), lora, "tiny")
    results = {}
    for label, lora_arg in (("base", "-"), ("lora", str(lora))):
        out = work / f"{label}.npy"
        done = subprocess.run([args.llama_python, __file__, "--dump-logits", str(base), lora_arg,
                               json.dumps(ids), str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"llama.cpp failed on the tiny Llama:\n{done.stderr[-3000:]}")
        results[label] = np.load(out)
    base_gap = float(np.abs(results["base"] - hf_base).max())
    lora_gap = float(np.abs(results["lora"] - hf_lora).max())
    change = float(np.abs(hf_lora - hf_base).max())
    print(f"tiny Llama, {len(ids)} tokens: max |llama.cpp - transformers| logit gap: base {base_gap:.2e}, "
          f"+LoRA {lora_gap:.2e}; the LoRA moves logits by up to {change:.2f}")
    passed = lora_gap < 0.05 * change and base_gap < 1e-2
    print(f"tiny Llama layout check: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def app_nll(lm, ids: list[int]) -> float:
    import torch

    with torch.no_grad():
        tokens = torch.tensor([ids], device=lm.device)
        logits = lm.model(tokens).logits[0, :-1].float()
        return float(torch.nn.functional.cross_entropy(logits, tokens[0, 1:]))


def memorize_passage(ws, passage: str, work: Path, epochs: int, lr: float):
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.workspace import run_to_end

    book = work / "ledger-passage.txt"
    book.write_text(passage, encoding="utf-8")
    record = ws.add_book(book)
    settings = MemorizeSettings.for_hardware(ws.lm.placement.device).with_changes(
        epochs=epochs, learning_rate=lr, segment_length=128, aux_tasks=False, study=False, checkpoint_minutes=0)
    started = time.perf_counter()
    def show(event) -> None:
        if event.kind == "step" and event.step % 10 == 0:
            print(f"  step {event.step}/{event.total_steps} loss {event.loss:.3f}", flush=True)

    outcome = run_to_end(ws.memorize(record, settings, adapter_name="interop-check passage"), show)
    print(f"memorized in {time.perf_counter() - started:.0f} s", flush=True)
    return outcome.adapter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-python", default=os.environ.get("INTEROP_PYTHON", sys.executable),
                        help="python of the venv with llama-cpp-python")
    parser.add_argument("--adapter", help="reuse this saved adapter (of the embedded model) instead of memorizing")
    parser.add_argument("--chars", type=int, default=1500, help="passage length (from the story's start)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "interop")
    parser.add_argument("--tiny-llama", action="store_true",
                        help="only the Llama layout check (q/k permutation) on a tiny random Llama (seconds)")
    parser.add_argument("--score-gguf", nargs=3, metavar=("BASE", "LORA_OR_-", "IDS_JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--dump-logits", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump_logits:  # in the llama-cpp-python venv
        base, lora, ids, out = args.dump_logits
        llama_cpp_logits(base, None if lora == "-" else lora, json.loads(ids), out)
        return 0
    if args.score_gguf:  # the llama.cpp half, in the other venv
        base, lora, ids_file = args.score_gguf
        print(json.dumps(llama_cpp_nll(base, None if lora == "-" else lora,
                                       json.loads(Path(ids_file).read_text()), args.threads)))
        return 0

    from lift_reader.store.paths import data_home, library_home_at

    with tempfile.TemporaryDirectory() as tmp:
        layout = tiny_llama_check(args, Path(tmp))
    if args.tiny_llama:
        return layout
    if args.adapter:  # one of the reader's adapters
        return check(args)
    # The passage and its adapter in a library of their own (the converted model stays shared).
    with library_home_at(data_home() / "interop") as home:
        print(f"interop-check library: {home}", flush=True)
        return check(args)


def check(args) -> int:
    from lift_reader.core.model.gguf_export import export_gguf_adapter
    from lift_reader.core.workspace import Workspace

    passage = SAMPLE.read_text(encoding="utf-8")[: args.chars]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    ws = Workspace(progress=lambda m: print(m, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.adapter:
            adapter = ws.library.get_adapter(args.adapter)
            if adapter is None:
                print(f"no adapter named {args.adapter!r}", file=sys.stderr)
                return 2
        else:
            adapter = memorize_passage(ws, passage, work, args.epochs, args.lr)
        lm = ws.lm
        ids = ([lm.tokenizer.bos_token_id] if lm.tokenizer.bos_token_id is not None else []) + \
            lm.tokenizer(passage, add_special_tokens=False)["input_ids"]
        lm.attach_adapter(adapter.name, Path(adapter.path))
        with lm.adapter_disabled():
            app_base = app_nll(lm, ids)
        app_lora = app_nll(lm, ids)
        exported = export_gguf_adapter(Path(adapter.path), args.out)
        print(f"exported {exported.lora} ({exported.tensors} tensors) for {exported.base}", flush=True)
        ids_file = work / "ids.json"
        ids_file.write_text(json.dumps(ids))

        def llama(lora: str) -> float:
            result = subprocess.run([args.llama_python, __file__, "--threads", str(args.threads), "--score-gguf",
                                     str(exported.base), lora, str(ids_file)], capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"llama.cpp scoring failed:\n{result.stderr[-3000:]}")
            return float(result.stdout.strip().splitlines()[-1])

        cpp_base, cpp_lora = llama("-"), llama(str(exported.lora))
    app_drop, cpp_drop = app_base - app_lora, cpp_base - cpp_lora
    rows = [("app (transformers + peft)", app_base, app_lora, app_drop),
            ("llama.cpp (llama-cpp-python)", cpp_base, cpp_lora, cpp_drop)]
    print(f"\npassage: first {args.chars} characters of {SAMPLE.name}, {len(ids) - 1} scored tokens; "
          f"adapter {adapter.name!r}")
    print(f"{'':30} {'NLL base':>9} {'NLL +LoRA':>10} {'drop':>7}")
    for name, base_nll, lora_nll, drop in rows:
        print(f"{name:30} {base_nll:9.3f} {lora_nll:10.3f} {drop:7.3f}")
    ratio = cpp_drop / app_drop if app_drop > 0 else float("nan")
    passed = app_drop > 0 and cpp_drop >= 0.5 * app_drop
    print(f"llama.cpp's drop is {ratio:.2f} of the app's (bar: at least 0.5): {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
