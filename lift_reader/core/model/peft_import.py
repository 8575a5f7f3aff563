"""Importing a peft LoRA folder made elsewhere (another trainer, a notebook) for the loaded base model.

A LIFT Reader adapter records the fingerprint of its base model, and an import
refuses another base (store/archive.py).  A plain peft folder records only a
base model *name*, which may be a hub id, a path on another machine or
nothing; so the check here is on the weights: every LoRA matrix must attach to
a linear layer of the loaded model with the same input and output sizes.  An
adapter that passes gets our metadata (the loaded model as its base, the book
it is said to have memorized) and then goes through the ordinary import, with
its fingerprint check, name de-duplication and library record.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from lift_reader.errors import AdapterMismatchError, BadInputError
from lift_reader.store.adapters import (
    CONFIG_FILE, META_FILE, WEIGHTS_FILE, AdapterMeta, validate_adapter_folder, write_meta,
)
from lift_reader.store.archive import export_adapter
from lift_reader.store.records import ADAPTER_NAME_MAX

_LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")


def lora_shapes(folder: Path) -> dict[str, dict[str, tuple[int, ...]]]:
    """module path -> {"A": shape, "B": shape}, read from the safetensors header (no weights loaded)."""
    from safetensors import safe_open

    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    with safe_open(str(folder / WEIGHTS_FILE), framework="numpy") as weights:
        for key in weights.keys():
            match = _LORA_KEY.match(key)
            if match is None:
                raise BadInputError(f"{folder.name}: {key} is not a LoRA matrix of a linear layer; "
                                    "only such adapters can be checked against the base model")
            shapes.setdefault(match["module"], {})[match["part"]] = tuple(weights.get_slice(key).get_shape())
    if not shapes:
        raise BadInputError(f"{folder.name} holds no LoRA weights")
    return shapes


def check_fits_model(folder: Path, model, model_label: str) -> None:
    """Refuse an adapter any of whose LoRA matrices does not fit a linear layer of ``model``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for module_path, pair in lora_shapes(folder).items():
        try:
            module = base.get_submodule(module_path)
        except AttributeError:
            raise AdapterMismatchError(f"{folder.name} was made for another base model: {model_label} has no "
                                       f"layer {module_path}") from None
        layer = getattr(module, "base_layer", module)  # a layer another adapter already wraps
        sizes = (getattr(layer, "in_features", None), getattr(layer, "out_features", None))
        a, b = pair.get("A"), pair.get("B")
        if a is None or b is None or a[1] != sizes[0] or b[0] != sizes[1] or a[0] != b[1]:
            raise AdapterMismatchError(
                f"{folder.name} was made for another base model: its LoRA on {module_path} is {a} and {b}, "
                f"the layer of {model_label} takes {sizes[0]} and gives {sizes[1]}")


def peft_folder_as_archive(folder: Path, lm, book_hash: str, book_title: str, name: str | None,
                           work: Path) -> Path:
    """A .zip in ``work`` that the ordinary import takes: ``folder``'s adapter with our metadata.

    ``lm`` is the loaded model (a LoadedModel); the adapter must fit it (check_fits_model).
    """
    validate_adapter_folder(folder)  # safetensors only: pickle-based weights are refused
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    if str(config.get("peft_type", "")).upper() != "LORA":
        raise BadInputError(f"{folder.name} is a {config.get('peft_type') or 'non-LoRA'} adapter; only LoRA is "
                            "imported")
    check_fits_model(folder, lm.model, lm.identity.label)
    staged = work / "adapter"
    staged.mkdir()
    for file in (CONFIG_FILE, WEIGHTS_FILE):
        shutil.copy2(folder / file, staged / file)
    base = {**lm.identity.as_dict(), "made_for": str(config.get("base_model_name_or_path") or "")}
    # No training settings: an adapter made elsewhere must never pass for a run of our own recipe.
    meta = AdapterMeta(name=(name or folder.name)[:ADAPTER_NAME_MAX].strip() or "imported adapter",
                       base_model=base, book_hash=book_hash, book_title=book_title)
    write_meta(staged, meta)
    return export_adapter(staged, work / "adapter.zip")


def import_adapter_folder(ws, folder: Path, *, book: str | None = None, name: str | None = None):
    """Import an adapter folder: one of ours as it is, a plain peft one for the book ``book``."""
    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="lift-import-") as tmp:
        if (folder / META_FILE).is_file():  # an unpacked LIFT Reader adapter: its metadata says it all
            return ws.import_adapter(export_adapter(folder, Path(tmp) / "adapter.zip"))
        if book is None:
            raise BadInputError(f"{folder.name} is a plain peft adapter, which does not say which book it "
                                "memorized: pass --book BOOK")
        record = ws.find_book(book)
        archive = peft_folder_as_archive(folder, ws.lm, record.content_hash, record.title, name, Path(tmp))
        return ws.import_adapter(archive)
