"""Edit > Settings: the base model, where it runs, and the default memorize settings.

*Find models on this machine* lists the models Ollama, LM Studio and the Hugging Face cache
already hold (core/model/model_discovery.py); choosing one fills in the model's kind and location.
Models transformers cannot load are listed greyed out with the reason.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from lift_reader.errors import BadInputError
from lift_reader.gui.errors import show_error
from lift_reader.gui.preferences import Preferences
from lift_reader.gui.training_form import TrainingForm
from lift_reader.store.paths import data_home

MODEL_CHOICES = (
    ("embedded", "Embedded (Gemma 3 270M)"),
    ("folder", "Local model folder"),
    ("hub", "Hugging Face hub id"),
    ("gguf", "GGUF file"),
)
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "nf4")


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.prefs = prefs
        self.setWindowTitle("Settings")
        self.kind = QComboBox()
        for kind, label in MODEL_CHOICES:
            self.kind.addItem(label, kind)
        self.kind.setCurrentIndex(max(0, self.kind.findData(prefs.model_kind)))
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.location = QLineEdit(prefs.model_location)
        self.browse = QPushButton("Browse…", clicked=self._on_browse_clicked)
        where = QHBoxLayout()
        where.addWidget(self.location, 1)
        where.addWidget(self.browse)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(prefs.device)
        self.precision = QComboBox(toolTip="auto: 4-bit NF4 on CUDA, the fastest measured format on the CPU")
        self.precision.addItems(PRECISIONS)
        self.precision.setCurrentText(prefs.precision)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Base model", self.kind)
        model_form.addRow("Location", where)
        self.find_models = QPushButton("Find models on this machine", clicked=self._on_find_models_clicked,
                                       toolTip="Ollama's models, LM Studio's models folder, the Hugging Face cache")
        self.found_list = QListWidget(visible=False)
        self.found_list.currentItemChanged.connect(self._on_found_model_chosen)
        self.found = []  # FoundModel, in the list's order
        model_form.addRow("", self.find_models)
        model_form.addRow("", self.found_list)
        model_form.addRow("Device", self.device)
        model_form.addRow("Precision", self.precision)
        model_form.addRow("", QLabel("Model changes apply the next time LIFT Reader starts."))

        self.answer_tokens = QSpinBox(minimum=8, maximum=4096, singleStep=50, value=prefs.answer_tokens(),
                                      toolTip="The longest answer the model may give, in tokens")
        chat_box = QGroupBox("Chat")
        QFormLayout(chat_box).addRow("Answer length (tokens)", self.answer_tokens)

        self.training = TrainingForm()
        self.training.set_settings(prefs.memorize_defaults())
        training_box = QGroupBox("Default memorize settings")
        QVBoxLayout(training_box).addWidget(self.training)

        folder = data_home()
        data_row = QHBoxLayout()
        data_label = QLabel(str(folder))
        data_label.setToolTip("Set LIFT_READER_HOME to move it")
        data_row.addWidget(data_label, 1)
        open_folder = QPushButton("Open", clicked=lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        data_row.addWidget(open_folder)
        data_box = QGroupBox("Data folder (library, adapters, chats)")
        data_box.setLayout(data_row)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   accepted=self.accept, rejected=self.reject)
        layout = QVBoxLayout(self)
        for widget in (model_box, chat_box, training_box, data_box, buttons):
            layout.addWidget(widget)
        self._on_kind_changed()

    @property
    def model_kind(self) -> str:
        return self.kind.currentData()

    def _on_kind_changed(self) -> None:
        embedded = self.model_kind == "embedded"
        self.location.setEnabled(not embedded)
        self.browse.setEnabled(self.model_kind in ("folder", "gguf"))
        self.location.setPlaceholderText({"folder": "a folder with config.json and safetensors weights",
                                          "hub": "org/name, e.g. google/gemma-3-1b-it",
                                          "gguf": "a .gguf file"}.get(self.model_kind, ""))

    def _on_browse_clicked(self) -> None:
        if self.model_kind == "folder":
            path = QFileDialog.getExistingDirectory(self, "Model folder", self.location.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, "GGUF file", self.location.text(), "GGUF models (*.gguf)")
        if path:
            self.location.setText(path)

    def _on_find_models_clicked(self) -> None:
        """Look in the usual places (headers only: quick, nothing loaded or downloaded)."""
        from lift_reader.core.model.model_discovery import discover

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.found = discover()
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.found_list.clear()
        for model in self.found:
            item = QListWidgetItem(model.summary())
            item.setToolTip(str(model.path))
            if not model.loadable:  # listed, not offered
                item.setFlags(item.flags() & ~(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable))
            self.found_list.addItem(item)
        if not self.found:
            self.found_list.addItem(QListWidgetItem("No GGUF or safetensors models found in Ollama, LM Studio "
                                                    "or the Hugging Face cache."))
        self.found_list.setVisible(True)

    def _on_found_model_chosen(self, item: QListWidgetItem | None) -> None:
        row = self.found_list.row(item) if item is not None else -1
        if not 0 <= row < len(self.found) or not self.found[row].loadable:
            return
        from lift_reader.core.model.model_discovery import model_ref

        model = self.found[row]
        self.kind.setCurrentIndex(self.kind.findData("gguf" if model.format == "gguf" else "folder"))
        self.location.setText(model_ref(model))

    def accept(self) -> None:
        from lift_reader.core.model.model_source import parse_model_ref

        location = self.location.text().strip()
        try:
            if self.model_kind != "embedded":
                if not location:
                    raise BadInputError("say where the model is, or choose the embedded model")
                source = parse_model_ref(location)  # the same checks as the command line
                if source.kind != self.model_kind:
                    raise BadInputError(f"{location} is a {source.kind} reference, not a {self.model_kind}")
            training = self.training.values()
            self.prefs.memorize_defaults().with_changes(**training)  # validates
        except BadInputError as err:
            show_error(self, err, "Settings not saved")
            return
        self.prefs.set_model(self.model_kind, location)
        self.prefs.set_placement(self.device.currentText(), self.precision.currentText())
        self.prefs.set_training_overrides(training)
        self.prefs.set_answer_tokens(self.answer_tokens.value())
        super().accept()
