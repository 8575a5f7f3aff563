"""The memorize knobs a reader may turn: epochs, segment length, learning rate, LoRA rank, and the recipe's
study stage, auxiliary tasks and contextualized segments.

Used by the Memorize panel (this run) and the Settings dialog (the defaults).
Values are checked by ``MemorizeSettings`` itself, so the rules live in one place.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.errors import BadInputError


class TrainingForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base = MemorizeSettings()
        self.epochs = QSpinBox(minimum=1, maximum=100, toolTip="Passes over the whole book")
        self.segment_length = QSpinBox(minimum=16, maximum=32768, singleStep=64,
                                       toolTip="Tokens per training segment; neighbours overlap by 5/8")
        self.learning_rate = QLineEdit(toolTip="Peak learning rate of AdamW, e.g. 2e-4")
        self.learning_rate.setValidator(QDoubleValidator(1e-8, 0.99, 10))
        self.lora_rank = QSpinBox(minimum=1, maximum=1024, toolTip="LoRA rank r: capacity of the adapter")
        self.aux_tasks = QCheckBox("Auxiliary question/answer tasks",
                                   toolTip="Also train on Q/A pairs made from short passages of the book")
        self.contextualized = QCheckBox("Contextualized segments",
                                        toolTip="Train each passage after a short excerpt of the book, the way "
                                                "questions are asked (about 30% slower; answers with retrieved "
                                                "passages measured better, see docs/EVAL.md)")
        self.study = QCheckBox("Study questions about every part of the book",
                               toolTip="Before training, the model reads the book and answers questions about "
                                       "each passage; the adapter learns to give those answers without the "
                                       "book (see docs/EVAL.md)")
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Epochs", self.epochs)
        layout.addRow("Segment length", self.segment_length)
        layout.addRow("Learning rate", self.learning_rate)
        layout.addRow("LoRA rank", self.lora_rank)
        layout.addRow("", self.study)
        layout.addRow("", self.aux_tasks)
        layout.addRow("", self.contextualized)
        for spin in (self.epochs, self.segment_length, self.lora_rank):
            spin.valueChanged.connect(self.changed)
        self.learning_rate.textChanged.connect(self.changed)
        self.aux_tasks.toggled.connect(self.changed)
        self.study.toggled.connect(self.changed)
        self.contextualized.toggled.connect(self.changed)

    def set_settings(self, settings: MemorizeSettings) -> None:
        """Show ``settings``; fields not in the form keep its values when read back."""
        self._base = settings
        widgets = (self.epochs, self.segment_length, self.learning_rate, self.lora_rank, self.aux_tasks,
                   self.contextualized, self.study)
        for widget in widgets:
            widget.blockSignals(True)
        self.epochs.setValue(settings.epochs)
        self.segment_length.setValue(settings.segment_length)
        self.learning_rate.setText(f"{settings.learning_rate:g}")
        self.lora_rank.setValue(settings.lora_rank)
        self.aux_tasks.setChecked(settings.aux_tasks)
        self.contextualized.setChecked(settings.contextualized)
        self.study.setChecked(settings.study)
        for widget in widgets:
            widget.blockSignals(False)
        self.changed.emit()

    def values(self) -> dict:
        """The form's fields as MemorizeSettings field values (learning rate may be unparsable)."""
        try:
            learning_rate = float(self.learning_rate.text())
        except ValueError:
            raise BadInputError("the learning rate must be a number such as 2e-4") from None
        return dict(epochs=self.epochs.value(), segment_length=self.segment_length.value(),
                    learning_rate=learning_rate, lora_rank=self.lora_rank.value(),
                    aux_tasks=self.aux_tasks.isChecked(), contextualized=self.contextualized.isChecked(),
                    study=self.study.isChecked())

    def settings(self) -> MemorizeSettings:
        """The settings to train with; raises BadInputError with a readable message."""
        data = {**self._base.as_dict(), **self.values()}
        if data["segment_length"] != self._base.segment_length:
            data["stride"] = None  # a stride chosen for another length may not fit: back to 3/8 of it
        return MemorizeSettings.from_dict(data)
