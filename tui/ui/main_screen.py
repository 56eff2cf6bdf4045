"""The main screen: profiles, the compose form and the live transcript, with their keys."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from tui.ui.widgets.compose_form import ComposeForm
from tui.ui.widgets.profile_list import ProfileList
from tui.ui.widgets.transcript_pane import TranscriptPane

NARROW_WIDTH = 120
SHORT_HEIGHT = 32


class MainScreen(Screen[None]):
    """Its keys work only here, not on the editor or history screens."""

    BINDINGS = [
        Binding("ctrl+s", "app.send", "Send", id="send", priority=True),
        Binding("escape", "app.cancel_send", "Cancel send", id="cancel-send"),
        Binding("ctrl+t", "app.next_profile", "Next profile", id="switch-profile", priority=True),
        Binding("ctrl+r", "app.retry", "Retry/switch", id="retry", priority=True),
        Binding("ctrl+n", "app.add_network", "Trust network", id="add-network", priority=True),
        # Shown in the form itself ("ctrl+e $EDITOR · F9 full screen", "ctrl+f to attach").
        Binding("ctrl+e", "app.edit_body", "$EDITOR", id="edit-body", priority=True, show=False),
        Binding("ctrl+f", "app.attach", "Attach", id="attach", priority=True, show=False),
        Binding("f9", "zoom", "Full screen", id="zoom", priority=True, show=False),
        Binding("ctrl+b", "copies", "Cc/Bcc", id="copies", priority=True, show=False),
        # The footer shows keys in this order and cuts the last ones off in 80 columns: the
        # everyday ones and Quit come first, the rest are in the palette (ctrl+p) too.
        Binding("f2", "app.edit_profile", "Edit profile", id="edit-profile", priority=True),
        Binding("f5", "app.history", "History", id="history", priority=True),
        Binding("f8", "app.outbox", "Outbox", id="outbox", priority=True),
        Binding("ctrl+o", "app.drafts", "Drafts", id="drafts", priority=True, show=False),
        Binding("ctrl+q", "app.quit", "Quit", id="quit", priority=True),
        Binding("f3", "app.new_profile", "New", id="new-profile", priority=True),
        Binding("f4", "app.check_profile", "Check", id="check-profile", priority=True),
        Binding("f6", "app.mailbox", "Mailbox", id="demo-mailbox", priority=True),
        Binding("f7", "app.toggle_network", "Move", id="demo-network", priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        with Horizontal(id="main"):
            with Vertical(id="profiles-col"):
                yield Static("Profiles", classes="col-title")
                yield ProfileList(id="profiles")
                yield Static("Outbox: empty", id="outbox-status")
            with Vertical(id="compose-col"):
                yield Static("Compose", classes="col-title")
                yield ComposeForm(id="compose")
            with Vertical(id="transcript-col"):
                yield Static("Transcript", classes="col-title")
                yield TranscriptPane(id="transcript")
        yield Static(id="explanation")
        yield Footer()

    def action_zoom(self) -> None:
        """The body (when it has the cursor) or the transcript on the whole screen; again,
        or escape, to come back."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        body = self.query_one("#body")
        self.maximize(body if focused is body else self.query_one(TranscriptPane), container=False)

    def action_copies(self) -> None:
        self.query_one(ComposeForm).show_copies(True)

    @dataclass
    class Ready(Message):
        """The main screen is mounted: the app fills it in."""

    @dataclass
    class LayoutChanged(Message):
        """The terminal crossed the narrow or short threshold."""

        narrow: bool
        short: bool

    def on_mount(self) -> None:
        self.post_message(self.Ready())

    def on_resize(self, event: Resize) -> None:
        narrow, short = event.size.width < NARROW_WIDTH, event.size.height < SHORT_HEIGHT
        if narrow == self.has_class("narrow") and short == self.has_class("short"):
            return  # a class change restyles the whole screen: only when the layout changes
        self.set_class(narrow, "narrow")
        self.set_class(short, "short")
        self.query_one(ProfileList).set_compact(narrow)
        # In 80 columns the everyday keys need the room of the palette's hint (ctrl+p works).
        self.query_one(Footer).show_command_palette = not narrow
        self.post_message(self.LayoutChanged(narrow, short))
