"""The command palette: every action of the main screen, and one entry per profile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.command import Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from tui.ui.app import MailtuiApp


class ProfileCommands(Provider):
    """Switch to, edit or check any profile by name."""

    def _entries(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        from tui.ui.app import MailtuiApp
        from tui.ui.main_screen import MainScreen

        app = self.app
        assert isinstance(app, MailtuiApp)
        if not isinstance(self.screen, MainScreen):  # a dialog or another screen is on top
            return
        for profile in app.profile_set.profiles:
            how = f"{profile.provider_label} · {profile.auth_label}"
            for verb, action in (
                ("Switch to profile", app.select_profile),
                ("Edit profile", app.edit_profile),
                ("Check profile", app.check_profile),
            ):
                yield (f"{verb}: {profile.name} ({profile.id})", how, partial(action, profile.id))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                # A profile's name is the person's text, never markup: "[WIP] ISP" is shown
                # as typed (highlighting the match would read it as markup).
                shown = matcher.highlight(title) if "[" not in title else Content(title)
                yield Hit(score, shown, callback, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            if title.startswith("Switch"):
                yield Hit(1.0, Content(title), callback, help=help_text)


def main_commands(app: MailtuiApp) -> Iterator[SystemCommand]:
    """Every action of the main screen, so that each is reachable from the palette."""
    commands: list[tuple[str, str, Callable[[], object]]] = [
        ("Send message", "Send with the active profile (ctrl+s)", app.action_send),
        ("Switch profile", "Make the next profile active (ctrl+t)", app.action_next_profile),
        ("New profile", "Create a sending profile (F3)", app.action_new_profile),
        ("Edit profile", "Edit the active profile (F2)", app.action_edit_profile),
        (
            "Duplicate profile",
            "Copy the active profile under a new id",
            app.action_duplicate_profile,
        ),
        ("Delete profile", "Delete the active profile, after asking", app.action_delete_profile),
        (
            "Check profile",
            "Pre-flight the active profile without sending (F4)",
            app.action_check_profile,
        ),
        ("History", "Every send attempt and its transcript (F5)", app.action_history),
        ("Outbox", "Messages waiting to be sent: retry, edit, delete (F8)", app.action_outbox),
        ("Retry the outbox now", "Send every queued message now", app.retry_outbox_now),
        ("Attach file", "Add an attachment (ctrl+f)", app.action_attach),
        (
            "Remove attachment",
            "Remove the highlighted attachment (delete, in the list)",
            app.action_remove_attachment,
        ),
        ("Edit body in $EDITOR", "Suspend and edit the body (ctrl+e)", app.action_edit_body),
    ]
    if app.sending:
        commands.append(
            ("Cancel send", "Stop the send in progress (escape)", app.action_cancel_send)
        )
    if app.trust_offer is not None:
        commands.append(
            (
                f"Trust {app.trust_offer[1]} for profile {app.trust_offer[0]}",
                "It just worked from this network: add it to the profile's networks (ctrl+n)",
                app.action_add_network,
            )
        )
    if app.suggestion is not None:
        commands.append(
            (app.suggestion.title, app.suggestion.reason + " (ctrl+r)", app.action_retry)
        )
    if app.demo is not None:
        commands.append(
            (
                "Demo: switch network",
                "Play another office's network (F7)",
                app.action_toggle_network,
            )
        )
        commands.append(
            ("Demo: mailbox", "What the demo servers received (F6)", app.action_mailbox)
        )
    for title, help_text, callback in commands:
        yield SystemCommand(title, help_text, callback)
