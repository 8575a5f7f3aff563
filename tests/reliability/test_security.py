"""Security checks: safetensors-only adapters, hostile archives, no remote code, no network, no book text in logs.

(The archive checks themselves are unit-tested in tests/store; here they are
driven through the Workspace and the CLI, the way a user meets them.)
"""

from __future__ import annotations

import ast
import copy
import json
import logging
import os
import pickle
import signal
import socket
import stat
import zipfile
from pathlib import Path

import pytest
from crash_worker import adapter_files
from rel_helpers import REPO, SAMPLE_STORY, assert_one_line_error, run_cli_in_process

from lift_reader.errors import AdapterError, BadInputError, ModelError
from lift_reader.store.adapters import validate_adapter_folder
from lift_reader.store.library import Library

PACKAGE = REPO / "lift_reader"
MARKER = Path("/tmp") / "lift-reader-pickle-ran"  # a hostile pickle would create this


# --- pickles never load -------------------------------------------------------------------------


class _Hostile:
    """Unpickling this runs code (creates MARKER): what a poisoned .bin file does."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


def _hostile_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"base_model.model.x.lora_A.weight": _Hostile()}))


@pytest.fixture
def tiny_lora_folder(tmp_path, tiny_lm):
    """A real LoRA adapter of the tiny model, saved by peft (safetensors) with our metadata."""
    from peft import LoraConfig, get_peft_model

    from lift_reader.store.adapters import AdapterMeta, write_meta

    model = get_peft_model(copy.deepcopy(tiny_lm.model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    folder = tmp_path / "lora"
    model.save_pretrained(folder)
    write_meta(folder, AdapterMeta(name="Ledger LoRA", base_model=tiny_lm.identity.as_dict(), book_hash="ab" * 32))
    return folder, model


def test_a_folder_with_pickled_weights_is_refused_everywhere(tmp_path, tiny_lora_folder):
    folder, model = tiny_lora_folder
    validate_adapter_folder(folder)  # the safetensors original is fine
    pickled = tmp_path / "pickled"
    model.save_pretrained(pickled, safe_serialization=False)
    assert (pickled / "adapter_model.bin").is_file()
    with pytest.raises(AdapterError, match="pickle-based weights are refused"):
        validate_adapter_folder(pickled)
    (folder / "extra.pt").write_bytes(b"\x80\x04")  # a pickle beside good safetensors is refused too
    with pytest.raises(AdapterError, match="pickle-based weights are refused"):
        validate_adapter_folder(folder)


def test_a_hostile_pickle_in_an_adapter_folder_never_runs(tmp_path, tiny_lm, tiny_lora_folder):
    """Even if an adapter folder in the library is tampered with after it was saved."""
    folder, _ = tiny_lora_folder
    (folder / "adapter_model.safetensors").unlink()
    _hostile_pickle(folder / "adapter_model.bin")
    MARKER.unlink(missing_ok=True)
    with pytest.raises((AdapterError, ModelError)):
        tiny_lm.attach_adapter("tampered", folder)
    assert not MARKER.exists(), "unpickling ran code"


def test_attaching_an_adapter_refuses_pickled_weights(tmp_path, tiny_lm, tiny_lora_folder):
    """The safetensors-only rule at load time, not only at import time."""
    _, model = tiny_lora_folder
    pickled = tmp_path / "pickled"
    model.save_pretrained(pickled, safe_serialization=False)
    with pytest.raises((AdapterError, ModelError), match="pickle"):
        tiny_lm.attach_adapter("pickled", pickled)


# --- hostile adapter archives, through the Workspace and the CLI ---------------------------------


def _archive(tmp_path: Path, name: str, members: dict[str, bytes | tuple[bytes, int]]) -> Path:
    """A zip whose members are (data) or (data, unix mode)."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, value in members.items():
            data, mode = value if isinstance(value, tuple) else (value, stat.S_IFREG | 0o644)
            info = zipfile.ZipInfo(member)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def _adapter_members(fingerprint: str, top: str = "ledger") -> dict[str, bytes]:
    files = adapter_files("archived", seed=5)
    meta = json.loads(files["lift_adapter.json"])
    meta["base_model"] = {"id": "tiny-llama", "fingerprint": fingerprint}
    files["lift_adapter.json"] = json.dumps(meta).encode()
    return {f"{top}/{name}": data for name, data in files.items()}


HOSTILE = {
    "path-traversal": ({"ledger/../../evil.json": b"{}"}, "outside its folder"),
    "absolute-path": ({"/tmp/evil.json": b"{}"}, "absolute path"),
    "symlink": ({"ledger/README.md": (b"/etc/passwd", stat.S_IFLNK | 0o777)}, "symbolic link"),
    "pickle": ({"ledger/adapter_model.bin": pickle.dumps({"w": 1})}, "pickle-based weights are refused"),
    "code": ({"ledger/setup.py": b"import os"}, "file type not allowed"),
    "zip-bomb": ({"ledger/huge.safetensors": b"\0" * (24 * 2**20)}, "zip bomb"),
    "device-file": ({"ledger/dev.json": (b"", stat.S_IFCHR | 0o644)}, "special file"),
}


