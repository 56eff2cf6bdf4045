"""The mailtui app: send with the chosen profile, watch the SMTP conversation live, and get
a way out when a send fails or the network changes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.core.profiles import Profile
from tui.core.results import AttemptResult, Outcome
from tui.core.secrets import SecretError, resolve_password
from tui.ui.commands import Offers, ProfileCommands, main_commands
from tui.ui.keys_in_order import KeysInOrder
from tui.ui.main_screen import MainScreen, Suggestion
from tui.ui.resting_cursor import RestingCursor
from tui.ui.safekeeping import AUTOSAVE_SECONDS, RETRY_CHECK_SECONDS, Safekeeping
from tui.ui.workspace import Workspace

if TYPE_CHECKING:
    from tui.ui.screens.outbox import OutboxScreen

    OutboxScreenEdit = OutboxScreen.Edit

NETWORK_CHECK_SECONDS = 5.0


class MailtuiApp(RestingCursor, KeysInOrder, Workspace):
    """Compose, send with the chosen profile, and watch the SMTP conversation live."""

    COMMANDS = App.COMMANDS | {ProfileCommands}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._retry_worker: Worker[None] | None = None
        self.start_demo = False
        self.keeper = Safekeeping(self)
        self.exit_after_start = False  # the benchmark's launch-to-first-screen run
        # Passwords typed at the prompt, by profile id: kept in memory for this session only
        # (never written anywhere), forgotten when the server refuses the login.
        self._typed_passwords: dict[str, str] = {}
        self._outbox_status: str | None = None  # what the main screen's outbox line says

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self)

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
        self.set_interval(AUTOSAVE_SECONDS, self._autosave)
        self.set_interval(RETRY_CHECK_SECONDS, self.retry_outbox)
        self.rest_cursor_when_idle()
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

    def _autosave(self) -> None:
        if self.screen_stack and self.main.display:  # not while the app closes
            self.keeper.autosave()

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
                self.main.open_draft(saved)
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
        """Say under the profiles what the outbox holds; the line is redrawn (and the screen
        laid out again) only when what it says changes, not on every retry tick."""
        from textual.widgets import Static

        from tui.core.pending_copies import pending

        waiting, attention = self.keeper.counts()
        copies = len(pending())
        parts = [f"{waiting} waiting"] if waiting else []
        if attention:
            parts.append(f"{attention} need{'s' if attention == 1 else ''} you")
        if copies:
            parts.append(f"{copies} cop{'y' if copies == 1 else 'ies'} to Sent pending")
        text = f"Outbox: {', '.join(parts)} (F8)" if parts else "Outbox: empty"
        if text == self._outbox_status:
            return
        self._outbox_status = text
        label = self.main.query_one("#outbox-status", Static)
        label.update(text)
        label.set_class(bool(parts), "-busy")

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
            self._show_outbox()

    def _show_outbox(self) -> None:
        """After a retry: the outbox line, the ctrl+r offer and an open outbox screen as the
        outbox is now."""
        if not self.screen_stack or not self.main.display:
            return  # the app is closing (its widgets are being pruned): nothing to show
        self.main.forget_gone_suggestion({e.message_id for e in self.keeper.outbox.entries()})
        self.update_outbox_status()
        if len(self.screen_stack) > 1:  # (its module loads only when it has been opened)
            from tui.ui.screens.outbox import OutboxScreen

            for screen in self.screen_stack:  # its tries, states and errors as they are now
                if isinstance(screen, OutboxScreen):
                    screen.refresh_entries()

    def action_retry_outbox_now(self) -> None:
        self.keeper.release_all()
        self.retry_outbox()

    def action_outbox(self) -> None:
        from tui.ui.screens.outbox import OutboxScreen

        self.push_screen(OutboxScreen(), lambda _result: self.update_outbox_status())

    # The outbox screen's requests, by handler name (its module loads only when opened).
    def on_outbox_screen_send_now(self) -> None:
        self.retry_outbox()

    async def on_outbox_screen_edit(self, event: OutboxScreenEdit) -> None:
        if await self.main.take_from_outbox(event.entry) and self.screen is event.screen:
            self.pop_screen()

    # -- where am I ----------------------------------------------------------------------------

    def watch_network(self) -> None:
        """The timer's look at the network: reading the route and the address is a few
        microseconds of kernel state (tui/core/network.py), done here; only a move starts
        the worker that updates the profiles and makes the offer."""
        if self.identity is not None and self.locator.current().key == self.identity.key:
            return
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
        suggestion = None
        if profile is not None and profile.id != self.active_id:
            suggestion = Suggestion(
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
        self.main.offer(suggestion, text)
        self.keeper.release_all()  # a new network may let queued messages out
        self.retry_outbox()
        return True

    async def password_for(self, profile: Profile, ask: bool = True) -> str | None:
        """The profile's secret from its sources, else (with `ask`) a masked prompt. None
        for an OAuth2 token login: the attempt gets its token itself."""
        if not profile.logs_in or profile.fetches_token:
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

    # -- other screens -----------------------------------------------------------------------

    def action_history(self) -> None:
        from tui.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mailbox", "toggle_network"):
            return self.demo is not None
        return True

    def check_profile(self, profile_id: str | None = None) -> None:
        self.main.check_profile(profile_id)

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
            trust, suggestion = screen.trust_offer, screen.suggestion
            offers = Offers(
                sending=screen.sending,
                trust=f"Trust {trust[1]} for profile {trust[0]}" if trust is not None else None,
                suggestion=(suggestion.title, suggestion.reason) if suggestion else None,
                demo=self.demo is not None,
            )
            yield from main_commands(screen, offers)


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
