"""Light or dark, following the system: Fusion style with a palette per colour scheme.

Fusion draws the same on every platform and honours the palette completely,
so one dark palette is enough; Qt reports the system's choice through
``QStyleHints.colorScheme()`` and tells us when it changes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def _dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(37, 38, 41), QColor(28, 29, 31), QColor(225, 225, 228)
    accent = QColor(82, 139, 255)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(44, 45, 49),
        QPalette.ColorRole.ToolTipBase: window,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 136),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(50, 51, 55),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Link: QColor(120, 170, 255),
        QPalette.ColorRole.LinkVisited: QColor(170, 140, 255),
        QPalette.ColorRole.Highlight: accent,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Mid: QColor(60, 61, 66),
        QPalette.ColorRole.Dark: QColor(20, 20, 22),
        QPalette.ColorRole.Light: QColor(70, 71, 76),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    disabled = QColor(120, 120, 126)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication) -> None:
    """Use Fusion with the palette of the system's colour scheme, now and when it changes."""
    app.setStyle("Fusion")
    light = app.style().standardPalette()

    def _on_color_scheme_changed(*_args) -> None:
        app.setPalette(_dark_palette() if is_dark() else light)

    _on_color_scheme_changed()
    app.styleHints().colorSchemeChanged.connect(_on_color_scheme_changed)
