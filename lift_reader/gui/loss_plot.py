"""A live training-loss curve (pyqtgraph: cheap to update thousands of times).

Per-step losses jump around (each step sees one segment), so the raw losses
are drawn faint, as points while there are few, and a smoothed trend over
them: an exponential moving average over about a twentieth of the run (so a
short run's trend does not lag far behind its points), bias-corrected so that
its first points are not pulled towards zero.  The axes are set here, not by auto-range: with
one point auto-range makes up a range around nothing; the x axis spans the
whole run (when known) so the curve fills it as the run goes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget


MAX_DOTS = 100  # beyond this many steps the raw losses are a faint line only: more dots clutter the trend
MIN_STEPS_SHOWN = 5  # the x axis of a run that has just begun (and whose length is unknown)


def smoothed(losses: list[float]) -> list[float]:
    """The trend line: a bias-corrected moving average spanning ~1/20 of the points (3 to 50 steps).

    Recomputed whole on each step: O(steps) of plain arithmetic, a few ms for 50,000 steps.
    """
    keep = 1 - 1 / min(max(len(losses) / 20, 3), 50)  # weight of the past
    trend, average = [], 0.0
    for i, loss in enumerate(losses):
        average = keep * average + (1 - keep) * loss
        trend.append(average / (1 - keep ** (i + 1)))
    return trend


def loss_range(losses: list[float]) -> tuple[float, float]:
    """A y range around ``losses`` with some air; one point (or a flat run) still gets a readable span."""
    low, high = min(losses), max(losses)
    pad = max((high - low) * 0.1, abs(high) * 0.05, 0.01)
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


class StepAxis(pg.AxisItem):
    """An axis of whole steps: a short run gets ticks 1, 2, 3, never 0.2, 0.4."""

    def tickValues(self, minVal, maxVal, size):
        levels = [(spacing, values) for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, [float(v) for v in range(int(max(minVal, 0)), int(maxVal) + 1)])]


class LossPlot(pg.PlotWidget):
    """Loss against optimizer step; ``add_point`` per step, ``set_curve`` for a saved run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, axisItems={"bottom": StepAxis("bottom")})
        self._steps: list[float] = []
        self._losses: list[float] = []
        self._total_steps = 0  # the run's length, when known: the x axis spans it
        self.setMinimumHeight(120)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().disableAutoRange()
        self.setLabel("bottom", "training step")
        self.setLabel("left", "loss")
        # Long runs have tens of thousands of steps: draw what the pixels can show.
        self.setDownsampling(auto=True, mode="peak")
        self.setClipToView(True)
        self.legend = self.addLegend(offset=(-10, 6))
        self._curve = self.plot([], [], name="loss of each step")
        self._trend = self.plot([], [], name="smoothed")
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
        self.legend.setLabelTextColor(text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        faint, dot = QColor(accent), QColor(accent)
        faint.setAlpha(90)
        dot.setAlpha(150)  # a dot is small: a little less faint than the line between dots
        self._curve.setPen(pg.mkPen(faint, width=1))
        self._curve.setSymbolPen(None)
        self._curve.setSymbolBrush(pg.mkBrush(dot))
        self._trend.setPen(pg.mkPen(accent, width=2))
        muted = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self._hint.setStyleSheet(f"color: {muted.name()}")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "_hint"):  # resize events arrive during construction too
            self._hint.setGeometry(self.rect().adjusted(40, 0, -10, -30))

    def _show_points(self) -> None:
        # Dots while they can be told apart (a single loss has no line to show it).
        self._curve.setSymbol("o" if len(self._steps) <= MAX_DOTS else None)
        self._curve.setSymbolSize(5)
        self._curve.setData(self._steps, self._losses)
        self._trend.setData(self._steps, smoothed(self._losses))
        empty = not self._steps
        self._hint.setVisible(empty)
        self.legend.setVisible(not empty)
        for axis in ("bottom", "left"):  # no made-up 0..1 axes around an empty plot
            self.getPlotItem().showAxis(axis, not empty)
        self.showGrid(x=not empty, y=not empty, alpha=0.2)
        if not empty:
            self.setXRange(0, max(self._total_steps, self._steps[-1], MIN_STEPS_SHOWN), padding=0.02)
            self.setYRange(*loss_range(self._losses), padding=0)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # Palette changes arrive during construction too, before the plot exists.
        if event.type() == event.Type.PaletteChange and hasattr(self, "_hint"):
            self._apply_palette()

    def set_total_steps(self, total: int) -> None:
        """The run's length: the x axis spans it, so the curve grows from left to right."""
        if total != self._total_steps:
            self._total_steps = total
            self._show_points()

    def clear_curve(self) -> None:
        self._steps, self._losses, self._total_steps = [], [], 0
        self._show_points()

    def set_curve(self, points: list) -> None:
        """Points as [[step, loss], ...] (a saved loss curve); None losses are skipped."""
        pairs = [(float(s), float(v)) for s, v in points if v is not None]
        self._steps = [s for s, _ in pairs]
        self._losses = [v for _, v in pairs]
        self._show_points()

    def add_point(self, step: int, loss: float) -> None:
        while self._steps and self._steps[-1] >= step:  # a resumed run repeats steps after its checkpoint
            self._steps.pop()
            self._losses.pop()
        self._steps.append(float(step))
        self._losses.append(float(loss))
        self._show_points()

    @property
    def point_count(self) -> int:
        return len(self._steps)

    @property
    def trend(self) -> list[float]:
        """The smoothed curve as drawn."""
        return [float(y) for y in (self._trend.yData if self._trend.yData is not None else [])]
