"""The profiles: name, provider, how each authenticates, and how its last attempt went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.core.profiles import Profile, ProfileError

ERROR_PREFIX = "error:"


@dataclass(frozen=True)
class ProfileStatus:
    """What the list shows under a profile: its last result here."""

    mark: str  # "ok", "failed", "none"
    text: str


class ProfileList(OptionList):
    """Selecting (Enter, click) or moving the cursor makes a profile the active one."""

    DEFAULT_CSS = """
    ProfileList { height: 1fr; }
    """

    @dataclass
    class Selected(Message):
        profile_id: str

    @dataclass
    class BrokenSelected(Message):
        profile_id: str

    compact = False  # one line per profile (narrow terminals): the mark, then the name
    _shown: tuple[Any, ...] | None = None

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            if self._shown is not None:
                self.show(*self._shown)

    def show(
        self,
        profiles: tuple[Profile, ...],
        errors: tuple[ProfileError, ...],
        statuses: dict[str, ProfileStatus],
        active: str | None,
    ) -> None:
        self._shown = (profiles, errors, statuses, active)
        self.clear_options()
        options: list[Option] = []
        for profile in profiles:
            status = statuses.get(profile.id, ProfileStatus("none", "not tried here"))
            colour = {"ok": "green", "failed": "red"}.get(status.mark, "dim")
            symbol = {"ok": "✓", "failed": "✗"}.get(status.mark, "·")
            how = "login" if profile.logs_in else "by network"
            kind = "ISP" if profile.provider == "isp" else "portal"  # short: fits 80 columns
            if self.compact:  # the mark says how it did here; F2 shows the rest
                line = Text.assemble((f"{symbol} ", colour), (profile.name, "bold"))
                options.append(Option(line, id=profile.id))
                continue
            prompt = Group(
                Text(profile.name, style="bold"),
                Text(f"  {kind} · {how}", style="italic"),
                Text(f"  {symbol} {status.text}", style=colour),
            )
            options.append(Option(prompt, id=profile.id))
        for error in errors:
            if self.compact:
                line = Text(f"✗ {error.profile_id} (broken)", style="bold red")
                options.append(Option(line, id=ERROR_PREFIX + error.profile_id))
                continue
            prompt = Group(
                Text(f"{error.profile_id} (broken)", style="bold red"),
                Text(f"  {error.key or 'file'}: {error.problem}", style="red"),
            )
            options.append(Option(prompt, id=ERROR_PREFIX + error.profile_id))
        self.add_options(options)
        ids = [o.id for o in options]
        if active in ids:
            self.highlighted = ids.index(active)
        elif options:
            self.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        option_id = event.option.id or ""
        if not option_id.startswith(ERROR_PREFIX):
            self.post_message(self.Selected(option_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith(ERROR_PREFIX):
            self.post_message(self.BrokenSelected(option_id.removeprefix(ERROR_PREFIX)))
        else:
            self.post_message(self.Selected(option_id))
