"""Build the sdist and wheel, install the wheel into a fresh virtual environment, run it there.

    .venv/bin/python packaging/check_wheel.py [--venv build/wheel-venv] [--keep]

1. ``python -m build`` (isolated: setuptools comes from the package index) writes
   dist/lift_reader-VERSION.tar.gz and dist/lift_reader-VERSION-py3-none-any.whl; the wheel must
   carry the sample story, its questions and the icons inside the package.
2. A new venv (made with the interpreter this script runs on, outside any other venv) gets
   ``torch==TORCH`` first (default 2.13.0, the CPU build that lies on our machines' disk; with
   torch unpinned pip would take a CUDA build of several GB), then ``WHEEL[gui]``.
3. In that venv, with a fresh data folder and the hub switched off: ``lift-reader --version``,
   ``lift-reader doctor``, the sample story found inside site-packages, and
   ``lift-reader gui --screenshot`` offscreen (the desktop app from the wheel, exiting by itself).

Prints each step with its time and exits 1 if any failed.  The venv is removed afterwards unless
--keep.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What the app reads from lift_reader/resources at run time (lift_reader/resources.py, gui/app.py).
WHEEL_MUST_HOLD = [
    "lift_reader/resources/samples/the-lighthouse-keepers-ledger.txt",
    "lift_reader/resources/samples/the-lighthouse-keepers-ledger.questions.json",
    "lift_reader/resources/icons/hicolor/scalable/apps/io.github.liftreader.LiftReader.svg",
    "lift_reader/resources/icons/hicolor/256x256/apps/io.github.liftreader.LiftReader.png",
    "lift_reader/cli/entry.py",
    "lift_reader/gui/app.py",
]


def step(name: str, command: list[str], *, env: dict | None = None, timeout: float = 1800,
         cwd: Path = REPO) -> subprocess.CompletedProcess | None:
    started = time.perf_counter()
    print(f"...   {name}: {' '.join(command)}", flush=True)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        print(f"FAIL  {name}: no exit within {timeout:.0f} s")
        return None
    took = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        print(f"FAIL  {name}: exit code {done.returncode} after {took:.1f} s\n{tail}")
        return None
    print(f"ok    {name}  ({took:.1f} s)", flush=True)
    return done


def base_python() -> str:
    """The interpreter beneath the venv this script may run in, so the new venv is independent."""
    return getattr(sys, "_base_executable", None) or sys.executable


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=REPO / "build" / "wheel-venv")
    parser.add_argument("--torch", default="torch==2.13.0", help="what to install as torch first")
    parser.add_argument("--keep", action="store_true", help="keep the venv afterwards")
    parser.add_argument("--screenshots", type=Path, help="keep the screenshot in this folder")
    args = parser.parse_args(argv)
    failures: list[str] = []
    outdir = REPO / "dist"
    for old in outdir.glob("lift_reader-*"):
        old.unlink()

    if step("build sdist and wheel", [sys.executable, "-m", "build", "--outdir", str(outdir), str(REPO)]) is None:
        return 1
    wheels = sorted(outdir.glob("lift_reader-*.whl"))
    sdists = sorted(outdir.glob("lift_reader-*.tar.gz"))
    wheel = wheels[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    sizes = f"wheel {wheel.name}: {wheel.stat().st_size / 1024:,.0f} KiB, {len(names)} files"
    if sdists:
        sizes += f"; sdist {sdists[-1].name}: {sdists[-1].stat().st_size / 1024:,.0f} KiB"
    print("      " + sizes)
    if missing:
        failures.append("wheel contents")
        print(f"FAIL  wheel contents: missing {', '.join(missing)}")
    else:
        print(f"ok    wheel contents  ({len(WHEEL_MUST_HOLD)} required files present)")

    shutil.rmtree(args.venv, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    py = args.venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    cli = args.venv / ("Scripts/lift-reader.exe" if os.name == "nt" else "bin/lift-reader")
    ok = (step("fresh venv", [base_python(), "-m", "venv", str(args.venv)], env=env)
          and step(f"pip install {args.torch}", [str(py), "-m", "pip", "install", "--quiet", args.torch], env=env)
          and step("pip install the wheel with [gui]",
                   [str(py), "-m", "pip", "install", "--quiet", f"{wheel}[gui]"], env=env))
    if not ok:
        return 1
    print(f"      venv size: {folder_mib(args.venv):,.0f} MiB")

    with tempfile.TemporaryDirectory(prefix="lift-wheel-") as tmp:
        # Run from an empty folder: from the checkout, `python -c` would import its lift_reader.
        run = functools.partial(step, cwd=Path(tmp))
        run_env = dict(env, LIFT_READER_HOME=str(Path(tmp) / "home"), HF_HUB_OFFLINE="1",
                       HF_HOME=str(Path(tmp) / "hf-home"), QT_QPA_PLATFORM="offscreen")
        done = run("lift-reader --version", [str(cli), "--version"], env=run_env)
        if done:
            print("      " + done.stdout.strip())
        else:
            failures.append("--version")
        done = run("lift-reader doctor", [str(cli), "doctor"], env=run_env, timeout=300)
        if done:
            print("\n".join("      " + line for line in done.stdout.rstrip().splitlines()))
        else:
            failures.append("doctor")
        probe = ("import sys; from lift_reader.resources import sample_story; p = sample_story(); print(p); "
                 "sys.exit(0 if p.is_file() and 'site-packages' in p.parts else 1)")
        done = run("sample story from site-packages", [str(py), "-c", probe], env=run_env)
        if done:
            story_path = done.stdout.strip()
            print("      " + story_path)
        else:
            failures.append("sample story")
            story_path = str(REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt")
        shot = (args.screenshots or Path(tmp)) / "wheel-gui.png"
        done = run("lift-reader gui --screenshot (offscreen)",
                   [str(cli), "gui", "--open", story_path, "--screenshot", str(shot)], env=run_env, timeout=300)
        if done and shot.is_file():
            print(f"      screenshot {shot.stat().st_size:,} bytes")
        else:
            failures.append("gui --screenshot")
    if not args.keep:
        shutil.rmtree(args.venv, ignore_errors=True)
    print("wheel check: " + ("passed" if not failures else f"FAILED ({', '.join(failures)})"))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
