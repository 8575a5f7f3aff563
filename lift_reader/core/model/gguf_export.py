"""A memorized book for llama.cpp, Ollama and LM Studio: the adapter as a GGUF LoRA file.

llama.cpp applies a LoRA at run time from a GGUF file of its own kind
(``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``)
whose tensors are named after the *base GGUF's* tensors plus ``.lora_a`` /
``.lora_b``: ``blk.3.attn_q.weight.lora_a``.  In ggml's dimension order a
base weight is ``[in, out]``; llama.cpp wants ``lora_a`` as ``[in, r]`` and
``lora_b`` as ``[r, out]``, which are exactly peft's ``lora_A`` (r x in) and
``lora_B`` (out x r) written as numpy arrays.  Names come from the ``gguf``
package's own map (``get_tensor_name_map``), and every tensor is checked
against the base GGUF's shapes before anything is written.

Where llama.cpp's converter reorders a base weight, the LoRA must follow:
for ``llama`` it permutes the rows of q and k (rotary halves interleaved), so
the rows of ``lora_b`` get the same permutation.  Architectures whose layout
we have not checked are refused rather than exported wrong.

No torch here (numpy and safetensors only): the GUI runs this beside the model.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lift_reader.errors import BadInputError
from lift_reader.store.adapters import CONFIG_FILE, WEIGHTS_FILE, AdapterMeta, folder_slug, read_meta
from lift_reader.store.atomic import atomic_write_text

LORA_SUFFIX = "-lora.gguf"
# Architectures whose GGUF layout we checked against llama.cpp's converter (convert_hf_to_gguf.py):
# the value names the projections whose rows it permutes for rotary embeddings (none for most).
CHECKED_LAYOUTS: dict[str, tuple[str, ...]] = {
    "llama": ("attn_q", "attn_k"),
    "gemma": (),
    "gemma2": (),
    "gemma3": (),
    "qwen2": (),
    "qwen3": (),
}
# peft features llama.cpp's LoRA cannot express: (config key, what it means).
_UNSUPPORTED_CONFIG = (
    ("use_dora", "DoRA (weight-decomposed LoRA)"),
    ("alpha_pattern", "a LoRA alpha per layer"),
    ("modules_to_save", "fully trained copies of layers (modules_to_save)"),
    ("trainable_token_indices", "trained token embeddings"),
    ("lora_bias", "LoRA biases"),
    ("fan_in_fan_out", "transposed (Conv1D) weights"),
)
_LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")


@dataclass(frozen=True)
class BaseGGUF:
    """What the export needs to know of the base model's GGUF file."""

    path: Path
    architecture: str
    name: str
    kind: str  # general.type: "model", or "adapter" for a LoRA file
    block_count: int
    head_count: int
    head_count_kv: int
    shapes: dict[str, tuple[int, ...]]  # tensor name -> ggml dims (ne): [in, out] for a weight
    chat_template: str | None

    @classmethod
    def read(cls, path: Path) -> BaseGGUF:
        from gguf import GGUFReader

        try:
            reader = GGUFReader(path)
        except Exception as err:  # not a GGUF, truncated: gguf raises several kinds
            raise BadInputError(f"{path} is not a readable GGUF file ({err})") from err

        def field(key: str, default=None):
            found = reader.fields.get(key)
            return default if found is None else found.contents()

        arch = str(field("general.architecture", ""))
        heads = field(f"{arch}.attention.head_count", 0)
        return cls(
            path=Path(path),
            architecture=arch,
            name=str(field("general.name", Path(path).stem)),
            kind=str(field("general.type", "model")),
            block_count=int(field(f"{arch}.block_count", 0)),
            head_count=int(heads if np.isscalar(heads) else max(heads)),
            head_count_kv=int(np.max(field(f"{arch}.attention.head_count_kv", heads))),
            shapes={t.name: tuple(int(d) for d in t.shape) for t in reader.tensors},
            chat_template=field("tokenizer.chat_template"),
        )


@dataclass(frozen=True)
class GGUFExport:
    """The files one export wrote."""

    folder: Path
    lora: Path
    modelfile: Path
    readme: Path
    base: Path
    tensors: int


def base_gguf_for(meta: AdapterMeta) -> Path:
    """The GGUF file of the base model an adapter was trained on, or a one-line refusal."""
    from lift_reader.core.model.model_source import EMBEDDED_LABEL, embedded_gguf_file

    recorded = meta.base_model_id
    if recorded == EMBEDDED_LABEL:
        return embedded_gguf_file()
    if _is_gguf_file(Path(recorded)):  # --model FILE.gguf records the resolved path (an Ollama blob has no suffix)
        return Path(recorded)
    if recorded.lower().endswith(".gguf"):
        raise BadInputError(f"the base model of {meta.name!r}, {recorded}, is no longer there")
    raise BadInputError(f"{meta.name!r} was trained on {recorded}, which has no GGUF form here: llama.cpp and "
                        "Ollama need the base model as a .gguf file (memorize with --model FILE.gguf)")


