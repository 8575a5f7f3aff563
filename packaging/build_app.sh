#!/usr/bin/env bash
# Build the one-folder desktop app with PyInstaller: dist/lift-reader/ (run it as dist/lift-reader/lift-reader).
#
#   packaging/build_app.sh            # from anywhere; uses the project's .venv (made by `make venv`)
#
# Installs PyInstaller into .venv when it is missing.  The app bundles the torch that .venv has:
# the CPU build from the Makefile, or the CUDA build a CUDA user installed (see docs/PACKAGING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-"pyinstaller>=6.10"}

if [ ! -x "$PY" ]; then
    echo "no $VENV: run 'make venv' first" >&2
    exit 1
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "installing $PYINSTALLER_SPEC into $VENV"
    "$PY" -m pip install --quiet "$PYINSTALLER_SPEC"
fi

started=$(date +%s)
# No --clean: the analysis cache in build/pyinstaller makes a rebuild after a code change quicker.
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/lift-reader.spec
took=$(( $(date +%s) - started ))

app=dist/lift-reader
echo "built $app in ${took} s with $("$PY" -m PyInstaller --version | tr -d '\n') on $("$PY" -c 'import torch; print("torch", torch.__version__)')"
echo "size: $(du -sh "$app" | cut -f1) ($(find "$app" -type f | wc -l) files); largest parts:"
{ du -sh "$app"/_internal/* 2>/dev/null | sort -rh | head -8 | sed "s/^/  /"; } || true  # head closes the pipe early
