"""Models the reader already has: GGUF and safetensors models in the usual places on this machine.

- Ollama's store (``$OLLAMA_MODELS``, ``~/.ollama/models``, the Linux service's
  ``/usr/share/ollama/.ollama/models``): ``manifests/<registry>/<namespace>/<model>/<tag>``
  are JSON manifests whose layer of media type ``application/vnd.ollama.image.model``
  names the GGUF blob ``blobs/sha256-<hex>`` (a file without a .gguf suffix).
- LM Studio (``~/.lmstudio/models``, older ``~/.cache/lm-studio/models``):
  ``<publisher>/<repo>/<file>.gguf``.
- The Hugging Face hub cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``~/.cache/huggingface/hub``):
  ``models--<org>--<name>/snapshots/<revision>/`` with config.json and safetensors, or .gguf files.

Each model found says its size, architecture, whether transformers can load it
(GGUF: only the architectures transformers can dequantize; others are listed
with the reason, not offered) and the memorize estimate's peak memory for it on
this machine, from its shapes alone: nothing is loaded and nothing downloaded.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
# What the CPU process holds beside the tensors (Python, torch, tokenizer, library): estimate.py
# measured ~2.2 GB of RSS for ~0.9 GiB of tensors on the embedded model.
CPU_RUNTIME_BYTES = int(1.3 * 2**30)
_GGUF_TO_MODEL_TYPE = {"gemma3": "gemma3_text"}  # the transformers name, where it differs


@dataclass(frozen=True)
class FoundModel:
    source: str  # "Ollama", "LM Studio" or "Hugging Face cache"
    name: str  # as that tool names it: "gemma3:270m", "org/repo/file.gguf", "org/name"
    path: Path  # the GGUF file (an Ollama blob) or the model folder
    format: str  # "gguf" or "safetensors"
    size_bytes: int
    architecture: str
    loadable: bool
    why_not: str = ""  # when not loadable
    memory_bytes: int | None = None  # the memorize estimate's peak memory on this machine
    available_bytes: int | None = None  # memory free for it when it was found

    @property
    def fits(self) -> bool | None:
        if self.memory_bytes is None or self.available_bytes is None:
            return None
        return self.memory_bytes <= self.available_bytes

    def summary(self) -> str:
        text = f"{self.name} ({self.source}, {self.format}, {self.architecture}, {self.size_bytes / 2**30:.2f} GiB)"
        if not self.loadable:
            return f"{text}: not usable here: {self.why_not}"
        if self.memory_bytes is not None:
            verdict = {True: "can memorize", False: "too big to memorize", None: ""}[self.fits]
            text += f": memorizing needs about {self.memory_bytes / 2**30:.1f} GiB"
            if self.available_bytes is not None:
                text += f" of {self.available_bytes / 2**30:.1f} GiB free, {verdict}"
        return text


def default_places(env=None, home: Path | None = None) -> list[tuple[str, Path]]:
    """(source, folder) for every usual place, whether it exists or not."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    ollama = [Path(env["OLLAMA_MODELS"])] if env.get("OLLAMA_MODELS") else [
        home / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]
    lm_studio = [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]
    if env.get("HF_HUB_CACHE"):
        hub = [Path(env["HF_HUB_CACHE"])]
    else:
        hub = [Path(env["HF_HOME"]) / "hub" if env.get("HF_HOME") else home / ".cache" / "huggingface" / "hub"]
    return ([("Ollama", p) for p in ollama] + [("LM Studio", p) for p in lm_studio]
            + [("Hugging Face cache", p) for p in hub])


def discover(places: list[tuple[str, Path]] | None = None, *, with_memory: bool = True) -> list[FoundModel]:
    """Every model in ``places`` (default: the usual ones), usable ones first."""
    found: list[FoundModel] = []
    seen: set[Path] = set()
    for source, root in places if places is not None else default_places():
        if not root.is_dir():
            continue
        walker = {"Ollama": _ollama, "LM Studio": _lm_studio}.get(source, _hub_cache)
        for name, path in walker(root):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                model = _describe(source, name, path)
                if model is not None:
                    found.append(model)
    if with_memory:
        found = _with_memory(found)
    return sorted(found, key=lambda m: (not m.loadable, m.source, m.name.lower()))


# --- the places ----------------------------------------------------------------------


def _ollama(root: Path):
    manifests = root / "manifests"
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
        except (OSError, ValueError, AttributeError):
            continue
        digest = next((layer.get("digest", "") for layer in layers if layer.get("mediaType") == OLLAMA_MODEL_LAYER), "")
        blob = root / "blobs" / digest.replace(":", "-")
        if not digest or not blob.is_file():
            continue
        registry, *namespace, model, tag = manifest.relative_to(manifests).parts
        prefix = "" if namespace == ["library"] and registry == "registry.ollama.ai" else "/".join(namespace) + "/"
        yield f"{prefix}{model}:{tag}", blob


def _lm_studio(root: Path):
    for path in sorted(root.rglob("*.gguf")):
        if not path.name.lower().startswith("mmproj"):  # vision projectors are not language models
            yield path.relative_to(root).as_posix(), path
    for config in sorted(root.rglob("config.json")):
        if any(config.parent.glob("*.safetensors")):
            yield config.parent.relative_to(root).as_posix(), config.parent


