"""Sign in to an OAuth2 provider from the app: the page to open, the code to type there, and
a QR code of the page for a phone, while mailtui waits for the approval (RFC 8628).

The work is the core's (tui/core/oauth/signin.py `DeviceSignIn`); this screen shows it and
can be cancelled. It is dismissed with True once the tokens are kept, False otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

if TYPE_CHECKING:
    from tui.core.profiles import Profile


class SignInScreen(ModalScreen[bool | None]):
    """Shows the device code and waits; Esc cancels, and nothing is kept."""

    BINDINGS = [Binding("escape", "cancel", "Cancel sign-in", id="sign-in.cancel")]

    def __init__(self, profile: Profile, reason: str | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.reason = reason
        self.signed_in = False

    def compose(self) -> ComposeResult:
        # At 80x24 the QR code takes 16 lines: the title, the steps beside it and one line of
        # state are all the rest can have (Esc, in the footer, cancels).
        with Vertical(id="sign-in-box", classes="dialog"):
            yield Label(Text(f"Sign in for {self.profile.name}", style="bold"))
            with VerticalScroll(id="sign-in-body"), Horizontal(id="sign-in-row"):
                yield Static(Text("Asking the provider for a code…"), id="sign-in-steps")
                yield Static(id="sign-in-qr")
            yield Static(id="sign-in-state")
        yield Footer()

    def on_mount(self) -> None:
        self.sign_in()

    @work(exclusive=True, group="sign-in")
    async def sign_in(self) -> None:
        from tui.core.oauth.signin import DeviceSignIn, SignInError

        steps = self.query_one("#sign-in-steps", Static)
        state = self.query_one("#sign-in-state", Static)
        try:
            async with await DeviceSignIn.start(self.profile) as flow:
                code = flow.code
                steps.update(
                    Text.assemble(
                        f"{self.reason}\n\n" if self.reason else "",
                        "1. Open ",
                        (code.verification_uri, "bold underline"),
                        " on any device (or scan the code below with a phone).\n",
                        "2. Enter the code ",
                        (code.user_code, "bold reverse"),
                        " and approve mailtui.\n",
                        f"The code works for {int(code.expires_in // 60)} minutes.",
                    )
                )
                self.query_one("#sign-in-qr", Static).update(Text(code.qr(), no_wrap=True))

                def polling(interval: float) -> None:
                    state.update(
                        Text(f"Waiting for you to approve… (checking every {interval:g} s)")
                    )

                done = await flow.wait(polling)
        except SignInError as exc:
            state.update(Text(f"Not signed in: {exc} (Esc closes)", style="bold red"))
            return
        self.signed_in = True
        state.update(Text(f"Signed in. The tokens are kept in {done.kept_in}.", style="green"))
        self.notify(f"Signed in for {self.profile.name}.", markup=False)
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "sign-in")  # stops the polling; nothing was kept
        self.dismiss(self.signed_in)