def _is_gguf_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:  # missing, a folder, unreadable
        return False


def _refuse_unsupported(config: dict, name: str) -> None:
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise BadInputError(f"{name!r} is a {config.get('peft_type')} adapter; llama.cpp applies only LoRA")
    for key, what in _UNSUPPORTED_CONFIG:
        if config.get(key):
            raise BadInputError(f"{name!r} uses {what}, which llama.cpp cannot apply")


def lora_alpha_for_llama_cpp(config: dict) -> float:
    """The alpha that gives llama.cpp's scale (alpha / r) the scale peft used.

    rsLoRA scales by alpha / sqrt(r): the same scale needs alpha * sqrt(r) under llama.cpp's rule.
    """
    alpha = float(config.get("lora_alpha", 8))
    return alpha * math.sqrt(float(config.get("r", 8))) if config.get("use_rslora") else alpha


def permute_rotary_rows(rows: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's row order for q/k of ``llama`` models: each head's two rotary halves interleaved.

    Rows are (head, half, i); llama.cpp wants (head, i, half).  Applied to lora_B (out x r),
    B' A = P (B A) = P W_delta, the same reordering the converter gave the base weight.
    """
    out, cols = rows.shape
    return rows.reshape(heads, 2, out // heads // 2, cols).swapaxes(1, 2).reshape(out, cols)


def lora_tensors(adapter_folder: Path, base: BaseGGUF, adapter_name: str) -> list[tuple[str, np.ndarray]]:
    """(GGUF tensor name, float32 array) for every LoRA matrix, checked against the base GGUF."""
    from gguf import MODEL_ARCH_NAMES, get_tensor_name_map
    from safetensors.numpy import load_file

    if base.architecture not in CHECKED_LAYOUTS:
        raise BadInputError(f"LIFT Reader cannot yet write LoRA files for {base.architecture or 'unknown'} models "
                            f"(it knows {', '.join(sorted(CHECKED_LAYOUTS))})")
    arch = next((a for a, n in MODEL_ARCH_NAMES.items() if n == base.architecture), None)
    if arch is None:
        raise BadInputError(f"the installed gguf package does not know {base.architecture} models: "
                            "pip install --upgrade gguf")
    names = get_tensor_name_map(arch, base.block_count)
    permuted = CHECKED_LAYOUTS[base.architecture]
    weights = load_file(str(adapter_folder / WEIGHTS_FILE))
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        match = _LORA_KEY.match(key)
        if match is None:
            what = "token embeddings" if "embedding" in key else key
            raise BadInputError(f"{adapter_name!r} trains {what}, which llama.cpp's LoRA files cannot carry")
        module = match["module"]
        gguf_name = names.get_name(module)
        if gguf_name is None or f"{gguf_name}.weight" not in base.shapes:
            raise BadInputError(f"{adapter_name!r} adapts {module}, which the base GGUF "
                                f"({base.path.name}) has no weight for: llama.cpp cannot apply it")
        pairs.setdefault(f"{gguf_name}.weight", {})[match["part"]] = np.asarray(value, dtype=np.float32)
    tensors: list[tuple[str, np.ndarray]] = []
    for target, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            missing = "".join(sorted({"A", "B"} - set(pair)))
            raise BadInputError(f"{adapter_name!r} is damaged: {target} has no lora_{missing}")
        a, b = pair["A"], pair["B"]
        base_in, base_out = base.shapes[target][:2]
        if a.shape[1] != base_in or b.shape[0] != base_out or a.shape[0] != b.shape[1]:
            raise BadInputError(f"{adapter_name!r} does not fit {base.path.name}: {target} is "
                                f"[{base_in}, {base_out}] there, the LoRA is {b.shape[0]}x{b.shape[1]} @ "
                                f"{a.shape[0]}x{a.shape[1]}")
        role = target.split(".")[-2]  # blk.3.attn_q.weight -> attn_q
        if role in permuted:
            heads = base.head_count if role == "attn_q" else base.head_count_kv
            b = permute_rotary_rows(b, heads)
        tensors += [(f"{target}.lora_a", np.ascontiguousarray(a)), (f"{target}.lora_b", np.ascontiguousarray(b))]
    if not tensors:
        raise BadInputError(f"{adapter_name!r} holds no LoRA weights")
    return tensors


def write_lora_gguf(adapter_folder: Path, base: BaseGGUF, dest: Path, adapter_name: str) -> int:
    """Write ``dest`` as a llama.cpp LoRA adapter for ``base``; returns the number of tensors."""
    from gguf import GGUFType, GGUFWriter, Keys

    config = json.loads((adapter_folder / CONFIG_FILE).read_text(encoding="utf-8"))
    _refuse_unsupported(config, adapter_name)
    tensors = lora_tensors(adapter_folder, base, adapter_name)  # every check before the first byte
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.partial")
    writer = GGUFWriter(staged, base.architecture)
    writer.add_type(GGUFType.ADAPTER)
    writer.add_string(Keys.Adapter.TYPE, "lora")
    writer.add_float32(Keys.Adapter.LORA_ALPHA, lora_alpha_for_llama_cpp(config))
    writer.add_name(adapter_name)
    for name, array in tensors:
        writer.add_tensor(name, array)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        staged.replace(dest)
    except BaseException:
        writer.close()
        staged.unlink(missing_ok=True)
        raise
    return len(tensors)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def modelfile_text(meta: AdapterMeta, base: BaseGGUF, lora_name: str) -> str:
    """An Ollama Modelfile: the base GGUF, the LoRA, and the prompt the app asks in."""
    title = meta.book_title or meta.name
    lines = [f'# "{title}" memorized by LIFT Reader (adapter {meta.name!r})', f"FROM {base.path}",
             f"ADAPTER ./{lora_name}"]
    if base.chat_template:  # Ollama takes the chat format from the GGUF; the app's system message:
        lines.append(f'SYSTEM """You answer questions about the book "{title}". '
                     'Answer briefly, from what you know of it."""')
    else:  # a base model: the app's completion prompt (core/ask/prompts.py), without book excerpts
        lines += [f'TEMPLATE """Book: {title}', "", "Question: {{ .Prompt }}", 'Answer:"""',
                  'PARAMETER stop "Question:"', 'PARAMETER stop "Answer:"']
    lines.append("PARAMETER temperature 0")  # the app answers greedily
    return "\n".join(lines) + "\n"