@pytest.fixture
def workspace(tiny_lm, lift_home):
    from lift_reader.core.workspace import Workspace

    ws = Workspace(progress=lambda message: None)
    ws.use_model(tiny_lm)
    yield ws
    ws.library.close()


def _adapters_dir_entries(home: Path) -> list[str]:
    folder = home / "adapters"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("kind", [*HOSTILE, "wrong-base-model", "not-a-zip"])
def test_workspace_refuses_hostile_archives_and_writes_nothing(tmp_path, workspace, lift_home, kind):
    if kind == "wrong-base-model":
        archive, match = _archive(tmp_path, "a.zip", _adapter_members("some-other-model")), "trained on base model"
    elif kind == "not-a-zip":
        archive, match = tmp_path / "a.zip", "not a valid zip"
        archive.write_bytes(b"PK\x03\x04" + os.urandom(500))
    else:
        extra, match = HOSTILE[kind]
        archive = _archive(tmp_path, "a.zip", {**_adapter_members(workspace.lm.identity.fingerprint), **extra})
    before = _adapters_dir_entries(lift_home)
    with pytest.raises(BadInputError, match=match) as err:
        workspace.import_adapter(archive)
    assert "\n" not in str(err.value)
    assert _adapters_dir_entries(lift_home) == before, "the refused archive left files behind"
    assert workspace.library.list_adapters() == []
    assert not (tmp_path.parent / "evil.json").exists() and not Path("/tmp/evil.json").exists()


def test_workspace_imports_a_good_archive(tmp_path, workspace):
    """The same archive without the hostile member is accepted (the checks are not refusing everything)."""
    archive = _archive(tmp_path, "good.zip", _adapter_members(workspace.lm.identity.fingerprint))
    record = workspace.import_adapter(archive)
    assert record.name == "Ledger" and Path(record.path).is_dir()


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    return save_tiny_model_folder(tmp_path_factory.mktemp("tiny-model"), SAMPLE_STORY.read_text(encoding="utf-8"))


def test_cli_import_of_hostile_archives_exits_2(tmp_path, tiny_folder, lift_home, capsys, monkeypatch):
    from lift_reader.core.model.model_source import model_fingerprint

    fingerprint = model_fingerprint(tiny_folder)
    for kind in ("path-traversal", "symlink", "pickle", "zip-bomb"):
        extra, match = HOSTILE[kind]
        archive = _archive(tmp_path, f"{kind}.zip", {**_adapter_members(fingerprint), **extra})
        result = run_cli_in_process(["--model", str(tiny_folder), "adapters", "import", str(archive)], capsys,
                                    monkeypatch)
        assert_one_line_error(result.err, code=result.code)
        assert match in result.err
    wrong = _archive(tmp_path, "wrong.zip", _adapter_members("another-model"))
    result = run_cli_in_process(["--model", str(tiny_folder), "adapters", "import", str(wrong)], capsys, monkeypatch)
    assert_one_line_error(result.err, code=result.code)
    assert _adapters_dir_entries(lift_home) == []


# --- no remote code, no pickles, in the package source --------------------------------------------


def _calls(name: str):
    """(file, call node) for every call of ``X.name(...)`` or ``name(...)`` in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path, node


def _keyword(node: ast.Call, name: str):
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def test_trust_remote_code_is_never_on():
    calls = list(_calls("from_pretrained"))
    assert len(calls) >= 3  # the loaders exist and are found
    for path, node in calls:
        value = _keyword(node, "trust_remote_code")
        assert value is None or (isinstance(value, ast.Constant) and value.value is False), \
            f"{path.relative_to(REPO)}:{node.lineno} passes trust_remote_code={ast.unparse(value)}"
    # Nor through a kwargs dict or any other spelling.
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and key.value == "trust_remote_code":
                        assert isinstance(value, ast.Constant) and value.value is False, f"{path}:{node.lineno}"
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, f"{path}"


def test_every_load_of_a_tensor_file_refuses_pickles():
    for path, node in _calls("load"):
        func = node.func
        owner = getattr(getattr(func, "value", None), "id", None)
        where = f"{path.relative_to(REPO)}:{node.lineno}"
        if owner == "torch":
            value = _keyword(node, "weights_only")
            assert isinstance(value, ast.Constant) and value.value is True, f"{where}: torch.load without weights_only"
        if owner == "np":
            value = _keyword(node, "allow_pickle")
            assert isinstance(value, ast.Constant) and value.value is False, f"{where}: np.load may unpickle"
        assert owner != "pickle", f"{where}: pickle.load"


# --- no network ---------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection or look up a host is recorded and refused."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def refuse_connect(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network access attempted in a test")
        return real_connect(self, address, *args, **kwargs)

    def refuse_lookup(*args, **kwargs):
        attempts.append(args)
        raise OSError("name lookup attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    return attempts


# Installed in a child process through PYTHONPATH: records and refuses every network connection.
_GUARD = """
import os, socket
_real = socket.socket.connect
def _refuse(self, address, *args, **kwargs):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        with open(os.environ["LIFT_TEST_NETWORK_LOG"], "a") as fh:
            fh.write(repr(address) + "\\n")
        raise OSError("network access attempted")
    return _real(self, address, *args, **kwargs)
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
_lookup = socket.getaddrinfo
def _refuse_lookup(host, *args, **kwargs):
    with open(os.environ["LIFT_TEST_NETWORK_LOG"], "a") as fh:
        fh.write(repr(host) + "\\n")
    raise OSError("name lookup attempted")
