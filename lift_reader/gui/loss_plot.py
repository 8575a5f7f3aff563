"""A live training-loss curve (pyqtgraph: cheap to update thousands of times)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget


class LossPlot(pg.PlotWidget):
    """Loss against optimizer step; ``add_point`` per step, ``set_curve`` for a saved run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._steps: list[float] = []
        self._losses: list[float] = []
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
        self._apply_palette()

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.setBackground(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        for axis in ("bottom", "left"):
            self.getAxis(axis).setPen(text)
            self.getAxis(axis).setTextPen(text)
        self._curve.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Highlight), width=2))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # Palette changes arrive during construction too, before the plot exists.
        if event.type() == event.Type.PaletteChange and hasattr(self, "_curve"):
            self._apply_palette()

    def clear_curve(self) -> None:
        self._steps, self._losses = [], []
        self._curve.setData([], [])

    def set_curve(self, points: list) -> None:
        """Points as [[step, loss], ...] (a saved loss curve); None losses are skipped."""
        pairs = [(float(s), float(v)) for s, v in points if v is not None]
        self._steps = [s for s, _ in pairs]
        self._losses = [v for _, v in pairs]
        self._curve.setData(self._steps, self._losses)

    def add_point(self, step: int, loss: float) -> None:
        while self._steps and self._steps[-1] >= step:  # a resumed run repeats steps after its checkpoint
            self._steps.pop()
            self._losses.pop()
        self._steps.append(float(step))
        self._losses.append(float(loss))
        self._curve.setData(self._steps, self._losses)

    @property
    def point_count(self) -> int:
        return len(self._steps)
