"""The checks before Qt starts: no display, and missing X11 libraries named as packages (fake ldd, fake env)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lift_reader.gui.preflight import display_problem, missing_libraries, preflight, xcb_plugin, xcb_problem

PLUGIN = Path("/venv/PySide6/Qt/plugins/platforms/libqxcb.so")
LDD_TWO_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd3a1f0000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f5c1c000000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f5c1bf00000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f5c1be00000)
"""
LDD_ALL_FOUND = "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f5c1be00000)\n"


def test_no_display_on_linux_is_one_line_pointing_to_the_cli():
    line = display_problem({}, "linux")
    assert line is not None and "no display" in line and "lift-reader --help" in line and "\n" not in line
    for env in ({"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "offscreen"}):
        assert display_problem(env, "linux") is None, env
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None


def test_missing_libraries_come_from_ldd_in_order_without_repeats():
    assert missing_libraries(LDD_TWO_MISSING) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    assert missing_libraries(LDD_ALL_FOUND) == []


def test_missing_xcb_libraries_name_the_debian_and_fedora_packages():
    asked = []

    def fake_ldd(path: Path) -> str:
        asked.append(path)
        return LDD_TWO_MISSING

    line = xcb_problem({"DISPLAY": ":0"}, PLUGIN, fake_ldd)
    assert asked == [PLUGIN]  # the plugin's own dependency tree, not Qt's message
    assert "\n" not in line
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in line
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 (Debian/Ubuntu)" in line
    assert "sudo dnf install xcb-util-cursor xcb-util-wm (Fedora)" in line


def test_an_unknown_missing_library_is_still_named():
    line = xcb_problem({"DISPLAY": ":0"}, PLUGIN, lambda _: "\tlibxcb-cursor.so.0 => not found\n"
                       "\tlibweird.so.3 => not found\n")
    assert "apt install libxcb-cursor0 " in line and "providing libweird.so.3" in line


def test_xcb_is_not_checked_when_qt_will_not_use_it():
    def fail(_):
        raise AssertionError("ldd should not run")

    for env in ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
                {"QT_QPA_PLATFORM": "wayland"}):
        assert xcb_problem(env, PLUGIN, fail) is None, env
    assert xcb_problem({"DISPLAY": ":0"}, None, fail) is None  # no xcb plugin in this install
    assert xcb_problem({"DISPLAY": ":0"}, PLUGIN, lambda _: LDD_ALL_FOUND) is None
    assert xcb_problem({"QT_QPA_PLATFORM": "xcb"}, PLUGIN, lambda _: LDD_TWO_MISSING) is not None


def test_this_install_has_the_plugin_where_the_check_looks():
    if sys.platform.startswith("linux"):
        assert xcb_plugin() is not None and xcb_plugin().name == "libqxcb.so"
    assert preflight({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_gui_without_a_display_prints_one_line_and_exits_without_a_qt_abort(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["LIFT_READER_HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "lift_reader", "gui"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1, result.stderr  # not 134 (SIGABRT)
    assert result.stderr.startswith("error: no display") and len(result.stderr.strip().splitlines()) == 1
