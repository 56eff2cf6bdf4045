"""The mailtui app: profiles, the compose form and the live transcript on one screen."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from tui.core import sending
from tui.core.history import list_attempts
from tui.core.message import MessageInputError, compose
from tui.core.profiles import Profile, ProfileSet, delete_profile, load_profiles
from tui.core.results import AttemptResult, ExitCode, Outcome
from tui.core.secrets import SecretError, resolve_password
from tui.demo.environment import DemoEnvironment
from tui.ui.widgets.compose_form import ComposeForm
from tui.ui.widgets.profile_list import ProfileList, ProfileStatus
from tui.ui.widgets.transcript_pane import TranscriptPane

NARROW_WIDTH = 120
SHORT_HEIGHT = 32


class ProfileCommands(Provider):
    """Command palette entries for each profile: switch to it, edit it, check it."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, MailtuiApp)
        matcher = self.matcher(query)
        for profile in app.profile_set.profiles:
            for verb, action in (
                ("Switch to profile", app.select_profile),
                ("Edit profile", app.edit_profile),
                ("Check profile", app.check_profile),
            ):
                title = f"{verb}: {profile.name} ({profile.id})"
                score = matcher.match(title)
                if score > 0:
                    yield Hit(
                        score,
                        matcher.highlight(title),
                        lambda action=action, pid=profile.id: action(pid),
                        help=f"{profile.provider_label} · {profile.auth_label}",
                    )

    async def discover(self) -> Hits:
        app = self.app
        assert isinstance(app, MailtuiApp)
        for profile in app.profile_set.profiles:
            yield Hit(
                1.0,
                f"Switch to profile: {profile.name} ({profile.id})",
                lambda pid=profile.id: app.select_profile(pid),
                help=f"{profile.provider_label} · {profile.auth_label}",
            )


