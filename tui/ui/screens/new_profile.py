"""F3: a new profile from an email address, or an empty form.

The address's settings are found in a background worker (tui/core/discovery), each step
shown as it happens; then what was found, where each setting came from and any question
(settings from another domain, or from plain HTTP) are shown, and "Edit and save" opens
the profile editor filled in with them. Nothing is saved here.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Log, Static

from tui.core.discovery.finder import AddressError, Discovery, discover


@dataclass(frozen=True)
class Chosen:
    """How the person wants to go on: the editor with `discovery`'s settings (None: empty,
    with `address` as From when one was typed)."""

    discovery: Discovery | None
    address: str = ""


class NewProfileScreen(ModalScreen[Chosen | None]):
    """Dismissed with Chosen, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="new-profile.cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.found: Discovery | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="new-profile"):
            yield Label(Text("New profile", style="bold"), classes="title")
            yield Label(
                "Your email address: its server is found and tested (none: an empty form)",
                classes="hint",
            )
            yield Input(placeholder="e.g. jane@example.org", id="address")
            yield Log(id="discovery-steps", max_lines=200)
            with VerticalScroll(id="discovery-found-box"):
                yield Static(id="discovery-found")
            with Horizontal(classes="buttons"):
                yield Button("Find settings", id="find", variant="primary")
                yield Button("Edit and save", id="use", variant="primary")
                yield Button("Empty form", id="empty")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#discovery-steps").display = False
        self.query_one("#use").display = False
        self.query_one("#address", Input).focus()

    def on_resize(self, event: Resize) -> None:
        # What was found scrolls in what the screen leaves; the buttons stay in sight.
        self.query_one("#discovery-found-box").styles.max_height = max(3, event.size.height - 17)

    @on(Input.Submitted, "#address")
    @on(Button.Pressed, "#find")
    def _find(self) -> None:
        address = self.query_one("#address", Input).value
        if not address.strip():  # Enter with no address: the empty form, as F3 always gave
            self.dismiss(Chosen(None))
            return
        steps = self.query_one("#discovery-steps", Log)
        steps.clear()
        steps.display = True
        self.query_one("#discovery-found", Static).update("")
        self.query_one("#use").display = False
        self.found = None
        self.discover(address)

    @work(exclusive=True, group="discovery")
    async def discover(self, address: str) -> None:
        from tui.core.discovery.reach import from_environment

        steps = self.query_one("#discovery-steps", Log)
        shown = self.query_one("#discovery-found", Static)
        try:
            reach = from_environment()
            steps.write_line(f"Looking for the sending settings of {address.strip()}…")

            def step(text: str) -> None:
                steps.write_line(f"… {text}")

            found = await discover(address, reach, step)
        except AddressError as exc:
            steps.display = False
            shown.update(Text(str(exc), style="bold red"))
            return
        except ValueError as exc:
            shown.update(Text(f"MAILTUI_DNS or MAILTUI_DISCOVERY_PORTS: {exc}; fix or unset it."))
            return
        self.found = found
        steps.display = False  # what was found says it all; the steps were seen going by
        shown.update(summary(found))
        use = self.query_one("#use", Button)
        use.display = found.candidate is not None
        (use if found.candidate is not None else self.query_one("#empty", Button)).focus()

    @on(Button.Pressed, "#use")
    def _use(self) -> None:
        if self.found is not None:
            self.dismiss(Chosen(self.found, self.found.address))

    @on(Button.Pressed, "#empty")
    def _empty(self) -> None:
        self.dismiss(Chosen(None, self.query_one("#address", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "discovery")
        self.dismiss(None)


def summary(found: Discovery) -> Text:
    """What was found, each setting with where it came from; the question and the problem."""
    text = Text()
    if found.problem:
        text.append(found.problem + "\n", style="bold yellow")
    if found.question:  # first, where it is seen without scrolling
        text.append(found.question + " Edit and save only if you trust it.\n", style="bold")
    if found.candidate is None:
        text.append("Fill in the form yourself: press Empty form.")
        return text
    for key, value, origin in found.provenance():
        text.append(f"{key.capitalize():<9}", style="bold")
        text.append(f"{value}  ")
        text.append(f"{origin}\n", style="dim")
    probe = found.probe
    if probe is not None:
        text.append("Tested   ", style="bold")
        text.append(f"{probe.server} answered, {probe.tls or 'without TLS'}\n")
    for note in found.notes:
        text.append(f"Note: {note}\n", style="dim")
    return text
