"""A live training-loss curve (pyqtgraph: cheap to update thousands of times).

Per-step losses jump around (each step sees one segment), so the raw curve is
drawn faint and a smoothed trend over it: an exponential moving average,
bias-corrected so that its first points are not pulled towards zero.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget


SMOOTHING = 0.9  # weight of the past in the trend line


class LossPlot(pg.PlotWidget):
    """Loss against optimizer step; ``add_point`` per step, ``set_curve`` for a saved run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._steps: list[float] = []
        self._losses: list[float] = []
        self._ema: list[float] = []  # uncorrected moving average after each point
        self.setMinimumHeight(120)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "step")
        self.setLabel("left", "loss")
        # Long runs have tens of thousands of steps: draw what the pixels can show.
        self.setDownsampling(auto=True, mode="peak")
        self.setClipToView(True)
        self._curve = self.plot([], [])
        self._trend = self.plot([], [])
        self._hint = QLabel("The loss curve appears here while a book is memorized.", self)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._apply_palette()
        self._show_points()

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for axis in ("bottom", "left"):
            self.getAxis(axis).setPen(text)
            self.getAxis(axis).setTextPen(text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        faint = QColor(accent)
        faint.setAlpha(70)
        self._curve.setPen(pg.mkPen(faint, width=1))
        self._trend.setPen(pg.mkPen(accent, width=2))
        muted = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self._hint.setStyleSheet(f"color: {muted.name()}")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "_hint"):  # resize events arrive during construction too
            self._hint.setGeometry(self.rect().adjusted(40, 0, -10, -30))

    def _show_points(self) -> None:
        self._curve.setData(self._steps, self._losses)
        trend = [m / (1 - SMOOTHING ** (i + 1)) for i, m in enumerate(self._ema)]
        self._trend.setData(self._steps, trend)
        empty = not self._steps
        self._hint.setVisible(empty)
        for axis in ("bottom", "left"):  # no made-up 0..1 axes around an empty plot
            self.getPlotItem().showAxis(axis, not empty)
        self.showGrid(x=not empty, y=not empty, alpha=0.2)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # Palette changes arrive during construction too, before the plot exists.
        if event.type() == event.Type.PaletteChange and hasattr(self, "_hint"):
            self._apply_palette()

    def clear_curve(self) -> None:
        self._steps, self._losses, self._ema = [], [], []
        self._show_points()

    def _extend_ema(self, loss: float) -> None:
        previous = self._ema[-1] if self._ema else 0.0
        self._ema.append(SMOOTHING * previous + (1 - SMOOTHING) * loss)

    def set_curve(self, points: list) -> None:
        """Points as [[step, loss], ...] (a saved loss curve); None losses are skipped."""
        pairs = [(float(s), float(v)) for s, v in points if v is not None]
        self._steps = [s for s, _ in pairs]
        self._losses = [v for _, v in pairs]
        self._ema = []
        for loss in self._losses:
            self._extend_ema(loss)
        self._show_points()

    def add_point(self, step: int, loss: float) -> None:
        while self._steps and self._steps[-1] >= step:  # a resumed run repeats steps after its checkpoint
            self._steps.pop()
            self._losses.pop()
            self._ema.pop()
        self._steps.append(float(step))
        self._losses.append(float(loss))
        self._extend_ema(float(loss))
        self._show_points()

    @property
    def point_count(self) -> int:
        return len(self._steps)
