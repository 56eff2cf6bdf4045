"""The compose form: From (from the active profile), To, Cc, Bcc, Subject, body, attachments.

Addresses are checked as they are typed, with the reason shown beside the field.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui.core.message import AddressError, Draft, MessageInputError, parse_address_list
from tui.core.transcript import human_size

ADDRESS_FIELDS = ("to", "cc", "bcc")
FIELD_NAMES = {"to": "To", "cc": "Cc", "bcc": "Bcc", "subject": "Subject"}


class AttachmentList(OptionList):
    """The attached files; delete or backspace removes the highlighted one."""

    BINDINGS = [
        Binding("delete,backspace", "remove", "Remove attachment", id="attachment.remove"),
    ]

    def action_remove(self) -> None:
        form = next(a for a in self.ancestors if isinstance(a, ComposeForm))
        removed = form.remove_highlighted_attachment()
        if removed is not None:
            self.app.notify(f"Removed {removed.name}", markup=False)


class AddressInput(Input):
    """An address field: a pasted list with one address per line keeps every line (the
    plain Input keeps the first), joined as the comma-separated list the field holds."""

    def _on_paste(self, event: events.Paste) -> None:
        lines = [line.strip().rstrip(",;") for line in event.text.splitlines()]
        text = ", ".join(line for line in lines if line)
        if text:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *selection)
        event.prevent_default()  # not Input's own paste as well
        event.stop()


class ComposeForm(Vertical):
    DEFAULT_CSS = """
    ComposeForm { height: 1fr; }
    ComposeForm .row { height: 1; margin-bottom: 0; }
    ComposeForm .row > Label.name { width: 9; color: $text-muted; }
    ComposeForm .row > Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    ComposeForm .row > Input:focus { background: $accent 35%; }
    ComposeForm .row > Input.-bad { background: $error 25%; }
    ComposeForm .field-error { color: $error; height: auto; padding-left: 10; display: none; }
    ComposeForm .field-error.-shown { display: block; }
    ComposeForm #from { width: 1fr; }
    ComposeForm .from-warning { color: $text-warning; height: auto; padding-left: 10; }
    ComposeForm #from-warning-short { display: none; }
    ComposeForm .from-warning.-hidden { display: none; }
    ComposeForm TextArea {
        height: 1fr; min-height: 3; border: round $panel-lighten-2; padding: 0 1;
        border-title-color: $text-muted; border-subtitle-color: $text-muted;
    }
    ComposeForm TextArea:focus { border: round $accent; }
    ComposeForm #attachments { height: auto; max-height: 4; border: none; padding: 0; }
    ComposeForm #attach-title { height: 1; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.attachments: list[Path] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("From", classes="name")
            yield Static(id="from")
        # The whole warning, or one line of it on a short screen (app.tcss chooses).
        yield Static(id="from-warning", classes="from-warning -hidden")
        yield Static(id="from-warning-short", classes="from-warning -hidden")
        for field in ("to", "cc", "bcc"):
            # On a short screen an empty Cc or Bcc row makes room for the body (ctrl+b).
            extra = " extra -empty" if field != "to" else ""
            with Horizontal(classes=f"row{extra}", id=f"row-{field}"):
                yield Label(FIELD_NAMES[field], classes="name")
                yield AddressInput(
                    id=field,
                    placeholder="name@example.org, Other Person <other@example.org>"
                    if field == "to"
                    else "",
                )
            yield Static(id=f"{field}-error", classes="field-error")
        with Horizontal(classes="row"):
            yield Label("Subject", classes="name")
            yield Input(id="subject")
        yield Static(id="subject-error", classes="field-error")
        body = TextArea(id="body", soft_wrap=True, show_line_numbers=False)
        body.border_title = "Message"
        body.border_subtitle = "ctrl+e $EDITOR · F9 full screen"
        yield body
        yield Static("Attachments: none (ctrl+f to attach)", id="attach-title")
        yield AttachmentList(id="attachments")

    def set_from(self, value: str) -> None:
        self.query_one("#from", Static).update(Text(value))

    def set_from_warning(self, text: str | None, short: str | None = None) -> None:
        """Why mail From this address through this profile's server may be refused by the
        recipients (its domain's DMARC policy), shown under From; None hides it. `short` is
        what a short screen shows, the whole `text` in its tooltip."""
        for selector, value in (("#from-warning", text), ("#from-warning-short", short or text)):
            warning = self.query_one(selector, Static)
            warning.update(Text(f"⚠ {value}" if value else ""))
            warning.set_class(not value, "-hidden")
            warning.tooltip = text if selector == "#from-warning-short" else None
        self.set_class(bool(text), "-from-warned")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ADDRESS_FIELDS:
            self.validate_field(event.input.id)
        if event.input.id in ("cc", "bcc"):
            self.query_one(f"#row-{event.input.id}").set_class(not event.value, "-empty")

    def show_copies(self, show: bool = True) -> None:
        """Show the Cc and Bcc rows even when empty (a short screen hides them then)."""
        self.set_class(show, "-show-copies")
        if show:
            self.query_one("#cc", Input).focus()

    def validate_field(self, field: str) -> str | None:
        """Check one address field and show why it is wrong; returns the reason or None."""
        value = self.query_one(f"#{field}", Input).value
        reason = None
        try:
            parse_address_list(value, field)
        except AddressError as exc:
            reason = exc.reason
        self._show_error(field, reason)
        return reason

    def _show_error(self, field: str, reason: str | None) -> None:
        error = self.query_one(f"#{field}-error", Static)
        error.update(Text(reason or ""))
        error.set_class(reason is not None, "-shown")
        widget = self.query_one(f"#{field}")
        widget.set_class(reason is not None, "-bad")

    def show_input_error(self, error: MessageInputError) -> None:
        """Put a compose error next to the field it is about, and focus that field."""
        field = error.field_name if error.field_name in FIELD_NAMES else "to"
        self._show_error(field, error.reason)
        self.query_one(f"#{field}").focus()

    def draft(self) -> Draft:
        def value(field: str) -> tuple[str, ...]:
            text = self.query_one(f"#{field}", Input).value.strip()
            return (text,) if text else ()

        return Draft(
            to=value("to"),
            cc=value("cc"),
            bcc=value("bcc"),
            subject=self.query_one("#subject", Input).value,
            body=self.query_one("#body", TextArea).text,
            attachments=tuple(self.attachments),
        )

    def load(self, draft: Draft) -> None:
        for field in ADDRESS_FIELDS:
            self.query_one(f"#{field}", Input).value = ", ".join(getattr(draft, field))
        self.query_one("#subject", Input).value = draft.subject
        self.query_one("#body", TextArea).load_text(draft.body)
        self.attachments = list(draft.attachments)
        self._refresh_attachments()

    def clear(self) -> None:
        self.load(Draft())
        for field in ("to", "cc", "bcc", "subject"):
            self._show_error(field, None)

    @property
    def is_empty(self) -> bool:
        draft = self.draft()
        return not (draft.to or draft.cc or draft.bcc or draft.subject or draft.body.strip())

    def add_attachment(self, path: Path) -> None:
        if path not in self.attachments:
            self.attachments.append(path)
        self._refresh_attachments()

    def remove_highlighted_attachment(self) -> Path | None:
        listing = self.query_one("#attachments", AttachmentList)
        if listing.highlighted is None or not self.attachments:
            return None
        removed = self.attachments.pop(listing.highlighted)
        self._refresh_attachments()
        return removed

    def _refresh_attachments(self) -> None:
        listing = self.query_one("#attachments", AttachmentList)
        listing.clear_options()
        total = 0
        for path in self.attachments:
            try:
                size = path.stat().st_size
                label = f"📎 {path.name} ({human_size(size)})"
                total += size
            except OSError:
                label = f"📎 {path.name} (missing)"
            listing.add_option(Option(Text(label)))
        title = self.query_one("#attach-title", Static)
        if self.attachments:
            title.update(
                f"Attachments: {len(self.attachments)}, {human_size(total)} "
                "(ctrl+f attach, delete removes)"
            )
        else:
            title.update("Attachments: none (ctrl+f to attach)")
        listing.display = bool(self.attachments)
        if self.attachments:
            listing.highlighted = 0