class MainScreen(Screen[None]):
    """Profiles, compose form and transcript; its keys work only here, not on other screens."""

    BINDINGS = [
        Binding("ctrl+s", "app.send", "Send", id="send", priority=True),
        Binding("escape", "app.cancel_send", "Cancel send", id="cancel-send"),
        Binding("ctrl+t", "app.next_profile", "Switch profile", id="switch-profile", priority=True),
        Binding("ctrl+r", "app.retry", "Retry with suggested", id="retry", priority=True),
        Binding("ctrl+e", "app.edit_body", "Body in $EDITOR", id="edit-body", priority=True),
        Binding("ctrl+f", "app.attach", "Attach", id="attach", priority=True),
        Binding("f2", "app.edit_profile", "Edit profile", id="edit-profile", priority=True),
        Binding("f3", "app.new_profile", "New profile", id="new-profile", priority=True),
        Binding("f4", "app.check_profile", "Check", id="check-profile", priority=True),
        Binding("f5", "app.history", "History", id="history", priority=True),
        Binding("f6", "app.mailbox", "Mailbox", id="demo-mailbox", priority=True),
        Binding("f7", "app.toggle_network", "Switch network", id="demo-network", priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        with Horizontal(id="main"):
            with Vertical(id="profiles-col"):
                yield Static("Profiles", classes="col-title")
                yield ProfileList(id="profiles")
            with Vertical(id="compose-col"):
                yield Static("Compose", classes="col-title")
                yield ComposeForm(id="compose")
            with Vertical(id="transcript-col"):
                yield Static("Transcript", classes="col-title")
                yield TranscriptPane(id="transcript")
        yield Static(id="explanation")
        yield Footer()

    def on_mount(self) -> None:
        app = self.app
        assert isinstance(app, MailtuiApp)
        app.start_main()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "narrow")
        self.set_class(event.size.height < SHORT_HEIGHT, "short")
        app = self.app
        if isinstance(app, MailtuiApp):
            app.update_banner()


class MailtuiApp(App[int]):
    """Compose, send with the chosen profile, and watch the SMTP conversation live."""

    CSS_PATH = "app.tcss"
    TITLE = "mailtui"
    COMMANDS = App.COMMANDS | {ProfileCommands}

    def __init__(self, demo: DemoEnvironment | None = None, profile_id: str | None = None) -> None:
        super().__init__()
        self.demo = demo
        self.profile_set = ProfileSet((), ())
        self.active_id: str | None = profile_id
        self.last_result: AttemptResult | None = None
        self._failed_message_id: str | None = None
        self._send_worker: Worker[None] | None = None

    # -- start-up ------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def start_main(self) -> None:
        """The main screen is mounted: show the profiles and put the cursor in To."""
        if self.demo is not None:
            self.sub_title = "DEMO on local servers"
        self.reload_profiles()
        self.update_banner()
        self.screen_stack[0].query_one("#to").focus()

    @property
    def form(self) -> ComposeForm:
        return self.screen_stack[0].query_one(ComposeForm)

    @property
    def pane(self) -> TranscriptPane:
        return self.screen_stack[0].query_one("#transcript", TranscriptPane)

    @property
    def active_profile(self) -> Profile | None:
        return self.profile_set.get(self.active_id) if self.active_id else None

    def reload_profiles(self) -> None:
        """Read the profile files again and show them with their last results."""
        self.profile_set = load_profiles()
        if self.active_profile is None and self.profile_set.profiles:
            self.active_id = self.profile_set.profiles[0].id
        self.screen_stack[0].query_one(ProfileList).show(
            self.profile_set.profiles, self.profile_set.errors, self._statuses(), self.active_id
        )
        self._follow_profile()

    def _statuses(self) -> dict[str, ProfileStatus]:
        statuses: dict[str, ProfileStatus] = {}
        for attempt in list_attempts(limit=200):
            if attempt.profile in statuses or attempt.outcome == "cancelled":
                continue
            when = attempt.time[11:16]
            if attempt.outcome == "sent":
                statuses[attempt.profile] = ProfileStatus("ok", f"sent {when}")
            elif attempt.outcome == "would-work":
                statuses[attempt.profile] = ProfileStatus("ok", f"check ok {when}")
            else:
                statuses[attempt.profile] = ProfileStatus("failed", f"{attempt.outcome} {when}")
        return statuses

    def _follow_profile(self) -> None:
        profile = self.active_profile
        if profile is None:
            self.form.set_from("(no profile: F3 creates one)")
            return
        self.form.set_from(f"{profile.from_}   via {profile.name}")
        self.title = f"mailtui — {profile.name}"

    def update_banner(self) -> None:
        banner = self.screen_stack[0].query_one("#banner", Static)
        if self.demo is None:
            banner.display = False
            return
        demo = self.demo
        if self.screen_stack[0].has_class("narrow"):
            banner.update(
                Text.assemble(
                    ("DEMO ", "bold reverse"),
                    " on ",
                    (demo.network_label, "bold"),
                    " · F7 network · F6 mailbox",
                )
            )
            return
        banner.update(
            Text.assemble(
                ("DEMO ", "bold reverse"),
                f" ISP 127.0.0.1:{demo.isp.port} relays only for 127.0.0.1 · "
                f"portal 127.0.0.1:{demo.portal.port} wants STARTTLS + login · "
                "you are on ",
                (demo.network_label, "bold"),
                " · F7 switch network · F6 mailbox · your real profiles are untouched",
            )
        )

    # -- profiles ------------------------------------------------------------------------------

    @on(ProfileList.Selected)
    def _profile_selected(self, event: ProfileList.Selected) -> None:
        if event.profile_id != self.active_id:
            self.active_id = event.profile_id
            self._follow_profile()

    @on(ProfileList.BrokenSelected)
    def _broken_selected(self, event: ProfileList.BrokenSelected) -> None:
        from tui.ui.screens.profile_file import ProfileFileScreen

        error = self.profile_set.error_for(event.profile_id)
        if error is not None:
            self.push_screen(ProfileFileScreen(error), lambda _saved: self.reload_profiles())

    def select_profile(self, profile_id: str) -> None:
        if self.profile_set.get(profile_id) is None:
            return
        self.active_id = profile_id
        self.screen_stack[0].query_one(ProfileList).show(
            self.profile_set.profiles, self.profile_set.errors, self._statuses(), profile_id
        )
        self._follow_profile()
        self.notify(
            f"Sending with {self.active_profile.name if self.active_profile else profile_id}"
        )

    def action_next_profile(self) -> None:
        ids = [p.id for p in self.profile_set.profiles]
        if not ids:
            return
        index = ids.index(self.active_id) if self.active_id in ids else -1
        self.select_profile(ids[(index + 1) % len(ids)])

    def edit_profile(self, profile_id: str | None = None) -> None:
        from tui.ui.screens.profile_editor import ProfileEditor

        profile = self.profile_set.get(profile_id) if profile_id else self.active_profile
        if profile is None:
            self.action_new_profile()
            return
        self.push_screen(ProfileEditor(profile), self._after_edit)

    def action_edit_profile(self) -> None:
        self.edit_profile()

    def action_new_profile(self) -> None:
        from tui.ui.screens.profile_editor import ProfileEditor

        self.push_screen(ProfileEditor(None, new_id=""), self._after_edit)

    def action_duplicate_profile(self) -> None:
        from tui.ui.screens.profile_editor import ProfileEditor

        profile = self.active_profile
        if profile is not None:
            copy = replace(profile, name=f"{profile.name} (copy)")
            self.push_screen(ProfileEditor(copy, new_id=f"{profile.id}-copy"), self._after_edit)

    def _after_edit(self, saved: Profile | None) -> None:
        if saved is not None:
            self.active_id = saved.id
        self.reload_profiles()

    def action_delete_profile(self) -> None:
        from tui.ui.screens.confirm import ConfirmScreen

        profile = self.active_profile
        if profile is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                delete_profile(profile.id)
                self.active_id = None
                self.reload_profiles()
                self.notify(f"Deleted profile {profile.id}")

        self.push_screen(
            ConfirmScreen(f"Delete profile {profile.name} ({profile.id})? Its file is removed."),
            confirmed,
        )

    # -- sending ------------------------------------------------------------------------------

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
            return bool(
                self.last_result
                and self.last_result.diagnosis
                and self.last_result.diagnosis.retry_profile
            )
        if action in ("mailbox", "toggle_network"):
            return self.demo is not None
        return True

    def action_send(self) -> None:
        if self.screen is not self.screen_stack[0]:
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
            self._explain(f"Not sent: {exc.reason}.", error=True)
            return
        self._send_worker = self.send_message(profile, draft, self._failed_message_id)

    def action_retry(self) -> None:
        result = self.last_result
        if result is None or result.diagnosis is None or not result.diagnosis.retry_profile:
            return
        self.select_profile(result.diagnosis.retry_profile)
        self._failed_message_id = result.message_id  # the same message, the same Message-ID
        self.action_send()

    async def _password(self, profile: Profile) -> str | None:
        if not profile.logs_in:
            return None
        try:
            return await asyncio.to_thread(resolve_password, profile)
        except SecretError:
            from tui.ui.screens.password import PasswordScreen

            return await self.push_screen_wait(PasswordScreen(profile))

    @work(exclusive=True, group="send")
    async def send_message(self, profile: Profile, draft: object, message_id: str | None) -> None:
        from tui.core.message import Draft

        assert isinstance(draft, Draft)
        pane = self.pane
        pane.begin(f"send with {profile.name}")
        self._explain(None)
        self.refresh_bindings()
        try:
            password = await self._password(profile)
            if profile.logs_in and password is None:
                pane.state = "cancelled"
                self._explain("Not sent: no password was given. The message is still here.")
                return
            result = await sending.send(
                profile,
                draft,
                profiles=self.profile_set.profiles,
                listener=pane.handle,
                password=password,
                message_id=message_id,
            )
        except asyncio.CancelledError:
            pane.state = "cancelled"
            self._explain("Cancelled: nothing was sent. The message is still in the form.")
            self.notify("Send cancelled; the message is still in the form.", severity="warning")
            self.reload_profiles()
            raise
        self.last_result = result
        pane.finish(result)
        if result.outcome is Outcome.SENT:
            self._failed_message_id = None
            self.form.clear()
            self.form.query_one("#to").focus()
            self.notify(result.summary, title="Sent")
            self._explain(None)
        else:
            self._failed_message_id = result.message_id
            hint = ""
            if result.diagnosis and result.diagnosis.retry_profile:
                hint = " Press ctrl+r to retry with it."
            self._explain(result.summary + hint, error=True)
        self.reload_profiles()
        self.refresh_bindings()

    def _explain(self, text: str | None, error: bool = False) -> None:
        label = self.screen_stack[0].query_one("#explanation", Static)
        label.update(Text(text or ""))
        label.set_class(bool(text), "-shown")
        label.set_class(error, "-error")

    def action_cancel_send(self) -> None:
        if self._send_worker is not None and self.sending:
            self._send_worker.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.refresh_bindings()

    def check_profile(self, profile_id: str | None = None) -> None:
        profile = self.profile_set.get(profile_id) if profile_id else self.active_profile
        if profile is not None:
            self._send_worker = self.run_check(profile)

    def action_check_profile(self) -> None:
        self.check_profile()

    @work(exclusive=True, group="send")
    async def run_check(self, profile: Profile) -> None:
        pane = self.pane
        pane.begin(f"check {profile.name}")
        self._explain(None)
        password = await self._password(profile)
        if profile.logs_in and password is None:
            pane.state = "cancelled"
            return
        draft = self.form.draft()
        rcpts = [r for field in (draft.to, draft.cc, draft.bcc) for r in field]
        try:
            from tui.core.message import parse_address_list

            rcpt_addrs = [m.addr_spec for m in parse_address_list(rcpts, "to")] if rcpts else []
        except MessageInputError:
            rcpt_addrs = []
        result = await sending.check(
            profile,
            rcpt_addrs,
            profiles=self.profile_set.profiles,
            listener=pane.handle,
            password=password,
        )
        self.last_result = result
        pane.finish(result)
        self._explain(
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
            self.notify(f"Removed {removed.name}")

    def action_edit_body(self) -> None:
        """Open the body in $EDITOR (the app is suspended meanwhile) and take the result back."""
        from textual.widgets import TextArea

        body = self.form.query_one("#body", TextArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.TemporaryDirectory(prefix="mailtui-") as folder:
            path = Path(folder) / "body.txt"
            path.write_text(body.text, encoding="utf-8")
            path.chmod(0o600)
            try:
                with self.suspend():
                    subprocess.run([*shlex.split(editor), str(path)], check=False)
            except (OSError, ValueError, SuspendNotSupported) as exc:
                self.notify(f"Could not run {editor}: {exc}", severity="error")
                return
            body.load_text(path.read_text(encoding="utf-8", errors="replace"))

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
        self.notify(f"Demo: you are now on {demo.network_label}.")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("Send message", "Send with the active profile (ctrl+s)", self.action_send),
            ("Cancel send", "Stop the send in progress (escape)", self.action_cancel_send),
            ("Switch profile", "Make the next profile active (ctrl+t)", self.action_next_profile),
            ("New profile", "Create a sending profile (F3)", self.action_new_profile),
            ("Edit profile", "Edit the active profile (F2)", self.action_edit_profile),
            (
                "Duplicate profile",
                "Copy the active profile under a new id",
                self.action_duplicate_profile,
            ),
            (
                "Delete profile",
                "Delete the active profile, after asking",
                self.action_delete_profile,
            ),
            (
                "Check profile",
                "Pre-flight the active profile without sending (F4)",
                self.action_check_profile,
            ),
            ("History", "Every send attempt and its transcript (F5)", self.action_history),
            ("Attach file", "Add an attachment (ctrl+f)", self.action_attach),
            (
                "Remove attachment",
                "Remove the highlighted attachment (ctrl+d)",
                self.action_remove_attachment,
            ),
            ("Edit body in $EDITOR", "Suspend and edit the body (ctrl+e)", self.action_edit_body),
        ]
        if (
            self.last_result
            and self.last_result.diagnosis
            and self.last_result.diagnosis.retry_profile
        ):
            commands.append(
                (
                    f"Retry with {self.last_result.diagnosis.retry_profile}",
                    "Send the same message with the suggested profile (ctrl+r)",
                    self.action_retry,
                )
            )
        if self.demo is not None:
            commands.append(
                (
                    "Demo: switch network",
                    "Play another office's network (F7)",
                    self.action_toggle_network,
                )
            )
            commands.append(
                ("Demo: mailbox", "What the demo servers received (F6)", self.action_mailbox)
            )
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)


def run_app(demo: bool = False, profile_id: str | None = None) -> int:
    environment = DemoEnvironment.start() if demo else None
    try:
        app = MailtuiApp(environment, profile_id)
        code = app.run()
        return code or 0
    finally:
        if environment is not None:
            environment.close()
