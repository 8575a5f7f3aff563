"""Starting the desktop app: ``run_app()`` is what ``lift-reader gui`` calls.

The window appears first; the model loads afterwards in the model lane, with
a busy indicator, so nothing waits for torch.  ``--screenshot FILE`` opens
the book, waits for its page to be on screen, saves the window and quits
(used for docs and for checking the app on a machine without a display).

Developer switch: ``LIFT_READER_TINY_MODEL=1`` uses a tiny random model made
in-process instead of the configured one (answers are gibberish; it lets you
try every screen in seconds, and it is what the docs' memorize and chat
screenshots use).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QApplication

from lift_reader import __version__
from lift_reader.errors import LiftReaderError
from lift_reader.gui.errors import show_error
from lift_reader.gui.main_window import MainWindow
from lift_reader.gui.preferences import Preferences
from lift_reader.gui.screenshot import take_screenshot
from lift_reader.gui.stop_signals import install_stop_signals
from lift_reader.gui.theme import apply_theme
from lift_reader.resources import APP_ID, resources_dir
from lift_reader.store.paths import HOME_ENV, logs_dir, settings_dir
from lift_reader.workers.session import Session

log = logging.getLogger("lift_reader.gui")
TINY_MODEL_ENV = "LIFT_READER_TINY_MODEL"
LOG_FILE = "lift-reader.log"
SCREENSHOT_SIZE = (1360, 860)


def setup_logging() -> Path:
    """A rotating log file for the app's own messages (never book text or chats)."""
    path = logs_dir() / LOG_FILE
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2 * 2**20, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root = logging.getLogger("lift_reader")
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def app_icon() -> QIcon:
    """The app icon, from the PNGs in resources/icons (see packaging/render_icons.py)."""
    icon = QIcon()
    try:
        for png in (resources_dir() / "icons" / "hicolor").glob(f"*/apps/{APP_ID}.png"):
            icon.addFile(str(png))
    except LiftReaderError:  # no resources folder: the drawn fallback below
        pass
    return icon if not icon.isNull() else _drawn_icon()


def _drawn_icon() -> QIcon:
    """An open book on a rounded tile, for an install that lost its icon files."""
    pixmap = QPixmap(128, 128)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(58, 110, 220))
    painter.drawRoundedRect(QRectF(4, 4, 120, 120), 26, 26)
    painter.setBrush(QColor(255, 255, 255))
    for left in (True, False):
        page = QPainterPath()
        x_out, x_in = (22, 62) if left else (106, 66)
        page.moveTo(x_in, 44)
        page.cubicTo((x_in + x_out) / 2, 34, x_out, 36, x_out, 38)
        page.lineTo(x_out, 92)
        page.cubicTo(x_out, 90, (x_in + x_out) / 2, 88, x_in, 98)
        page.closeSubpath()
        painter.drawPath(page)
    painter.end()
    return QIcon(pixmap)


def _install_excepthook(window: MainWindow) -> None:
    """An exception escaping a slot is logged and shown, instead of only printed."""

    def _excepthook(kind, value, tb) -> None:
        log.error("unhandled exception", exc_info=(kind, value, tb))
        if isinstance(value, Exception):
            show_error(window, value)

    sys.excepthook = _excepthook


def _keep_settings_in_data_folder() -> None:
    """With LIFT_READER_HOME set everything lives there, the app's own settings too (portable
    installs, tests, screenshots); otherwise QSettings uses the platform's usual place."""
    if os.environ.get(HOME_ENV, "").strip():
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir()))


def create_app() -> QApplication:
    _keep_settings_in_data_folder()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LIFT Reader")
    app.setApplicationDisplayName("LIFT Reader")
    app.setOrganizationName("LIFT Reader")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # the .desktop file's name: docks match the window to it
    app.setWindowIcon(app_icon())
    apply_theme(app)
    return app


def run_app(open_path: str | None = None, screenshot: str | None = None, model_ref: str | None = None,
            *, workspace=None) -> int:
    """Show the main window; returns the exit code.  ``workspace``: an injected one (tests)."""
    app = create_app()
    log_path = setup_logging()
    log.info("LIFT Reader %s starting (log: %s)", __version__, log_path)
    prefs = Preferences()
    session = Session(workspace, model_ref=model_ref or prefs.model_ref, device=prefs.device,
                      precision=prefs.precision, tiny_model=os.environ.get(TINY_MODEL_ENV) == "1")
    window = MainWindow(session, prefs)
    _install_excepthook(window)
    wake = install_stop_signals(window, app)  # noqa: F841 - a logout pauses a memorize run with a checkpoint
    if screenshot:
        window.resize(*SCREENSHOT_SIZE)  # the same picture whatever layout was saved
    window.show()
    if screenshot:
        # A screenshot shows the book, not the model: nothing here waits for it to load.
        code = take_screenshot(app, window, Path(screenshot), open_path)
    else:
        QTimer.singleShot(0, session.ensure_model)
        QTimer.singleShot(0, lambda: window.open_path(open_path) if open_path else window.show_last_book())
        code = app.exec()
    session.shutdown()
    log.info("LIFT Reader stopped (exit code %d)", code)
    return code