socket.getaddrinfo = _refuse_lookup
"""


def test_hub_model_offline_is_a_clear_model_error_and_fetches_nothing(tmp_path, monkeypatch, no_network):
    from lift_reader.core.model.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE") as err:
        load_model("some-org/some-model", device="cpu")
    assert "\n" not in str(err.value)
    assert no_network == []
    assert not (tmp_path / "hf-home").exists() or not any((tmp_path / "hf-home").rglob("*.safetensors"))


def test_cli_with_an_offline_hub_model_is_one_line(tmp_path, monkeypatch, capsys, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    book = tmp_path / "book.txt"
    book.write_text("The Ledger\n\n" + "The keeper wrote. " * 50, encoding="utf-8")
    result = run_cli_in_process(["--model", "some-org/some-model", "ask", str(book), "Who?"], capsys, monkeypatch)
    assert_one_line_error(result.err, code=result.code, expected_code=1)
    assert "HF_HUB_OFFLINE" in result.err and no_network == []


# --- logs never hold the book's text or the chat -------------------------------------------------------

SECRET_SENTENCE = "Zebulon Quartermaine buried the brass astrolabe beneath the ninth juniper"
QUESTION = "Where did Zebulon Quartermaine bury the brass astrolabe?"


@pytest.fixture
def secret_book(tmp_path) -> Path:
    story = SAMPLE_STORY.read_text(encoding="utf-8")[:700]
    path = tmp_path / "secret-book.txt"
    path.write_text(f"{story}\n\n{SECRET_SENTENCE}, and told no one.\n\n{story[:300]}\n", encoding="utf-8")
    return path


def _leaks(text: str) -> list[str]:
    return [s for s in (SECRET_SENTENCE, QUESTION, "ninth juniper", "brass astrolabe beneath") if s in text]


def test_verbose_logs_hold_no_book_text_and_no_chat(secret_book, tiny_folder, lift_home, capsys, monkeypatch,
                                                    caplog):
    """memorize and ask with -v: no log record at INFO or above, and no file under logs/, quotes the book."""
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # memorize installs Ctrl-C handlers
    caplog.set_level(logging.INFO)
    model = ["--model", str(tiny_folder), "-v"]
    memorized = run_cli_in_process([*model, "memorize", str(secret_book), "--epochs", "1", "--segment-length", "64",
                                    "--checkpoint-every", "2", "--name", "secret"], capsys, monkeypatch)
    assert memorized.code == 0, memorized.err
    asked = run_cli_in_process([*model, "ask", str(secret_book), QUESTION, "--max-new-tokens", "4"], capsys,
                               monkeypatch)
    assert asked.code == 0, asked.err
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert _leaks(logged) == [], logged[:2000]
    assert _leaks(memorized.err + asked.err) == []  # progress and notices on stderr quote nothing either
    logs = lift_home / "logs"
    for path in (logs.rglob("*") if logs.exists() else []):
        if path.is_file():
            assert _leaks(path.read_text(encoding="utf-8", errors="replace")) == [], path
    # The chat itself is kept where it belongs: the library.
    with Library(lift_home / "library.sqlite3") as lib:
        messages = lib.list_messages(lib.list_books()[0].content_hash)
    assert messages[0].content == QUESTION


def test_verbose_ask_in_a_real_process_logs_no_book_text_and_uses_no_network(secret_book, tiny_folder, lift_home,
                                                                               tmp_path):
    """`lift-reader -v ask` as a user runs it, with the hub *not* switched off: a local model folder
    needs no network, and stderr quotes neither the book nor the question."""
    import subprocess
    import sys

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_GUARD, encoding="utf-8")
    network_log = tmp_path / "network.log"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(LIFT_READER_HOME=str(lift_home), PYTHONPATH=str(guard), LIFT_TEST_NETWORK_LOG=str(network_log))
    result = subprocess.run([sys.executable, "-m", "lift_reader", "--model", str(tiny_folder), "-v", "ask",
                             str(secret_book), QUESTION, "--mode", "icl", "--max-new-tokens", "4"],
                            capture_output=True, text=True, env=env, timeout=240, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert _leaks(result.stderr) == [], result.stderr[-2000:]
    assert not network_log.exists(), network_log.read_text()
    for path in (lift_home / "logs").rglob("*") if (lift_home / "logs").exists() else []:
        if path.is_file():
            assert _leaks(path.read_text(encoding="utf-8", errors="replace")) == [], path
