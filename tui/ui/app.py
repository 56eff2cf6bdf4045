"""The mailtui app: send with the chosen profile, watch the SMTP conversation live, and get
a way out when a send fails or the network changes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.core.message import Draft, MessageInputError, compose, parse_address_list
from tui.core.network import outside_networks, trusted_network_for
from tui.core.network_history import trust_warning
from tui.core.outbox import Outbox, OutboxEntry
from tui.core.profiles import Profile, save_profile
from tui.core.results import AttemptResult, ExitCode, Outcome, given_back
from tui.core.secrets import SecretError, resolve_password
from tui.ui.commands import Offers, ProfileCommands, main_commands
from tui.ui.keys_in_order import KeysInOrder
from tui.ui.main_screen import MainScreen
from tui.ui.safekeeping import AUTOSAVE_SECONDS, RETRY_CHECK_SECONDS, Safekeeping
from tui.ui.screens.outbox import OutboxScreen
from tui.ui.workspace import Workspace

if TYPE_CHECKING:
    from tui.core.sending import Attempt
    from tui.ui.screens.outbox import OutboxScreen

    OutboxScreenEdit = OutboxScreen.Edit

NETWORK_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Suggestion:
    """What ctrl+r does: send the failed message again with another profile, or switch to one."""

    profile_id: str
    resend: bool
    title: str
    reason: str
    queued: str | None = None  # the Message-ID of the outbox message to take back and send


class MailtuiApp(KeysInOrder, Workspace):
    """Compose, send with the chosen profile, and watch the SMTP conversation live."""

    COMMANDS = App.COMMANDS | {ProfileCommands}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.last_result: AttemptResult | None = None
        self.suggestion: Suggestion | None = None
        self._failed_message_id: str | None = None
        self._send_worker: Worker[None] | None = None
        self._check_worker: Worker[None] | None = None
        self._retry_worker: Worker[None] | None = None
        self.start_demo = False
        self.keeper = Safekeeping(self)
        self.exit_after_start = False  # the benchmark's launch-to-first-screen run
        self.trust_offer: tuple[str, str] | None = None  # (profile id, network) after a success
        # Passwords typed at the prompt, by profile id: kept in memory for this session only
        # (never written anywhere), forgotten when the server refuses the login.
        self._typed_passwords: dict[str, str] = {}

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    @on(MainScreen.Ready)
    def start_main(self) -> None:
        """The main screen is mounted: show the profiles and put the cursor in To."""
        if self.demo is not None:
            self.sub_title = "DEMO on local servers"
        self.identity = self.locator.current()
        self.reload_profiles()
        self.update_banner()
        self.main.query_one("#to").focus()
        self.take_keys()  # what was typed before now goes to To, not to no widget at all
        self.set_interval(NETWORK_CHECK_SECONDS, self.watch_network)
        self.set_interval(AUTOSAVE_SECONDS, self.keeper.autosave)
        self.set_interval(RETRY_CHECK_SECONDS, self.retry_outbox)
        self.update_outbox_status()
        self._offer_restore()
        if not self.profile_set.profiles and not self.profile_set.errors and self.demo is None:
            self._welcome()
        if self.exit_after_start:
            self.call_after_refresh(self.exit)
        # Closing the terminal (SIGHUP) or a polite kill (SIGTERM) ends the app as quitting
        # does: the form kept as a draft, and the demo's folder removed on the way out.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.save_and_exit)
        # Everything built so far lives as long as the app: taking it out of the garbage
        # collector's sight keeps its full passes short, so the interface never stalls
        # (measured: 120 ms pauses while sending 25 MB without this, none above 50 ms with).
        # `mailtui` paused the collector while loading (tui/__main__.py): it resumes here.
        gc.freeze()
        gc.enable()

    def _welcome(self) -> None:
        """The first run: say what a profile is, and offer to create one or try the demo."""
        from tui.ui.screens.welcome import WelcomeScreen

        def chosen(choice: str | None) -> None:
            if choice == "new":
                self.action_new_profile()
            elif choice == "demo":
                self.start_demo = True  # run_app starts the demo in its place
                self.exit()

        self.push_screen(WelcomeScreen(), chosen)

    def _offer_restore(self) -> None:
        leftovers = self.keeper.leftover_drafts()
        if not leftovers:
            return
        from tui.ui.screens.restore import RestoreScreen

        saved = leftovers[-1]

        def chosen(choice: str | None) -> None:
            if choice == "restore":
                self.form.load(saved.draft)
                if saved.profile_id and self.profile_set.get(saved.profile_id):
                    self.select_profile(saved.profile_id)
                self.keeper.adopt(saved)
                self.notify("The message you were writing is back.")
            elif choice == "discard":
                self.keeper.drafts.remove(saved.id)

        self.push_screen(RestoreScreen(saved, len(leftovers) - 1), chosen)

    async def action_quit(self) -> None:
        self.save_and_exit()

    def save_and_exit(self) -> None:
        """Quit with the form kept as a draft: ctrl+q, a closed terminal or SIGTERM."""
        self.keeper.save_now()
        self.exit()

    # -- the outbox ----------------------------------------------------------------------------

    def update_outbox_status(self) -> None:
        from textual.widgets import Static

        waiting, attention = self.keeper.counts()
        label = self.main.query_one("#outbox-status", Static)
        if not waiting and not attention:
            label.update("Outbox: empty")
            label.set_class(False, "-busy")
            return
        parts = [f"{waiting} waiting"] if waiting else []
        if attention:
            parts.append(f"{attention} need{'s' if attention == 1 else ''} you")
        label.update(f"Outbox: {', '.join(parts)} (F8)")
        label.set_class(True, "-busy")

    def retry_outbox(self) -> None:
        """Send what is due in the outbox. A retry under way is never cancelled for a new one
        (it may be waiting for a server's 250): the new one is skipped."""
        if self._retry_worker is not None and self._retry_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            return
        self._retry_worker = self.run_worker(self._retry_outbox(), group="outbox")

    async def _retry_outbox(self) -> None:
        try:
            sent = await self.keeper.retry_due()
            if sent:
                self.notify(f"Sent {sent} message(s) from the outbox.", title="Outbox")
                self.reload_profiles()
        finally:
            self._forget_gone_suggestion()
            self.update_outbox_status()
            from tui.ui.screens.outbox import OutboxScreen

            for screen in self.screen_stack:  # its tries, states and errors as they are now
                if isinstance(screen, OutboxScreen):
                    screen.refresh_entries()

    def _forget_gone_suggestion(self) -> None:
        """The queued message that ctrl+r would take back has left the outbox (the retry sent
        it): its explanation and offer no longer hold."""
        queued = self.suggestion.queued if self.suggestion else None
        if queued is None or any(e.message_id == queued for e in self.keeper.outbox.entries()):
            return
        self.suggestion = None
        self.explain(None)
        self.refresh_bindings()

    def action_retry_outbox_now(self) -> None:
        self.keeper.release_all()
        self.retry_outbox()

    def action_outbox(self) -> None:
        from tui.ui.screens.outbox import OutboxScreen

        self.push_screen(OutboxScreen(), lambda _result: self.update_outbox_status())

    def action_new_message(self) -> None:
        """Start a new message; the one in the form is kept in drafts (ctrl+o)."""
        had = not self.form.is_empty
        if not self.keeper.set_aside():
            self.notify("The message could not be kept in drafts; it stays here.", severity="error")
            return
        self.form.clear()
        self.form.query_one("#to").focus()
        if had:
            self.notify("The message you were writing is in drafts (ctrl+o).")

    # The outbox screen's requests, by handler name (its module loads only when opened).
    def on_outbox_screen_send_now(self) -> None:
        self.retry_outbox()

    async def on_outbox_screen_edit(self, event: OutboxScreenEdit) -> None:
        if await self.take_from_outbox(event.entry) and self.screen is event.screen:
            self.pop_screen()

    def action_drafts(self) -> None:
        """Drafts kept by the autosave and by `mailtui send`: open one into the form."""
        from tui.core.drafts import SavedDraft
        from tui.ui.screens.drafts import DraftsScreen

        def chosen(saved: SavedDraft | None) -> None:
            if saved is None:
                return
            if not self.form.is_empty and saved.id != self.keeper.draft_id:
                self.notify(
                    "The compose form is not empty: send or clear it first (ctrl+q keeps it "
                    "as a draft).",
                    severity="warning",
                )
                return
            self.form.load(saved.draft)
            if saved.profile_id and self.profile_set.get(saved.profile_id):
                self.select_profile(saved.profile_id)
            self.keeper.adopt(saved)  # later autosaves replace it, a send removes it
            self.notify(f"Opened the draft {saved.draft.subject or saved.id}.", markup=False)

        self.push_screen(DraftsScreen(self.keeper.drafts), chosen)

    # -- where am I ----------------------------------------------------------------------------

    def watch_network(self) -> None:
        self.run_worker(self.check_network(), group="network", exclusive=True)

    async def check_network(self) -> bool:
        """Notice a move to another network; suggest the profile that last worked there."""
        identity = await asyncio.to_thread(self.locator.current)
        if self.identity is not None and identity.key == self.identity.key:
            return False
        self.identity = identity
        self.refresh_profile_list()
        last = self.network_history.last_worked(identity)
        profile = self.profile_set.get(last) if last else None
        if profile is not None and profile.id != self.active_id:
            self.suggestion = Suggestion(
                profile.id,
                False,
                f"Switch to {profile.name}",
                f"it worked last time on {identity.describe()}",
            )
            text = (
                f"The network changed: you are now on {identity.describe()}. {profile.name} "
                "worked last time here; press ctrl+r to switch to it."
            )
        else:
            text = f"The network changed: you are now on {identity.describe()}."
        self.explain(text)
        self.refresh_bindings()
        self.keeper.release_all()  # a new network may let queued messages out
        self.retry_outbox()
        return True

    def action_add_network(self) -> None:
        """After a success by network trust: add this network to the profile, after asking."""
        offer = self.trust_offer
        profile = self.profile_set.get(offer[0]) if offer else None
        if offer is None or profile is None:
            return
        network = offer[1]
        from tui.ui.screens.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.trust_offer = None
            save_profile(profile._replace(networks=(*profile.networks, network), path=None))
            self.reload_profiles()
            self.explain(None)
            self.refresh_bindings()
            self.notify(
                f"{profile.name} now lists {network} as a network where it works.", markup=False
            )

        self.push_screen(
            ConfirmScreen(
                f"{profile.name} just worked from {network}. Add it to the networks where this "
                "profile is trusted, so mailtui stops warning here?",
                yes="Add network",
                variant="primary",
            ),
            confirmed,
        )

    # -- sending -------------------------------------------------------------------------------

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
        if action in ("mailbox", "toggle_network"):
            return self.demo is not None
        return True

    def action_send(self) -> None:
        if self.screen is not self.main:
            return
        if self.sending:
            self.notify("A message is being sent; Escape cancels it.", severity="warning")
            return
        profile = self.active_profile
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
        self.select_profile(suggestion.profile_id)
        if suggestion.resend:
            self.action_send()
        self.refresh_bindings()

    async def password_for(self, profile: Profile, ask: bool = True) -> str | None:
        """The profile's secret from its sources, else (with `ask`) a masked prompt."""
        if not profile.logs_in:
            return None
        try:
            return await asyncio.to_thread(resolve_password, profile)
        except SecretError:
            typed = self._typed_passwords.get(profile.id)
            if typed is not None or not ask:
                return typed
            from tui.ui.screens.password import PasswordScreen

            typed = await self.push_screen_wait(PasswordScreen(profile))
            if typed is not None:
                self._typed_passwords[profile.id] = typed
            return typed

    def forget_password(self, profile_id: str, result: AttemptResult) -> None:
        """A refused login (535): a password typed this session is wrong, never used again."""
        if result.outcome is Outcome.AUTH_FAILED:
            self._typed_passwords.pop(profile_id, None)

    async def _confirm_network(self, profile: Profile) -> Profile | None:
        """Warn before an IP-trusted profile is used outside its networks; returns the profile
        to send with (maybe another), or None to not send."""
        await self.check_network()
        assert self.identity is not None
        local = await asyncio.to_thread(self.locator.local_address, profile)
        warning = trust_warning(
            profile, self.profile_set.profiles, self.identity, local, self.network_history
        )
        if warning is None:
            return profile
        from tui.ui.screens.network_warning import NetworkWarningScreen

        choice = await self.push_screen_wait(NetworkWarningScreen(warning))
        if choice == "alternative" and warning.alternative is not None:
            self.select_profile(warning.alternative.id)
            return warning.alternative
        return profile if choice == "anyway" else None

    @work(exclusive=True, group="send")
    async def send_message(
        self, profile: Profile, draft: Draft, message_id: str | None, warn: bool
    ) -> None:
        pane = self.pane
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
            password = await self.password_for(profile)
            if profile.logs_in and password is None:
                pane.state = "cancelled"
                self.explain("Not sent: no password was given. The message is still here.")
                return
            from tui.core import sending  # loaded when first needed: start-up stays short

            attempt = sending.Attempt(
                profile,
                sending.Mode.SEND,
                profiles=self.profile_set.profiles,
                listener=pane.handle,
                password=password,
                locator=self.locator,
                history=self.network_history,
            )
            result = await attempt.send(draft, message_id)
            local = None  # where it went from, for the trust hint: a name lookup, off the loop
            if result.outcome is Outcome.SENT and not profile.logs_in:
                local = await asyncio.to_thread(self.locator.local_address, profile)
        except asyncio.CancelledError:
            pane.state = "cancelled"
            settled = attempt.interrupted() if attempt is not None else None
            if settled is not None and settled.outcome is not Outcome.CANCELLED:
                # Too late to stop: the end of the message had left. The outbox has it, and
                # the form is cleared so that it is not sent a second time by mistake.
                self._after_attempt(profile, settled)
                raise
            self.explain("Cancelled: nothing was sent. The message is still in the form.")
            self.notify("Send cancelled; the message is still in the form.", severity="warning")
            self.reload_profiles()
            raise
        self._after_attempt(profile, result, local)

    def _after_attempt(
        self, profile: Profile, result: AttemptResult, local: str | None = None
    ) -> None:
        self.last_result = result
        self.forget_password(profile.id, result)
        self.pane.finish(result)
        self.suggestion = None
        if result.outcome is Outcome.SENT:
            self._failed_message_id = None
            self.keeper.sent()
            self.form.clear()
            self.form.query_one("#to").focus()
            self.notify(result.summary, title="Sent", markup=False)
            self.explain(self._trust_hint(profile, local))
        elif not given_back(result):  # the outbox keeps it (or the rest of it) for later
            # The outbox has it now: the form is free for the next message.
            self._failed_message_id = None
            self.keeper.sent()
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
        self.update_outbox_status()
        self.reload_profiles()
        self.refresh_bindings()

    def _retry_profile(self, result: AttemptResult) -> Profile | None:
        retry = result.diagnosis.retry_profile if result.diagnosis else None
        return self.profile_set.get(retry) if retry else None

    async def take_from_outbox(self, entry: OutboxEntry) -> bool:
        """Put a queued message back in the form (and out of the outbox) to edit or resend.
        It is read in a thread (it may be 25 MB), and leaves the outbox once in the form."""
        from tui.ui.screens.outbox import read_back

        if not self.form.is_empty:
            self.notify(
                "The compose form is not empty: send or clear it first.", severity="warning"
            )
            return False
        from tui.core.outbox import OutboxBusy

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
        if self.profile_set.get(entry.profile_id):
            self.select_profile(entry.profile_id)
        self.update_outbox_status()
        return True

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

    def action_cancel_send(self) -> None:
        if self._send_worker is not None and self.sending:
            self._send_worker.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.refresh_bindings()

    def check_profile(self, profile_id: str | None = None) -> None:
        profile = self.profile_set.get(profile_id) if profile_id else self.active_profile
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
        pane = self.pane
        pane.begin(f"check {profile.name}")
        self.explain(None)
        password = await self.password_for(profile)
        if profile.logs_in and password is None:
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
            profiles=self.profile_set.profiles,
            listener=pane.handle,
            password=password,
            locator=self.locator,
            history=self.network_history,
        )
        self.last_result = result
        self.forget_password(profile.id, result)
        pane.finish(result, check=True)
        self.explain(
            f"Check of {profile.name}: {result.summary}", error=result.exit_code != ExitCode.OK
        )
        self.reload_profiles()

    # -- compose helpers ---------------------------------------------------------------------

    def action_attach(self) -> None:
        from tui.ui.screens.attach import AttachScreen

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.form.add_attachment(path)

        self.push_screen(AttachScreen(Path.cwd()), chosen)

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
                with self.suspend():
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

    # -- other screens -----------------------------------------------------------------------

    def action_history(self) -> None:
        from tui.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen())

    def action_mailbox(self) -> None:
        if self.demo is not None:
            from tui.ui.screens.mailbox import MailboxScreen

            self.push_screen(MailboxScreen(self.demo))

    def action_toggle_network(self) -> None:
        demo = self.demo
        if demo is None:
            return
        isp = self.profile_set.get("isp")
        if isp is None:
            self.notify("The demo ISP profile is gone; restart the demo.", severity="error")
            return
        demo.set_away(not demo.away, isp)
        self.reload_profiles()
        self.update_banner()
        self.watch_network()

    @on(MainScreen.LayoutChanged)
    def _layout_changed(self) -> None:
        if self.demo is not None:
            self.update_banner()  # the banner's wording fits the width

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):  # not behind a dialog or another screen
            offers = Offers(
                sending=self.sending,
                trust=f"Trust {self.trust_offer[1]} for profile {self.trust_offer[0]}"
                if self.trust_offer is not None
                else None,
                suggestion=(self.suggestion.title, self.suggestion.reason)
                if self.suggestion is not None
                else None,
                demo=self.demo is not None,
            )
            yield from main_commands(self, screen, offers)


def run_app(
    demo: bool = False, profile_id: str | None = None, exit_after_start: bool = False
) -> int:
    environment = None
    if demo:
        from tui.demo.environment import DemoEnvironment

        environment = DemoEnvironment.start()
    try:
        app = MailtuiApp(environment, profile_id)
        app.exit_after_start = exit_after_start
        code = app.run(headless=exit_after_start)
        if app.start_demo:  # chosen on the welcome screen of a first run
            return run_app(demo=True)
        return code or 0
    finally:
        if environment is not None:
            environment.close()
