"""Drafts: the messages kept for later, by the app's autosave and by every `mailtui send`
that could not go. Open one into the form, or delete it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.core.drafts import Drafts, SavedDraft


class DraftsScreen(Screen[SavedDraft | None]):
    """Dismissed with the draft to open, or None. It is given the drafts folder it shows."""

    AUTO_FOCUS = "#drafts-table"
    BINDINGS = [
        Binding("escape", "back", "Back", id="drafts.back"),
        Binding("enter", "open", "Open in the form", id="drafts.open", priority=True),
        Binding("d,delete", "delete", "Delete", id="drafts.delete"),
    ]

    def __init__(self, drafts: Drafts) -> None:
        super().__init__()
        self.drafts = drafts
        self.saved: list[SavedDraft] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Drafts — messages kept for later", style="bold"), id="drafts-title")
        yield DataTable(id="drafts-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="drafts-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Saved", "By", "Profile", "To", "Subject")
        self.refresh_drafts()

    def refresh_drafts(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.saved = sorted(self.drafts.list(), key=lambda d: d.path.stat().st_mtime, reverse=True)
        for saved in self.saved:
            to = ", ".join(saved.draft.to) or "(nobody yet)"
            table.add_row(
                Text(saved.saved_at[5:22] if saved.saved_at else ""),
                "autosave" if saved.autosave else "kept",
                Text(saved.profile_id or "—"),
                Text(to),
                Text(saved.draft.subject or "(no subject)"),
                key=saved.id,
            )
        if not self.saved:
            self.query_one("#drafts-detail", Static).update("No drafts.")

    @property
    def current(self) -> SavedDraft | None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        if not self.saved or row is None or row >= len(self.saved):
            return None
        return self.saved[row]

    @on(DataTable.RowHighlighted)
    def _show(self) -> None:
        saved = self.current
        if saved is None:
            return
        body = saved.draft.body.strip().splitlines()
        lines = [f"{saved.id} · {saved.path}"]
        if saved.draft.attachments:
            lines.append("Attachments: " + ", ".join(p.name for p in saved.draft.attachments))
        lines += body[:4] + (["…"] if len(body) > 4 else [])
        self.query_one("#drafts-detail", Static).update(Text("\n".join(lines)))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        saved = self.current
        if saved is not None:
            self.dismiss(saved)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        from tui.ui.screens.confirm import ConfirmScreen

        saved = self.current
        if saved is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.drafts.remove(saved.id)
                self.refresh_drafts()
                self.notify(f"Deleted the draft {saved.draft.subject or saved.id}.", markup=False)

        self.app.push_screen(
            ConfirmScreen(f"Delete the draft '{saved.draft.subject}'? It cannot be undone."),
            confirmed,
        )
