"""The main screen: profiles, the compose form and the live transcript, with their keys.

It owns what happens in it: sending and checking (with their workers), the explanation under
the form and what ctrl+r and ctrl+n offer, attaching and the external editor. What it needs
of the rest of the app (the profiles, passwords, the network, the outbox) it is given as a
`MainHost` when it is created; it never imports the app.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from tui.core.message import Draft, MessageInputError, compose, parse_address_list
from tui.core.network import outside_networks, trusted_network_for
from tui.core.network_history import trust_warning
from tui.core.outbox import Outbox, OutboxBusy, OutboxEntry
from tui.core.profiles import Profile, save_profile
from tui.core.results import AttemptResult, ExitCode, Outcome, given_back
from tui.ui.widgets.compose_form import ComposeForm
from tui.ui.widgets.profile_list import ProfileList
from tui.ui.widgets.transcript_pane import TranscriptPane

if TYPE_CHECKING:
    from tui.core.drafts import SavedDraft
    from tui.core.network import Locator, NetworkIdentity
    from tui.core.network_history import NetworkHistory
    from tui.core.profiles import ProfileSet
    from tui.core.sending import Attempt
    from tui.ui.safekeeping import Safekeeping

NARROW_WIDTH = 120
SHORT_HEIGHT = 32


@dataclass(frozen=True)
class Suggestion:
    """What ctrl+r does: send the failed message again with another profile, or switch to one."""

    profile_id: str
    resend: bool
    title: str
    reason: str
    queued: str | None = None  # the Message-ID of the outbox message to take back and send


class MainHost(Protocol):
    """What the main screen needs of the app around it (the app module provides it)."""

    locator: Locator
    network_history: NetworkHistory
    identity: NetworkIdentity | None
    profile_set: ProfileSet
    active_id: str | None
    keeper: Safekeeping

    @property
    def active_profile(self) -> Profile | None: ...

    async def password_for(self, profile: Profile, ask: bool = True) -> str | None: ...
    def forget_password(self, profile_id: str, result: AttemptResult) -> None: ...
    def reload_profiles(self) -> None: ...
    def select_profile(self, profile_id: str) -> None: ...
    async def check_network(self) -> bool: ...
    def update_outbox_status(self) -> None: ...


class MainScreen(Screen[None]):
    """Its keys work only here, not on the editor or history screens."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="send", priority=True),
        Binding("escape", "cancel_send", "Cancel send", id="cancel-send"),
        Binding("ctrl+t", "app.next_profile", "Next profile", id="switch-profile", priority=True),
        Binding("ctrl+r", "retry", "Retry/switch", id="retry", priority=True),
        Binding("ctrl+n", "add_network", "Trust network", id="add-network", priority=True),
        # Shown in the form itself ("ctrl+e $EDITOR · F9 full screen", "ctrl+f to attach").
        Binding("ctrl+e", "edit_body", "$EDITOR", id="edit-body", priority=True, show=False),
        Binding("ctrl+f", "attach", "Attach", id="attach", priority=True, show=False),
        Binding("f9", "zoom", "Full screen", id="zoom", priority=True, show=False),
        Binding("ctrl+b", "copies", "Cc/Bcc", id="copies", priority=True, show=False),
        # The footer shows keys in this order and cuts the last ones off in 80 columns: the
        # everyday ones and Quit come first, the rest are in the palette (ctrl+p) too.
        Binding("f2", "app.edit_profile", "Edit profile", id="edit-profile", priority=True),
        Binding("f5", "app.history", "History", id="history", priority=True),
        Binding("f8", "app.outbox", "Outbox", id="outbox", priority=True),
        Binding("ctrl+o", "drafts", "Drafts", id="drafts", priority=True, show=False),
        Binding("ctrl+q", "app.quit", "Quit", id="quit", priority=True),
        Binding("f3", "app.new_profile", "New", id="new-profile", priority=True),
        Binding("f4", "check_profile", "Check", id="check-profile", priority=True),
        Binding("f6", "app.mailbox", "Mailbox", id="demo-mailbox", priority=True),
        Binding("f7", "app.toggle_network", "Move", id="demo-network", priority=True),
    ]

    def __init__(self, host: MainHost) -> None:
        super().__init__()
        self.host = host
        self.last_result: AttemptResult | None = None
        self.suggestion: Suggestion | None = None
        self.trust_offer: tuple[str, str] | None = None  # (profile id, network) after a success
        self._failed_message_id: str | None = None
        self._send_worker: Worker[None] | None = None

    @property
    def form(self) -> ComposeForm:
        return self.query_one(ComposeForm)

    @property
    def pane(self) -> TranscriptPane:
        return self.query_one("#transcript", TranscriptPane)

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

    # -- what the screen says and offers ---------------------------------------------------------

    def explain(self, text: str | None, error: bool = False) -> None:
        """The plain-language line under the form: why a send failed, or what to do next."""
        label = self.query_one("#explanation", Static)
        label.update(Text(text or ""))
        label.set_class(bool(text), "-shown")
        label.set_class(error, "-error")

    def offer(self, suggestion: Suggestion | None, text: str | None) -> None:
        """Say `text` and let ctrl+r do what `suggestion` says (None: nothing to offer)."""
        self.suggestion = suggestion
        self.explain(text)
        self.refresh_bindings()

    def forget_gone_suggestion(self, queued_ids: set[str]) -> None:
        """The queued message that ctrl+r would take back has left the outbox (a retry sent
        it): its explanation and offer no longer hold."""
        queued = self.suggestion.queued if self.suggestion else None
        if queued is not None and queued not in queued_ids:
            self.offer(None, None)

    @property
    def sending(self) -> bool:
        return self._send_worker is not None and self._send_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_send":
            return self.sending
        if action == "retry":
            return self.suggestion is not None
        if action == "add_network":
            return self.trust_offer is not None
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self.display:  # not while the app closes
            self.refresh_bindings()

    # -- sending -------------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.app.screen is not self:
            return
        if self.sending:
            self.notify("A message is being sent; Escape cancels it.", severity="warning")
            return
        profile = self.host.active_profile
        if profile is None:
            self.notify("Create a profile first (F3).", severity="error")
            return
        draft = self.form.draft()
        try:
            compose(profile.from_, draft)
        except MessageInputError as exc:
            self.form.show_input_error(exc)
            self.explain(f"Not sent: {exc.reason}.", error=True)
            return
        self._send_worker = self.send_message(profile, draft, self._failed_message_id, True)

    async def action_retry(self) -> None:
        suggestion = self.suggestion
        if suggestion is None:
            return
        self.suggestion = None
        if suggestion.queued is not None:
            entry = next((e for e in Outbox().entries() if e.message_id == suggestion.queued), None)
            if entry is None:  # sent or deleted meanwhile
                self.notify("That message is no longer in the outbox.", severity="warning")
                self.refresh_bindings()
                return
            if not await self.take_from_outbox(entry):
                self.suggestion = suggestion  # still on offer once the form is free
                return
        self.host.select_profile(suggestion.profile_id)
        if suggestion.resend:
            self.action_send()
        self.refresh_bindings()

    def action_cancel_send(self) -> None:
        if self._send_worker is not None and self.sending:
            self._send_worker.cancel()

    async def _confirm_network(self, profile: Profile) -> Profile | None:
        """Warn before an IP-trusted profile is used outside its networks; returns the profile
        to send with (maybe another), or None to not send."""
        host = self.host
        await host.check_network()
        assert host.identity is not None
        local = await asyncio.to_thread(host.locator.local_address, profile)
        warning = trust_warning(
            profile, host.profile_set.profiles, host.identity, local, host.network_history
        )
        if warning is None:
            return profile
        from tui.ui.screens.network_warning import NetworkWarningScreen

        choice = await self.app.push_screen_wait(NetworkWarningScreen(warning))
        if choice == "alternative" and warning.alternative is not None:
            host.select_profile(warning.alternative.id)
            return warning.alternative
        return profile if choice == "anyway" else None

    @work(exclusive=True, group="send")
    async def send_message(
        self, profile: Profile, draft: Draft, message_id: str | None, warn: bool
    ) -> None:
        pane, host = self.pane, self.host
        self.explain(None)
        self.refresh_bindings()
        attempt: Attempt | None = None
        try:
            chosen = await self._confirm_network(profile) if warn else profile
            if chosen is None:
                self.explain("Not sent. The message is still here.")
                return
            profile = chosen
            pane.begin(f"send with {profile.name}")
            if not await self._signed_in(profile):
                pane.state = "cancelled"
                self.explain(
                    f"Not sent: {profile.name} signs in with OAuth2 and the sign-in did not "
                    "finish. The message is still here; send again to sign in."
                )
                return
            password = await host.password_for(profile)
            if profile.logs_in and password is None and not profile.fetches_token:
                pane.state = "cancelled"
                self.explain("Not sent: no password was given. The message is still here.")
                return
            from tui.core import sending  # loaded when first needed: start-up stays short

            attempt = sending.Attempt(
                profile,
                sending.Mode.SEND,
                profiles=host.profile_set.profiles,
                listener=pane.handle,
                password=password,
                locator=host.locator,
                history=host.network_history,
            )
            result = await attempt.send(draft, message_id)
            local = None  # where it went from, for the trust hint: a name lookup, off the loop
            if result.outcome is Outcome.SENT and not profile.logs_in:
                local = await asyncio.to_thread(host.locator.local_address, profile)
        except asyncio.CancelledError:
            # The outbox learns first (if the end of the message left, it keeps it as
            # "unknown"); then the screen says so, unless the app is closing and takes the
            # screen down (`display` is False while its widgets are pruned).
            settled = attempt.interrupted() if attempt is not None else None
            if not self.display:
                raise
            pane.state = "cancelled"
            if settled is not None and settled.outcome is not Outcome.CANCELLED:
                # Too late to stop: the end of the message had left. The outbox has it, and
                # the form is cleared so that it is not sent a second time by mistake.
                self._after_attempt(profile, settled)
                raise
            self.explain("Cancelled: nothing was sent. The message is still in the form.")
            self.notify("Send cancelled; the message is still in the form.", severity="warning")
            host.reload_profiles()
            raise
        self._after_attempt(profile, result, local)

    async def _signed_in(self, profile: Profile) -> bool:
        """A profile that signs in with mailtui's own OAuth2 ([oauth]) and has no tokens
        yet: the sign-in screen opens instead of a failed send. True when it may go on."""
        if not profile.signs_in:
            return True
        from tui.core.oauth import store

        if await asyncio.to_thread(store.load, profile.id) is not None:
            return True
        from tui.ui.screens.sign_in import SignInScreen

        reason = f"{profile.name} sends with an OAuth2 sign-in, and it has none yet."
        signed = await self.app.push_screen_wait(SignInScreen(profile, reason))
        return bool(signed)

    def _after_attempt(
        self, profile: Profile, result: AttemptResult, local: str | None = None
    ) -> None:
        host = self.host
        self.last_result = result
        host.forget_password(profile.id, result)
        self.pane.finish(result)
        self.suggestion = None
        if result.outcome is Outcome.SENT:
            self._failed_message_id = None
            host.keeper.sent()
            self.form.clear()
            self.form.query_one("#to").focus()
            self.notify(result.summary, title="Sent", markup=False)
            if result.sent_copy and result.sent_copy in result.warnings:  # a pending copy
                self.notify(result.sent_copy, title="Sent copy", severity="warning", markup=False)
                host.update_outbox_status()
            self.explain(self._trust_hint(profile, local))
        elif not given_back(result):  # the outbox keeps it (or the rest of it) for later
            # The outbox has it now: the form is free for the next message.
            self._failed_message_id = None
            host.keeper.sent()
            self.form.clear()
            hint = ""
            other = self._retry_profile(result)
            if other is not None and result.outcome is Outcome.TEMPORARY:  # never resend an
                # unknown outcome without the person: it may have been delivered
                self.suggestion = Suggestion(
                    other.id,
                    True,
                    f"Send it with {other.name} now",
                    "take it back from the outbox and send it with that profile",
                    queued=result.message_id,
                )
                hint = f" Press ctrl+r to send it with {other.name} now."
            self.explain(result.summary + hint, error=True)
            self.notify("Kept in the outbox (F8).", title="Not sent yet", severity="warning")
        else:
            self._failed_message_id = result.message_id
            if result.outcome is Outcome.PARTIAL:  # keep it for those who refused it only
                from tui.core.message import only_recipients

                self.form.load(
                    only_recipients(self.form.draft(), [r.address for r in result.refused])
                )
            hint = ""
            other = self._retry_profile(result)
            if other is not None:
                self.suggestion = Suggestion(
                    other.id,
                    True,
                    f"Retry with {other.name}",
                    "send the same message again with it",
                )
                hint = " Press ctrl+r to retry with it."
            self.explain(result.summary + hint, error=True)
        host.update_outbox_status()
        host.reload_profiles()
        self.refresh_bindings()

    def _retry_profile(self, result: AttemptResult) -> Profile | None:
        retry = result.diagnosis.retry_profile if result.diagnosis else None
        return self.host.profile_set.get(retry) if retry else None

    def _trust_hint(self, profile: Profile, local: str | None) -> str | None:
        """After a success by network trust from a network the profile does not list; `local`
        is the address the send went from."""
        self.trust_offer = None
        if profile.logs_in:
            return None
        if local is None or (profile.networks and not outside_networks(profile, local)):
            return None
        network = trusted_network_for(local)
        self.trust_offer = (profile.id, network)
        return (
            f"Sent. {profile.name} worked from {network}: press ctrl+n to add it to its networks."
        )

    def action_add_network(self) -> None:
        """After a success by network trust: add this network to the profile, after asking."""
        offer = self.trust_offer
        profile = self.host.profile_set.get(offer[0]) if offer else None
        if offer is None or profile is None:
            return
        network = offer[1]
        from tui.ui.screens.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.trust_offer = None
            save_profile(profile._replace(networks=(*profile.networks, network), path=None))
            self.host.reload_profiles()
            self.offer(None, None)
            self.notify(
                f"{profile.name} now lists {network} as a network where it works.", markup=False
            )

        self.app.push_screen(
            ConfirmScreen(
                f"{profile.name} just worked from {network}. Add it to the networks where this "
                "profile is trusted, so mailtui stops warning here?",
                yes="Add network",
                variant="primary",
            ),
            confirmed,
        )

    # -- checking ------------------------------------------------------------------------------

    def check_profile(self, profile_id: str | None = None) -> None:
        host = self.host
        profile = host.profile_set.get(profile_id) if profile_id else host.active_profile
        if profile is None:
            return
        if self.sending:  # a check never cancels a send: the message may be on its way
            self.notify("A send is under way; check when it is over.", severity="warning")
            return
        self._send_worker = self.run_check(profile)

    def action_check_profile(self) -> None:
        self.check_profile()

    @work(exclusive=True, group="send")
    async def run_check(self, profile: Profile) -> None:
        pane, host = self.pane, self.host
        pane.begin(f"check {profile.name}")
        self.explain(None)
        password = await host.password_for(profile)
        if profile.logs_in and password is None and not profile.fetches_token:
            pane.state = "cancelled"
            return
        draft = self.form.draft()
        try:
            rcpts = [
                m.addr_spec for m in parse_address_list([*draft.to, *draft.cc, *draft.bcc], "to")
            ]
        except MessageInputError:
            rcpts = []
        from tui.core import sending

        result = await sending.check(
            profile,
            rcpts,
            profiles=host.profile_set.profiles,
            listener=pane.handle,
            password=password,
            locator=host.locator,
            history=host.network_history,
        )
        self.last_result = result
        host.forget_password(profile.id, result)
        pane.finish(result, check=True)
        self.explain(
            f"Check of {profile.name}: {result.summary}", error=result.exit_code != ExitCode.OK
        )
        host.reload_profiles()

    # -- the form: a new message, drafts, the outbox's messages ----------------------------------

    def action_new_message(self) -> None:
        """Start a new message; the one in the form is kept in drafts (ctrl+o)."""
        had = not self.form.is_empty
        if not self.host.keeper.set_aside():
            self.notify("The message could not be kept in drafts; it stays here.", severity="error")
            return
        self.form.clear()
        self.form.query_one("#to").focus()
        if had:
            self.notify("The message you were writing is in drafts (ctrl+o).")

    def action_drafts(self) -> None:
        """Drafts kept by the autosave and by `mailtui send`: open one into the form."""
        from tui.ui.screens.drafts import DraftsScreen

        keeper = self.host.keeper

        def chosen(saved: SavedDraft | None) -> None:
            if saved is None:
                return
            if not self.form.is_empty and saved.id != keeper.draft_id:
                self.notify(
                    "The compose form is not empty: send or clear it first (ctrl+q keeps it "
                    "as a draft).",
                    severity="warning",
                )
                return
            self.open_draft(saved)
            self.notify(f"Opened the draft {saved.draft.subject or saved.id}.", markup=False)

        self.app.push_screen(DraftsScreen(keeper.drafts), chosen)

    def open_draft(self, saved: SavedDraft) -> None:
        """Put a kept draft in the form: later autosaves replace it, a send removes it."""
        self.form.load(saved.draft)
        if saved.profile_id and self.host.profile_set.get(saved.profile_id):
            self.host.select_profile(saved.profile_id)
        self.host.keeper.adopt(saved)

    async def take_from_outbox(self, entry: OutboxEntry) -> bool:
        """Put a queued message back in the form (and out of the outbox) to edit or resend.
        It is read in a thread (it may be 25 MB), and leaves the outbox once in the form."""
        from tui.ui.screens.outbox import read_back

        if not self.form.is_empty:
            self.notify(
                "The compose form is not empty: send or clear it first.", severity="warning"
            )
            return False
        outbox = Outbox()
        try:
            claim = outbox.take(entry.id)  # not while a flush is sending it
        except (OutboxBusy, KeyError):
            self.notify("That message is being sent or has left the outbox.", severity="warning")
            return False
        try:
            draft = await read_back(outbox, claim.entry)
            self.form.load(draft)
        except BaseException:
            claim.release()
            raise
        outbox.discard(claim)
        if self.host.profile_set.get(entry.profile_id):
            self.host.select_profile(entry.profile_id)
        self.host.update_outbox_status()
        return True

    # -- attachments and the external editor -----------------------------------------------------

    def action_attach(self) -> None:
        from tui.ui.screens.attach import AttachScreen

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.form.add_attachment(path)

        self.app.push_screen(AttachScreen(Path.cwd()), chosen)

    def action_remove_attachment(self) -> None:
        removed = self.form.remove_highlighted_attachment()
        if removed is not None:
            self.notify(f"Removed {removed.name}", markup=False)

    def action_edit_body(self) -> None:
        """Open the body in $EDITOR (the app is suspended meanwhile) and take the result back.

        The editor is found before the app lets go of the terminal, and any failure to run it
        is caught inside the suspension: the app always takes the terminal back."""
        from textual.widgets import TextArea

        body = self.form.query_one("#body", TextArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            command = shlex.split(editor)
        except ValueError as exc:
            self._editor_failed(editor, str(exc))
            return
        program = shutil.which(command[0]) if command else None
        if program is None:
            self._editor_failed(editor, "no such program, or it is not executable")
            return
        with tempfile.TemporaryDirectory(prefix="mailtui-") as folder:
            path = Path(folder) / "body.txt"
            path.write_text(body.text, encoding="utf-8")
            path.chmod(0o600)
            failure: str | None = None
            status = 0
            try:
                with self.app.suspend():
                    try:
                        done = subprocess.run([program, *command[1:], str(path)], check=False)
                    except OSError as exc:
                        failure = exc.strerror or str(exc)
                    else:
                        status = done.returncode
            except SuspendNotSupported:
                failure = "this terminal cannot be handed over to another program"
            if failure is not None:
                self._editor_failed(editor, failure)
                return
            if status != 0:  # e.g. vim's :cq, "abandon the edit"
                self.notify(
                    f"The editor '{editor}' exited with status {status}: the message is unchanged.",
                    severity="warning",
                    markup=False,
                )
                return
            body.load_text(path.read_text(encoding="utf-8", errors="replace"))

    def _editor_failed(self, editor: str, why: str) -> None:
        self.notify(
            f"The editor '{editor}' could not be started: {why}. Set $EDITOR (or $VISUAL) to "
            "an editor that works; the message is unchanged.",
            severity="error",
            timeout=10,
            markup=False,
        )
