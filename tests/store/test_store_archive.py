from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file

from lift_reader.errors import AdapterError, AdapterMismatchError, BadInputError, NotFoundError, UnsafeArchiveError
from lift_reader.store.adapters import read_meta
from lift_reader.store.archive import _check_member_name, export_adapter, import_adapter

FINGERPRINT = "fp-gemma-0123456789"


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "adapters"
    folder.mkdir()
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_import_round_trip(adapter_folder, tmp_path: Path, dest: Path) -> None:
    src = adapter_folder()
    (src / ".DS_Store").write_bytes(b"junk")  # hidden files stay home
    (src / "notes.xyz").write_text("unknown types stay home")
    zip_path = export_adapter(src, tmp_path / "out" / "moby.zip")
    assert [p.name for p in zip_path.parent.iterdir()] == ["moby.zip"]  # no temp file left
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert len({n.split("/")[0] for n in names}) == 1
    assert not any(n.endswith((".DS_Store", ".xyz")) for n in names)

    folder = import_adapter(zip_path, dest, expected_base_fingerprint=FINGERPRINT)
    assert folder.parent == dest
    assert list(dest.iterdir()) == [folder]  # no staging leftovers
    expected = {k: v for k, v in _files(src).items() if k not in (".DS_Store", "notes.xyz")}
    assert _files(folder) == expected
    assert read_meta(folder) == read_meta(src)
    a, b = load_file(str(src / "adapter_model.safetensors")), load_file(str(folder / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_import_defaults_to_adapters_dir(adapter_folder, tmp_path: Path, home: Path) -> None:
    folder = import_adapter(export_adapter(adapter_folder(), tmp_path / "a.zip"))
    assert folder.parent == home.resolve() / "adapters"


def test_name_clash_gets_a_suffix(adapter_folder, tmp_path: Path, dest: Path) -> None:
    zip_path = export_adapter(adapter_folder(), tmp_path / "a.zip")
    first = import_adapter(zip_path, dest)
    second = import_adapter(zip_path, dest)
    third = import_adapter(zip_path, dest, existing_names=["moby (3)"])
    assert read_meta(first).name == "Moby"
    assert read_meta(second).name == "Moby (2)"
    assert read_meta(third).name == "Moby (4)"
    assert len({first, second, third}) == 3
    # a name taken only in the library (not on disk) also counts
    other = tmp_path / "other"
    other.mkdir()
    assert read_meta(import_adapter(zip_path, other, existing_names=["MOBY"])).name == "Moby (2)"


def test_wrong_base_model_is_refused(adapter_folder, tmp_path: Path, dest: Path) -> None:
    zip_path = export_adapter(adapter_folder(), tmp_path / "a.zip")
    with pytest.raises(AdapterMismatchError) as info:
        import_adapter(zip_path, dest, expected_base_fingerprint="fp-qwen-999", expected_base_model="Qwen/Qwen3-0.6B")
    message = str(info.value)
    assert "google/gemma-3-270m" in message and "Qwen/Qwen3-0.6B" in message
    assert isinstance(info.value, BadInputError)
    assert list(dest.iterdir()) == []


def _evil_zip(tmp_path: Path, adapter_folder, add) -> Path:
    """A valid export with extra members written by ``add(zf)``."""
    good = export_adapter(adapter_folder(), tmp_path / "good.zip")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, src.read(info))
        add(zf, src.namelist()[0].split("/")[0])
    return bad


def _symlink(zf: zipfile.ZipFile, top: str) -> None:
    info = zipfile.ZipInfo(f"{top}/README.md")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, "/etc/passwd")


def _bomb(zf: zipfile.ZipFile, top: str) -> None:
    zf.writestr(f"{top}/big.safetensors", b"\0" * (32 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize(
    ("add", "match"),
    [
        (lambda zf, top: zf.writestr(f"{top}/../evil.json", "{}"), "outside its folder"),
        (lambda zf, top: zf.writestr("../evil.json", "{}"), "outside its folder"),
        (lambda zf, top: zf.writestr(zipfile.ZipInfo("/tmp/evil.json"), "{}"), "absolute path"),
        (lambda zf, top: zf.writestr("C:/evil.json", "{}"), "absolute path"),
        (lambda zf, top: zf.writestr(f"{top}\\..\\evil.json", "{}"), "backslashes"),
        (_symlink, "symbolic link"),
        (lambda zf, top: zf.writestr(f"{top}/adapter_model.bin", b"\x80\x04"), "pickle-based weights are refused"),
        (lambda zf, top: zf.writestr(f"{top}/run.py", "import os"), "file type not allowed"),
        (lambda zf, top: zf.writestr(f"{top}/lib.so", b"\x7fELF"), "file type not allowed"),
        (_bomb, "zip bomb"),
        (lambda zf, top: zf.writestr("second/x.json", "{}"), "exactly one top-level folder"),
        (lambda zf, top: zf.writestr("loose.json", "{}"), "single folder"),
        (lambda zf, top: zf.writestr(f"{top}/ADAPTER_CONFIG.json", "{}"), "twice"),
    ],
)
def test_unsafe_archives_are_refused_before_extraction(
    adapter_folder, tmp_path: Path, dest: Path, add, match: str
) -> None:
    bad = _evil_zip(tmp_path, adapter_folder, add)
    with pytest.raises(UnsafeArchiveError, match=match):
        import_adapter(bad, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.json").exists()


def test_not_a_zip(tmp_path: Path, dest: Path) -> None:
    fake = tmp_path / "adapter.zip"
    fake.write_bytes(b"PK\x03\x04 but really not a zip" * 10)
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        import_adapter(fake, dest)
    with pytest.raises(NotFoundError):
        import_adapter(tmp_path / "missing.zip", dest)
    assert list(dest.iterdir()) == []


def test_archive_without_weights_or_meta_leaves_nothing(adapter_folder, tmp_path: Path, dest: Path) -> None:
    src = adapter_folder()
    (src / "lift_adapter.json").unlink()
    # export needs our metadata; build the archive by hand to test import
    bad = tmp_path / "plain.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for p in src.iterdir():
            zf.write(p, f"plain/{p.name}")
    with pytest.raises(AdapterError, match="no lift_adapter.json"):
        import_adapter(bad, dest)
    assert list(dest.iterdir()) == []


def test_damaged_member_is_refused(adapter_folder, tmp_path: Path, dest: Path) -> None:
    src = adapter_folder()
    zip_path = export_adapter(src, tmp_path / "a.zip")
    data = bytearray(zip_path.read_bytes())
    tail = (src / "adapter_model.safetensors").read_bytes()[-32:]
    at = data.find(tail)  # weights are stored uncompressed, so their bytes are visible
    assert at > 0
    data[at + 5] ^= 0xFF  # flip one bit pattern inside a tensor: CRC no longer matches
    zip_path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchiveError, match="damaged"):
        import_adapter(zip_path, dest)
    assert list(dest.iterdir()) == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "..", ".", "", "b.json", "c.safetensors", "/", "\\", "C:", "x\x00"]),
                min_size=1, max_size=5))
def test_member_names_are_accepted_only_inside_the_folder(parts: list[str]) -> None:
    name = "/".join(parts)
    try:
        _check_member_name(name)
    except UnsafeArchiveError:
        return
    resolved = (Path("/staging") / name).resolve()
    assert resolved.is_relative_to(Path("/staging")) and resolved != Path("/staging").parent
    assert ".." not in PurePosixPath(name).parts and not name.startswith("/")
