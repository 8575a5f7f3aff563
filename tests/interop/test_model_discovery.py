"""`lift-reader models` and Settings > Model: models already in Ollama's store, LM Studio's folder and the
Hugging Face cache, laid out here as those tools lay them out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from interop_helpers import SAMPLE_STORY
from gguf_fakes import write_model_gguf


def _ollama_store(root: Path) -> Path:
    """manifests/<registry>/<namespace>/<model>/<tag> -> blobs/sha256-<hex>, as `ollama pull` leaves them."""
    def pull(registry_path: str, digest: str, arch: str):
        blob = write_model_gguf(root / "blobs" / f"sha256-{digest}", arch)
        manifest = root / "manifests" / registry_path
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"schemaVersion": 2, "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
             "size": blob.stat().st_size},
            {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "f" * 64, "size": 10}]}))

    pull("registry.ollama.ai/library/gemma3/270m", "a" * 64, "gemma3")
    pull("hf.co/someone/Rwkv-GGUF/Q4_K_M", "b" * 64, "rwkv6")  # an architecture transformers cannot load
    (root / "manifests" / "registry.ollama.ai" / "library" / "gone" ).mkdir(parents=True)
    (root / "manifests" / "registry.ollama.ai" / "library" / "gone" / "latest").write_text(
        json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + "c" * 64}]}))
    return root


def _lm_studio(root: Path) -> Path:
    write_model_gguf(root / "lmstudio-community" / "Qwen3-GGUF" / "Qwen3-0.6B-Q4_K_M.gguf", "qwen3")
    write_model_gguf(root / "lmstudio-community" / "Qwen3-GGUF" / "mmproj-Qwen3-F16.gguf", "clip")
    write_model_gguf(root / "me" / "loras" / "book-lora.gguf", "qwen3", kind="adapter")  # not a model
    return root


def _hf_cache(root: Path, tiny_folder: Path) -> Path:
    """models--org--name/{blobs, refs/main, snapshots/<rev>/ (links into blobs)}."""
    repo = root / "models--tiny-org--tiny-llama"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    for n, file in enumerate(sorted(tiny_folder.iterdir())):
        blob = repo / "blobs" / f"blob{n}"
        shutil.copy2(file, blob)
        (snapshot / file.name).symlink_to(Path("..", "..", "blobs", blob.name))
    return root


@pytest.fixture
def machine(tmp_path):
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    tiny = save_tiny_model_folder(tmp_path / "tiny", SAMPLE_STORY.read_text(encoding="utf-8"))
    return [("Ollama", _ollama_store(tmp_path / "ollama")), ("LM Studio", _lm_studio(tmp_path / "lmstudio")),
            ("Hugging Face cache", _hf_cache(tmp_path / "hub", tiny)), ("Ollama", tmp_path / "not-there")]


def test_finds_models_in_each_layout_with_size_architecture_and_memory(machine):
    from lift_reader.core.model.model_discovery import discover

    found = {m.name: m for m in discover(machine)}
    assert set(found) == {"gemma3:270m", "someone/Rwkv-GGUF:Q4_K_M", "lmstudio-community/Qwen3-GGUF/Qwen3-0.6B-Q4_K_M.gguf",
                          "tiny-org/tiny-llama"}  # no projector, no LoRA file, no manifest without its blob
    gemma, rwkv, qwen, tiny = (found[n] for n in ("gemma3:270m", "someone/Rwkv-GGUF:Q4_K_M",
                                                 "lmstudio-community/Qwen3-GGUF/Qwen3-0.6B-Q4_K_M.gguf",
                                                 "tiny-org/tiny-llama"))
    assert (gemma.source, gemma.format, gemma.architecture) == ("Ollama", "gguf", "gemma3")
    assert gemma.path.name == "sha256-" + "a" * 64 and gemma.size_bytes == gemma.path.stat().st_size
    assert (qwen.source, qwen.architecture, tiny.source, tiny.format, tiny.architecture) == (
        "LM Studio", "qwen3", "Hugging Face cache", "safetensors", "llama")
    assert tiny.size_bytes > 100_000  # the weights behind the snapshot's links
    assert not rwkv.loadable and "cannot load rwkv6" in rwkv.why_not and rwkv.memory_bytes is None
    for model in (gemma, qwen, tiny):
        assert model.loadable and model.memory_bytes > 0 and model.fits  # tiny models fit anywhere
    assert discover(machine)[-1] is not None and not discover(machine)[-1].loadable  # unusable ones last


def test_a_bigger_model_needs_more_memory(tmp_path):
    from lift_reader.core.model.model_discovery import discover

    write_model_gguf(tmp_path / "lm" / "a" / "small.gguf", "llama", hidden=64)
    write_model_gguf(tmp_path / "lm" / "a" / "large.gguf", "llama", hidden=512, vocab=4096, layers=8)
    found = {m.name: m for m in discover([("LM Studio", tmp_path / "lm")])}
    assert found["a/large.gguf"].memory_bytes > found["a/small.gguf"].memory_bytes


def test_choosing_one_works_offline(machine, monkeypatch):
    from lift_reader.core.model.model_discovery import discover, model_ref
    from lift_reader.core.model.model_source import parse_model_ref
    from lift_reader.core.model.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    found = {m.name: m for m in discover(machine)}
    ollama_ref = model_ref(found["gemma3:270m"])  # a blob without suffix gets a .gguf link in our data folder
    assert ollama_ref.endswith("gemma3-270m.gguf") and Path(ollama_ref).resolve() == found["gemma3:270m"].path
    assert parse_model_ref(ollama_ref).kind == "gguf" and model_ref(found["gemma3:270m"]) == ollama_ref
    hub_ref = model_ref(found["tiny-org/tiny-llama"])
    assert parse_model_ref(hub_ref).kind == "folder"
    lm = load_model(hub_ref, device="cpu", precision="fp32", progress=lambda m: None)  # no download
    assert lm.base_config.model_type == "llama"


def test_usual_places_follow_each_tools_settings(tmp_path):
    from lift_reader.core.model.model_discovery import default_places

    home = tmp_path / "home"
    places = default_places({}, home)
    assert ("Ollama", home / ".ollama" / "models") in places
    assert ("LM Studio", home / ".lmstudio" / "models") in places
    assert ("Hugging Face cache", home / ".cache" / "huggingface" / "hub") in places
    moved = default_places({"OLLAMA_MODELS": "/srv/ollama", "HF_HOME": "/srv/hf"}, home)
    assert ("Ollama", Path("/srv/ollama")) in moved and ("Hugging Face cache", Path("/srv/hf/hub")) in moved
    assert ("Hugging Face cache", Path("/c")) in default_places({"HF_HUB_CACHE": "/c", "HF_HOME": "/x"}, home)


def test_models_command_lists_them_with_the_model_option(machine, monkeypatch, capsys):
    from lift_reader.cli import main

    monkeypatch.setattr("lift_reader.core.model.model_discovery.default_places", lambda *a, **k: machine)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "gemma3:270m (Ollama, gguf, gemma3" in out and "can memorize" in out
    assert "someone/Rwkv-GGUF:Q4_K_M" in out and "not usable here: transformers cannot load rwkv6" in out
    assert "lift-reader --model " in out and out.count("--model") == 3
