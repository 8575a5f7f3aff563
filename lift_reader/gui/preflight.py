"""Checks before Qt starts: a display to show the window on, and the X11 libraries Qt's xcb plugin needs.

Without them Qt aborts the process (exit 134) with a message that names the
wrong package as often as the right one ("xcb-cursor0 or libxcb-cursor0 is
needed" when libxcb-icccm4 was missing).  Here the plugin's own missing
shared objects (``ldd``) say which libraries are absent, and a table turns
them into the Debian/Ubuntu and Fedora packages.  Nothing here imports Qt.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# shared object -> (Debian/Ubuntu package, Fedora package), for what the xcb plugin links to.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}
CLI_HINT = "the command line works without one: lift-reader --help"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def display_problem(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """One line when there is no display to open a window on (Linux and other X11/Wayland systems)."""
    if env.get("QT_QPA_PLATFORM", "").strip():  # offscreen, vnc, an explicit xcb/wayland: Qt was told
        return None
    if platform.startswith(("win", "darwin", "cygwin")):
        return None
    if env.get("DISPLAY", "").strip() or env.get("WAYLAND_DISPLAY", "").strip():
        return None
    return f"no display: the desktop app needs a graphical session (DISPLAY or WAYLAND_DISPLAY is not set); {CLI_HINT}"


def missing_libraries(ldd_output: str) -> list[str]:
    """The shared objects ``ldd`` reports as not found, in order, without repeats."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def packages_line(missing: list[str]) -> str:
    """One line naming the missing libraries and the packages that provide them."""
    debian = list(dict.fromkeys(PACKAGES[lib][0] for lib in missing if lib in PACKAGES))
    fedora = list(dict.fromkeys(PACKAGES[lib][1] for lib in missing if lib in PACKAGES))
    unknown = [lib for lib in missing if lib not in PACKAGES]
    line = f"the desktop app cannot start: missing system libraries {', '.join(missing)}"
    if debian:
        line += (f"; install them with: sudo apt install {' '.join(debian)} (Debian/Ubuntu) "
                 f"or sudo dnf install {' '.join(fedora)} (Fedora)")
    if unknown:
        line += f"; also install the package{'s' if len(unknown) > 1 else ''} providing {', '.join(unknown)}"
    return line + f"; {CLI_HINT}"


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin (``libqxcb.so``), if this install has one."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    for candidate in (root / "Qt" / "plugins" / "platforms" / "libqxcb.so",
                      root / "plugins" / "platforms" / "libqxcb.so"):
        if candidate.is_file():
            return candidate
    return None


def run_ldd(path: Path) -> str:
    """``ldd``'s report for ``path`` (the whole dependency tree), or '' when ldd cannot run."""
    try:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def xcb_problem(env: Mapping[str, str], plugin: Path | None, ldd: Callable[[Path], str] = run_ldd) -> str | None:
    """One line when Qt would use the xcb plugin and some library it links to is missing."""
    platform = env.get("QT_QPA_PLATFORM", "").strip()
    if plugin is None or (platform and not platform.startswith("xcb")):
        return None
    if not platform and (env.get("WAYLAND_DISPLAY", "").strip() or not env.get("DISPLAY", "").strip()):
        return None  # a Wayland session: Qt picks its wayland plugin, xcb is not needed
    missing = missing_libraries(ldd(plugin))
    return packages_line(missing) if missing else None


def preflight(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """The first reason the desktop app cannot open a window here, as one line, or None."""
    problem = display_problem(env, platform)
    if problem is None and platform.startswith("linux"):
        problem = xcb_problem(env, xcb_plugin())
    return problem
