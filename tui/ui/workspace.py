"""The app's state: profiles, the network it is on, and the widgets of the main screen.

`MailtuiApp` (app.py) adds sending, checking and the other screens on top of this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import App

from tui.core.network import Locator, NetworkIdentity
from tui.core.network_history import FAILED, WORKED, NetworkHistory
from tui.core.profiles import Profile, ProfileSet, delete_profile, load_profiles
from tui.ui.main_screen import MainScreen
from tui.ui.widgets.compose_form import ComposeForm
from tui.ui.widgets.profile_list import ProfileList, ProfileStatus
from tui.ui.widgets.transcript_pane import TranscriptPane

if TYPE_CHECKING:
    from tui.demo.environment import DemoEnvironment


class Workspace(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mailtui"

    def __init__(
        self,
        demo: DemoEnvironment | None = None,
        profile_id: str | None = None,
        locator: Locator | None = None,
    ) -> None:
        super().__init__()
        self.demo = demo
        self.locator = locator or (demo.locator if demo is not None else Locator())
        self.network_history = NetworkHistory()
        self.identity: NetworkIdentity | None = None
        self.profile_set = ProfileSet((), ())
        self.active_id: str | None = profile_id

    # -- widgets of the main screen ------------------------------------------------------------

    @property
    def main(self) -> MainScreen:
        """The main screen, which stays at the bottom of the stack."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    @property
    def form(self) -> ComposeForm:
        return self.main.form

    @property
    def pane(self) -> TranscriptPane:
        return self.main.pane

    @property
    def active_profile(self) -> Profile | None:
        return self.profile_set.get(self.active_id) if self.active_id else None

    # -- profiles ------------------------------------------------------------------------------

    def reload_profiles(self) -> None:
        """Read the profile files again and show them with how each did on this network."""
        found = load_profiles()
        # Listed by the names people gave them, not by file name.
        self.profile_set = found._replace(
            profiles=tuple(sorted(found.profiles, key=lambda p: (p.name.lower(), p.id)))
        )
        if self.active_profile is None and self.profile_set.profiles:
            self.active_id = self._first_choice()
        self.refresh_profile_list()
        self._follow_profile()

    def refresh_profile_list(self) -> None:
        self.main.query_one(ProfileList).show(
            self.profile_set.profiles, self.profile_set.errors, self._statuses(), self.active_id
        )

    def _statuses(self) -> dict[str, ProfileStatus]:
        """Per profile: worked here / failed here / not tried here, for the current network."""
        if self.identity is None:
            return {}
        self.network_history = NetworkHistory()
        marks = {WORKED: "ok", FAILED: "failed"}
        statuses: dict[str, ProfileStatus] = {}
        for profile in self.profile_set.profiles:
            here = self.network_history.here(self.identity, profile.id)
            statuses[profile.id] = ProfileStatus(marks.get(here.verdict or "", "none"), here.label)
        return statuses

    def _first_choice(self) -> str:
        """The profile to start with: the one that last worked on this network, else the
        one used last, else the first by name."""
        ids = [p.id for p in self.profile_set.profiles]
        if self.identity is not None:
            worked = self.network_history.last_worked(self.identity)
            if worked in ids:
                return worked
        from tui.core.history import list_attempts

        recent = next(iter(list_attempts(limit=1)), None)
        if recent is not None and recent.profile in ids:
            return recent.profile
        return ids[0]

    def _follow_profile(self) -> None:
        profile = self.active_profile
        self.form.set_from_warning(None)
        if profile is None:
            self.form.set_from("(no profile: F3 creates one)")
            return
        self.form.set_from(profile.from_)
        self.title = f"mailtui — {profile.name}"
        self.check_from_fit(profile)

    @work(exclusive=True, group="dmarc")
    async def check_from_fit(self, profile: Profile) -> None:
        """Warn under From when the From domain's DMARC policy will get mail sent through
        this profile's server refused by recipients. The lookup is bounded and kept for a
        day (tui/core/dmarc.py); a newer profile switch cancels this one."""
        from tui.core.from_fit import fit_warning, lookup_policy

        found = await lookup_policy(profile)
        if profile != self.active_profile:
            return
        profiles = self.profile_set.profiles
        self.form.set_from_warning(
            fit_warning(profile, found, profiles), fit_warning(profile, found, profiles, True)
        )

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
        profile = self.profile_set.get(profile_id)
        if profile is None:
            return
        self.active_id = profile_id
        self.refresh_profile_list()
        self._follow_profile()

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
        self.push_screen(ProfileEditor(profile, password_for=self.password_for), self._after_edit)

    def action_edit_profile(self) -> None:
        self.edit_profile()

    def action_new_profile(self) -> None:
        """F3: from an email address (found and tested), or an empty form."""
        from tui.ui.screens.new_profile import Chosen, NewProfileScreen
        from tui.ui.screens.profile_editor import ProfileEditor

        def chosen(choice: Chosen | None) -> None:
            if choice is None:
                return
            found = choice.discovery
            if found is None or found.candidate is None:
                editor = ProfileEditor(
                    None, new_id="", password_for=self.password_for, address=choice.address
                )
            else:
                taken = {p.id for p in self.profile_set.profiles}
                taken |= {e.profile_id for e in self.profile_set.errors}
                new_id = found.suggested_id(taken)
                editor = ProfileEditor(
                    found.profile(new_id),
                    new_id=new_id,
                    password_for=self.password_for,
                    found=found.provenance(),
                )
            self.push_screen(editor, self._after_edit)

        self.push_screen(NewProfileScreen(), chosen)

    def action_duplicate_profile(self) -> None:
        from tui.ui.screens.profile_editor import ProfileEditor

        profile = self.active_profile
        if profile is not None:
            copy = profile._replace(name=f"{profile.name} (copy)")
            editor = ProfileEditor(
                copy, new_id=f"{profile.id}-copy", password_for=self.password_for
            )
            self.push_screen(editor, self._after_edit)

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
                self.notify(f"Deleted profile {profile.id}", markup=False)

        self.push_screen(
            ConfirmScreen(f"Delete profile {profile.name} ({profile.id})? Its file is removed."),
            confirmed,
        )

    # -- the demo banner ------------------------------------------------------------------------

    async def password_for(self, profile: Profile, ask: bool = True) -> str | None:
        """The profile's secret (the app knows how to ask for it)."""
        raise NotImplementedError

    def update_banner(self) -> None:
        from textual.widgets import Static

        banner = self.main.query_one("#banner", Static)
        if self.demo is None:
            banner.display = False
            return
        demo = self.demo
        if self.main.has_class("narrow"):
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
                f" ISP :{demo.isp.port} relays for 127.0.0.1 only · "
                f"portal :{demo.portal.port} needs STARTTLS + login · you are on ",
                (demo.network_label, "bold"),
                " · F7 move · F6 mailbox",
            )
        )