def readme_text(meta: AdapterMeta, base: BaseGGUF, lora_name: str, model_name: str, alpha: float) -> str:
    title = meta.book_title or meta.name
    prompt = f"Book: {title}\\n\\nQuestion: Who is the book about?\\nAnswer:"
    if base.chat_template:
        asked = "through the model's chat template, with a system message naming the book"
    else:
        asked = ("with a plain completion prompt: `Book: <title>`, a blank line, `Question: ...`, a new line "
                 "and `Answer:`")
    return f"""# {meta.name}: "{title}" for llama.cpp, Ollama and LM Studio

`{lora_name}` is the LoRA adapter LIFT Reader trained on this book, written as a llama.cpp
adapter file (GGUF, LoRA alpha {alpha:g}). It works only on top of the base model it was
trained on:

- base model: {meta.base_model_id} ({base.name}, architecture {base.architecture})
- base GGUF: `{base.path}`

LIFT Reader asks it {asked}; it decodes greedily and stops at the next "Question:",
"Answer:" or blank line. The Modelfile beside this file sets the same for Ollama.

## llama.cpp

    llama-cli -m "{base.path}" --lora {lora_name} -no-cnv --temp 0 -n 100 -e -p "{prompt}"
    llama-server -m "{base.path}" --lora {lora_name}

## Ollama

    ollama create {model_name} -f Modelfile
    ollama run {model_name} "Who is the book about?"

## LM Studio

LM Studio runs GGUF models with llama.cpp. Where your version cannot load a LoRA adapter file,
run llama-server as above: it serves the same OpenAI-compatible API that LM Studio's clients use.
"""


def export_gguf_adapter(adapter_folder: Path | str, out_dir: Path | str, *, base_gguf: Path | None = None) -> GGUFExport:
    """Write the LoRA GGUF, an Ollama Modelfile and a README into ``out_dir``.

    Refuses (BadInputError, one line) a base model without a GGUF file and adapters llama.cpp
    cannot apply, before writing anything.
    """
    folder = Path(adapter_folder)
    meta = read_meta(folder)
    base = BaseGGUF.read(Path(base_gguf) if base_gguf is not None else base_gguf_for(meta))
    out = Path(out_dir)
    slug = folder_slug(meta.name)
    lora = out / f"{slug}{LORA_SUFFIX}"
    count = write_lora_gguf(folder, base, lora, meta.name)
    model_name = re.sub(r"-[0-9a-f]{8}$", "", slug) or "book"
    modelfile = out / "Modelfile"
    atomic_write_text(modelfile, modelfile_text(meta, base, lora.name))
    readme = out / "README.md"
    alpha = lora_alpha_for_llama_cpp(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    atomic_write_text(readme, readme_text(meta, base, lora.name, model_name, alpha))
    return GGUFExport(folder=out, lora=lora, modelfile=modelfile, readme=readme, base=base.path, tensors=count)
