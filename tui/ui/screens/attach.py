"""Pick a file to attach: browse with a directory tree or type a path."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Footer, Input, Label


class AttachScreen(ModalScreen[Path | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="attach.cancel"),
        Binding("ctrl+u", "parent", "Parent folder", id="attach.parent", priority=True),
    ]

    def __init__(self, start: Path | None = None) -> None:
        super().__init__()
        self.start = start or Path.home()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(
                "Attach a file: choose it below (ctrl+u goes up a folder), or type its path "
                "or a folder's and press Enter"
            )
            yield Input(placeholder=str(self.start / "file.pdf"), id="attach-path")
            yield Label("", id="attach-error", classes="attach-error")
            yield DirectoryTree(self.start, id="attach-tree")
        yield Footer()  # this dialog's keys, not the main screen's

    @on(DirectoryTree.FileSelected)
    def _chosen(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(Path(event.path))

    @on(Input.Submitted, "#attach-path")
    def _typed(self, event: Input.Submitted) -> None:
        path = Path(event.value).expanduser()
        error = self.query_one("#attach-error", Label)
        if path.is_dir():  # browse there
            self.query_one(DirectoryTree).path = path
            error.update(Text(f"{path}: choose a file in it below"))
        elif not path.is_file():
            error.update(Text(f"{path} does not exist"))
        else:
            self.dismiss(path)

    def action_parent(self) -> None:
        """Browse the folder above the one shown (the tree starts in the current folder)."""
        tree = self.query_one(DirectoryTree)
        tree.path = Path(tree.path).resolve().parent

    def action_cancel(self) -> None:
        self.dismiss(None)
