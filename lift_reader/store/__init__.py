"""store/: the data folder, the library database, adapter folders (no Qt, no torch).

The names most callers need, re-exported::

    from lift_reader.store import Library, BookRecord, data_home, import_adapter
"""

from __future__ import annotations

from lift_reader.store.adapters import (
    AdapterMeta,
    adapter_folder_for,
    folder_size,
    read_meta,
    remove_adapter_folder,
    update_meta_name,
    validate_adapter_folder,
    write_meta,
)
from lift_reader.store.archive import export_adapter, import_adapter
from lift_reader.store.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    recover_folder,
    replace_folder,
    staging_folder,
)
from lift_reader.store.library import Library
from lift_reader.store.paths import (
    adapters_dir,
    checkpoints_dir,
    data_home,
    library_db_path,
    logs_dir,
    models_dir,
)
from lift_reader.store.records import AdapterRecord, BookRecord, ChatMessage, validate_adapter_name

__all__ = [
    "AdapterMeta",
    "AdapterRecord",
    "BookRecord",
    "ChatMessage",
    "Library",
    "adapter_folder_for",
    "adapters_dir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "checkpoints_dir",
    "data_home",
    "export_adapter",
    "folder_size",
    "import_adapter",
    "library_db_path",
    "logs_dir",
    "models_dir",
    "read_meta",
    "recover_folder",
    "remove_adapter_folder",
    "replace_folder",
    "staging_folder",
    "update_meta_name",
    "validate_adapter_folder",
    "validate_adapter_name",
    "write_meta",
]