def _hub_cache(root: Path):
    for repo in sorted(root.glob("models--*")):
        snapshot = _snapshot(repo)
        if snapshot is None:
            continue
        repo_id = repo.name.removeprefix("models--").replace("--", "/")
        if (snapshot / "config.json").is_file() and any(snapshot.glob("*.safetensors")):
            yield repo_id, snapshot
        for path in sorted(snapshot.glob("*.gguf")):
            if not path.name.lower().startswith("mmproj"):
                yield f"{repo_id}/{path.name}", path


def _snapshot(repo: Path) -> Path | None:
    """The revision refs/main names, else the newest snapshot."""
    ref = repo / "refs" / "main"
    if ref.is_file():
        candidate = repo / "snapshots" / ref.read_text(encoding="utf-8").strip()
        if candidate.is_dir():
            return candidate
    snapshots = [p for p in (repo / "snapshots").glob("*") if p.is_dir()]
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


# --- what a model is --------------------------------------------------------------------


def _describe(source: str, name: str, path: Path) -> FoundModel | None:
    if path.is_file():
        return _describe_gguf(source, name, path)
    return _describe_folder(source, name, path)


def _describe_gguf(source: str, name: str, path: Path) -> FoundModel | None:
    from lift_reader.core.model.gguf_export import BaseGGUF
    from lift_reader.errors import BadInputError

    try:
        info = BaseGGUF.read(path)
    except BadInputError:
        return None
    if info.kind != "model":  # LoRA adapters and the like are not models to choose
        return None
    supported = gguf_architectures_transformers_loads()
    return FoundModel(source, name, path, "gguf", path.stat().st_size, info.architecture or "unknown",
                      loadable=info.architecture in supported,
                      why_not="" if info.architecture in supported else
                      f"transformers cannot load {info.architecture or 'this'} models from GGUF")


def _describe_folder(source: str, name: str, folder: Path) -> FoundModel | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model_type = str(config.get("model_type", "unknown"))
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))  # follows the hub cache's links
    loadable = model_type in causal_lm_model_types()
    return FoundModel(source, name, folder, "safetensors", size, model_type, loadable=loadable,
                      why_not="" if loadable else f"transformers has no causal language model of type {model_type}")


def gguf_architectures_transformers_loads() -> frozenset[str]:
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return frozenset(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"}


def causal_lm_model_types() -> frozenset[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


# --- memory ------------------------------------------------------------------------------


def shape_summary(model: FoundModel) -> tuple[SimpleNamespace, int] | None:
    """(the config attributes the estimate reads, number of parameters), from the files' headers."""
    if model.format == "gguf":
        from lift_reader.core.model.gguf_export import BaseGGUF

        info = BaseGGUF.read(model.path)
        embed = info.shapes.get("token_embd.weight")
        up = info.shapes.get("blk.0.ffn_up.weight")
        if embed is None:
            return None
        config = SimpleNamespace(hidden_size=embed[0], vocab_size=embed[1], num_hidden_layers=info.block_count,
                                 intermediate_size=up[1] if up else 4 * embed[0],
                                 model_type=_GGUF_TO_MODEL_TYPE.get(info.architecture, info.architecture))
        return config, sum(math.prod(shape) for shape in info.shapes.values())
    config = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
    config = {**config.get("text_config", {}), **config}
    params = sum(_safetensors_params(p) for p in model.path.glob("*.safetensors"))
    return SimpleNamespace(**{k: v for k, v in config.items() if isinstance(k, str)}), params


def _safetensors_params(path: Path) -> int:
    with path.open("rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def _with_memory(found: list[FoundModel]) -> list[FoundModel]:
    """Fill in the memorize estimate's peak memory for each usable model, and what is free for it."""
    from dataclasses import replace

    from lift_reader.core.memorize.estimate import memory_parts_for
    from lift_reader.core.model.hardware import choose_placement
    from lift_reader.core.memorize.settings import MemorizeSettings

    placement = choose_placement()
    settings = MemorizeSettings.for_hardware(placement.device)
    weight_bytes = {"fp32": 4.0, "bf16": 2.0, "nf4": 0.56}[placement.precision]  # nf4: 4 bits + scales
    available = _free_bytes(placement.device)
    result = []
    for model in found:
        summary = shape_summary(model) if model.loadable else None
        if summary is None:
            result.append(model)
            continue
        config, params = summary
        parts = memory_parts_for(config, int(params * weight_bytes), placement.precision, settings)
        peak = parts.peak(settings.micro_batch_size)
        if placement.device == "cpu":
            peak += CPU_RUNTIME_BYTES
        result.append(replace(model, memory_bytes=peak, available_bytes=available))
    return result


def _free_bytes(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info()[0])
    import psutil

    return int(psutil.virtual_memory().available)


# --- choosing one ------------------------------------------------------------------------


def model_ref(model: FoundModel) -> str:
    """What --model (and Settings) takes for ``model``: its folder, or a .gguf path.

    An Ollama blob has no .gguf suffix; a link named after the model, in the data folder's
    models/, gives it one (the blob itself is neither copied nor changed).
    """
    if model.format != "gguf" or model.path.suffix.lower() == ".gguf":
        return str(model.path)
    from lift_reader.store.paths import linked_models_dir

    links = linked_models_dir()
    link = links / (re.sub(r"[^A-Za-z0-9._-]+", "-", model.name).strip("-") + ".gguf")
    if link.is_symlink() and link.resolve() != model.path.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(model.path.resolve())
    return str(link)
