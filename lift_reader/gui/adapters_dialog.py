"""Tools > Adapters: every trained adapter, and what can be done with one.

Renames and deletions go through the model lane, because the model may hold
the adapter; exports only copy or convert files (Export… writes the .zip that
LIFT Reader and peft read, Export GGUF… a llama.cpp LoRA file with an Ollama
Modelfile); an import needs the model, to check the adapter was trained on the
same base.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog,
    QLabel, QMessageBox, QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from lift_reader.core.model.gguf_export import export_gguf_adapter
from lift_reader.core.model.peft_import import import_adapter_folder
from lift_reader.errors import NotFoundError
from lift_reader.gui.errors import show_error
from lift_reader.gui.file_dialogs import remember_folder, start_folder
from lift_reader.gui.loss_plot import LossPlot
from lift_reader.gui.preferences import Preferences
from lift_reader.store.adapters import META_FILE, folder_slug, read_meta
from lift_reader.store.records import AdapterRecord
from lift_reader.workers import jobs
from lift_reader.workers.session import Session

COLUMNS = ("Name", "Book", "Base model", "Created", "Steps", "Final loss", "Size", "Active")
_ZIP_FILTER = "Adapter archives (*.zip)"
_FOLDER_KIND = "adapters"  # export and import share their last folder


def rename_dialog(parent: QWidget | None, name: str) -> QInputDialog:
    """The Rename prompt, wide enough to show a long adapter name whole (they often hold a book's title)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Rename adapter")
    dialog.setLabelText("New name:")
    dialog.setTextValue(name)
    wanted = dialog.fontMetrics().horizontalAdvance(name) + 80  # the text, the field's frame and the margins
    screen = dialog.screen().availableGeometry().width() if dialog.screen() else 1200
    dialog.resize(max(460, min(wanted, screen * 3 // 4)), dialog.sizeHint().height())
    return dialog


class AdapterDetailsDialog(QDialog):
    """An adapter's training settings and loss curve."""

    def __init__(self, adapter: AdapterRecord, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Adapter “{adapter.name}”")
        self.resize(560, 520)
        self.plot = LossPlot()
        text = QPlainTextEdit(readOnly=True)
        lines = [f"folder: {adapter.path}", f"book hash: {adapter.book_hash}", f"base model: {adapter.base_model}"]
        try:
            meta = read_meta(adapter.path)
            self.plot.set_curve(meta.loss_curve)
            lines += [f"trained {meta.steps:,} steps on {meta.tokens_seen:,} tokens in {meta.duration_s:,.0f} s",
                      f"app version: {meta.app_version}"]
        except Exception as err:  # a damaged folder still gets its row's facts shown
            lines.append(f"metadata unreadable: {err}")
        lines += ["", "settings:"] + [f"  {k}: {v}" for k, v in sorted(adapter.settings.items())]
        text.setPlainText("\n".join(lines))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, rejected=self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text, 1)
        layout.addWidget(self.plot, 1)
        layout.addWidget(buttons)


class AdaptersDialog(QDialog):
    adapters_changed = Signal()

    def __init__(self, session: Session, prefs: Preferences | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.prefs = prefs if prefs is not None else Preferences()
        self.adapters: list[AdapterRecord] = []
        self.setWindowTitle("Adapters")
        self.resize(1040, 420)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Base model"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self.show_details)
        self.status = QLabel()
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for name, slot in (("Activate", self.activate), ("Rename…", self.rename), ("Delete…", self.delete),
                           ("Export…", self.export), ("Export GGUF…", self.export_gguf), ("Import…", self.import_archive), ("Import folder…", self.import_folder),
                           ("Details…", self.show_details)):
            self.buttons[name] = QPushButton(name, clicked=slot)
            row.addWidget(self.buttons[name])
        row.addStretch(1)
        close = QPushButton("Close", clicked=self.accept)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self._busy = False
        self._done_message = ""  # said once the running job has finished
        self.reload()

    # --- the table ---------------------------------------------------------------------

    def reload(self) -> None:
        library = self.session.library
        self.adapters = library.list_adapters()
        books = {b.content_hash: b for b in library.list_books()}
        self.table.setRowCount(len(self.adapters))
        for row, adapter in enumerate(self.adapters):
            book = books.get(adapter.book_hash)
            active = book is not None and book.active_adapter == adapter.name
            loss = f"{adapter.final_loss:.3f}" if adapter.final_loss is not None else "–"
            cells = (adapter.name, book.title if book else f"(not in library: {adapter.book_hash[:12]})",
                     adapter.base_model, adapter.created_at[:16].replace("T", " "), f"{adapter.steps:,}", loss,
                     f"{adapter.size_bytes / 2**20:.1f} MB", "yes" if active else "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (4, 5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.status.setText("" if self.adapters else "No adapters yet: memorize a book, or import an adapter.")
        self._update_buttons()

    def selected(self) -> AdapterRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.adapters[rows[0].row()] if rows else None

    def select_name(self, name: str) -> None:
        for row, adapter in enumerate(self.adapters):
            if adapter.name == name:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None and not self._busy
        for name, button in self.buttons.items():
            button.setEnabled(not self._busy if name.startswith("Import") else chosen)

    def _run(self, fn, *args, action: str, model: bool = False, book_files_only: bool = False,
             done_message: str = "") -> None:
        """Run an adapter job off the GUI thread; reload when it ends; say ``done_message`` if it worked."""
        self._busy = True
        self._update_buttons()
        self.status.setText(f"{action}…")
        callbacks = dict(label=action, owner=self, on_error=lambda err: show_error(self, err, action),
                         on_done=lambda result: self._on_job_done(done_message), on_finished=self._on_job_finished)
        if book_files_only:
            self.session.book_job(fn, *args, **callbacks)
        else:
            self.session.model_job(fn, *args, load_model=model, **callbacks)

    def _on_job_done(self, done_message: str) -> None:
        self.adapters_changed.emit()
        if done_message:
            self._done_message = done_message

    def _on_job_finished(self) -> None:
        self._busy = False
        self.reload()
        message, self._done_message = self._done_message, ""
        if message:  # after reload(), which resets the status line
            self.status.setText(message)
            QMessageBox.information(self, "Adapters", message)

    # --- actions -------------------------------------------------------------------------

    def activate(self) -> None:
        adapter = self.selected()
        if adapter is None:
            return
        self._run(jobs.activate_adapter, adapter.name, action="Activating", book_files_only=True,
                  done_message=f"“{adapter.name}” now answers for its book")

    def rename(self) -> None:
        adapter = self.selected()
        if adapter is None:
            return
        dialog = rename_dialog(self, adapter.name)
        new = dialog.textValue().strip() if dialog.exec() == QDialog.DialogCode.Accepted else ""
        if new and new != adapter.name:
            self._run(jobs.rename_adapter, adapter.name, new, action="Renaming")

    def delete(self) -> None:
        adapter = self.selected()
        if adapter is None:
            return
        answer = QMessageBox.question(self, "Delete adapter", f"Delete the adapter “{adapter.name}”?\n\n"
                                      "Its trained weights are removed from disk; this cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self._run(jobs.remove_adapter, adapter.name, action="Deleting")

    def export(self) -> None:
        adapter = self.selected()
        if adapter is None:
            return
        suggested = start_folder(self.prefs, _FOLDER_KIND) / f"{adapter.name}.zip"
        path, _ = QFileDialog.getSaveFileName(self, "Export adapter", str(suggested), _ZIP_FILTER)
        if path:
            remember_folder(self.prefs, _FOLDER_KIND, path)
            self._run(jobs.export_adapter, adapter.name, Path(path), action="Exporting", book_files_only=True,
                      done_message=f"Exported “{adapter.name}” to {path}")

    def export_gguf(self) -> None:
        """For llama.cpp, Ollama and LM Studio: a folder with the LoRA GGUF, a Modelfile and a README."""
        adapter = self.selected()
        if adapter is None:
            return
        parent = QFileDialog.getExistingDirectory(self, "Export for llama.cpp and Ollama into…",
                                                  str(start_folder(self.prefs, _FOLDER_KIND)))
        if parent:
            out = Path(parent) / f"{folder_slug(adapter.name)}-gguf"
            remember_folder(self.prefs, _FOLDER_KIND, out)
            self._run(_export_gguf, adapter.name, out, action="Exporting for llama.cpp", book_files_only=True,
                      done_message=f"Exported “{adapter.name}” for llama.cpp and Ollama to {out} "
                                   "(README.md there says how to run it)")

    def import_archive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import adapter", str(start_folder(self.prefs, _FOLDER_KIND)),
                                              _ZIP_FILTER)
        if path:
            remember_folder(self.prefs, _FOLDER_KIND, path)
            self._run(jobs.import_adapter, Path(path), action="Importing (checking the base model)", model=True)

    def import_folder(self) -> None:
        """An adapter folder: one of ours unpacked, or a peft LoRA made elsewhere for a book the reader names."""
        path = QFileDialog.getExistingDirectory(self, "Import adapter folder",
                                                str(start_folder(self.prefs, _FOLDER_KIND)))
        if not path:
            return
        remember_folder(self.prefs, _FOLDER_KIND, Path(path) / "adapter_config.json")
        book_hash = None
        if not (Path(path) / META_FILE).is_file():  # plain peft: it does not say which book it memorized
            books = self.session.library.list_books()
            if not books:
                QMessageBox.information(self, "Adapters", "Add the book this adapter memorized first.")
                return
            titles = [f"{b.title} ({b.short_hash})" for b in books]
            title, ok = QInputDialog.getItem(self, "Import adapter folder", "Which book did it memorize?",
                                             titles, 0, False)
            if not ok:
                return
            book_hash = books[titles.index(title)].content_hash
        self._run(_import_folder, Path(path), book_hash, action="Importing (checking the base model)", model=True)

    def show_details(self) -> None:
        adapter = self.selected()
        if adapter is not None:
            AdapterDetailsDialog(adapter, self).exec()


def _export_gguf(session: Session, name: str, out: Path):
    """A book job: the adapter's files only, no model (the base GGUF is read from disk)."""
    adapter = session.library.get_adapter(name)
    if adapter is None:
        raise NotFoundError(f"no adapter named {name!r}")
    return export_gguf_adapter(Path(adapter.path), out)


def _import_folder(session: Session, folder: Path, book_hash: str | None):
    """A model job: a plain peft folder is checked against the loaded model's layers."""
    return import_adapter_folder(session.workspace(), folder, book=book_hash)
