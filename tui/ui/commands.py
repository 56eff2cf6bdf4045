"""The command palette: every action of the main screen, and one entry per profile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, NamedTuple, Protocol, runtime_checkable

from textual.app import SystemCommand
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from tui.core.profiles import ProfileSet


@runtime_checkable
class ProfileActions(Protocol):
    """What the profile commands need of the app."""

    profile_set: ProfileSet

    def select_profile(self, profile_id: str) -> None: ...
    def edit_profile(self, profile_id: str | None = None) -> None: ...
    def check_profile(self, profile_id: str | None = None) -> None: ...


class ProfileCommands(Provider):
    """Switch to, edit or check any profile by name."""

    def _entries(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        from tui.ui.main_screen import MainScreen

        app = self.app
        if not isinstance(app, ProfileActions) or not isinstance(self.screen, MainScreen):
            return  # a dialog or another screen is on top
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


class Offers(NamedTuple):
    """What the main screen offers right now, besides its fixed actions."""

    sending: bool = False
    trust: str | None = None  # "Trust <network> for profile <id>"
    suggestion: tuple[str, str] | None = None  # (title, why)
    demo: bool = False


# (title, help, action): every action of the main screen, reached by name from the screen
# ("app." for the app's own).
ACTIONS = (
    ("Send message", "Send with the active profile (ctrl+s)", "send"),
    ("Switch profile", "Make the next profile active (ctrl+t)", "app.next_profile"),
    ("New profile", "Create a sending profile (F3)", "app.new_profile"),
    ("Edit profile", "Edit the active profile (F2)", "app.edit_profile"),
    ("Duplicate profile", "Copy the active profile under a new id", "app.duplicate_profile"),
    ("Delete profile", "Delete the active profile, after asking", "app.delete_profile"),
    ("Check profile", "Pre-flight the active profile without sending (F4)", "check_profile"),
    ("History", "Every send attempt and its transcript (F5)", "app.history"),
    ("Outbox", "Messages waiting to be sent: retry, edit, delete (F8)", "app.outbox"),
    ("Retry the outbox now", "Send every queued message now", "app.retry_outbox_now"),
    ("Drafts", "Messages kept for later: open one, or delete it (ctrl+o)", "drafts"),
    ("New message", "Keep the message in the form in drafts and start a new one", "new_message"),
    ("Attach file", "Add an attachment (ctrl+f)", "attach"),
    (
        "Remove attachment",
        "Remove the highlighted attachment (delete, in the list)",
        "remove_attachment",
    ),
    ("Edit body in $EDITOR", "Suspend and edit the body (ctrl+e)", "edit_body"),
)


def main_commands(screen: Screen[Any], offers: Offers) -> Iterator[SystemCommand]:
    """Every action of the main screen, so that each is reachable from the palette."""
    commands: list[tuple[str, str, Callable[[], object]]] = [
        (title, help_text, partial(screen.run_action, action))
        for title, help_text, action in ACTIONS
    ]
    commands += [
        (
            "Full screen",
            "The body (with the cursor in it) or the transcript on the whole screen (F9)",
            partial(screen.run_action, "zoom"),
        ),
        (
            "Show Cc and Bcc",
            "Show the copy rows a short screen hides (ctrl+b)",
            partial(screen.run_action, "copies"),
        ),
    ]
    if offers.sending:
        commands.append(
            (
                "Cancel send",
                "Stop the send in progress (escape)",
                partial(screen.run_action, "cancel_send"),
            )
        )
    if offers.trust is not None:
        commands.append(
            (
                offers.trust,
                "It just worked from this network: add it to the profile's networks (ctrl+n)",
                partial(screen.run_action, "add_network"),
            )
        )
    if offers.suggestion is not None:
        title, why = offers.suggestion
        commands.append((title, why + " (ctrl+r)", partial(screen.run_action, "retry")))
    if offers.demo:
        commands.append(
            (
                "Demo: switch network",
                "Play another office's network (F7)",
                partial(screen.run_action, "app.toggle_network"),
            )
        )
        commands.append(
            (
                "Demo: mailbox",
                "What the demo servers received (F6)",
                partial(screen.run_action, "app.mailbox"),
            )
        )
    for title, help_text, callback in commands:
        yield SystemCommand(title, help_text, callback)
