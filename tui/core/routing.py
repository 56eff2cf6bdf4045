"""Which profile sends a message handed over with only its sender (`mailtui sendmail`).

A program such as cron or mailx gives an envelope sender (-f) or a From header, not a
profile. The profile is the one that sends as that address: its `from`, an exact entry of
its `addresses`, the same with a +tag (jane+lists@isp.example), then an `addresses` pattern
(*@example.org), in that order; failing all of them, the profile with `default = true`.
"""

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from tui.core import locations
from tui.core.profiles import Profile

# How well a profile matches the sender: a lower rank wins.
_EXACT, _PLUS, _PATTERN = 0, 1, 2


class Choice(NamedTuple):
    """The profile chosen and why, or None and a sentence saying what to do."""

    profile: Profile | None
    how: str  # "its from address", "addresses pattern *@example.org", "default = true"…
    problem: str | None = None


class _Match(NamedTuple):
    rank: int
    profile: Profile
    how: str


def choose_profile(
    profiles: Sequence[Profile],
    sender: str | None,
    worked_here: Callable[[str], bool] = lambda _id: False,
) -> Choice:
    """The profile that sends as `sender` (an addr-spec from -f or From; None when there is
    none). Among equal matches the one that worked on this network (`worked_here(id)`),
    then the one with default = true, then the first by id; `how` says which it was."""
    ordered = sorted(profiles, key=lambda p: p.id)
    address = _bare(sender)
    if not ordered:
        return Choice(
            None,
            "",
            f"there is no profile yet; create one in {locations.profiles_dir()} (see Profiles "
            "in the README) or with F3 in the app",
        )
    matches = [m for m in (_best_match(p, address) for p in ordered) if m is not None]
    if matches:
        best = min(m.rank for m in matches)
        return _break_tie([m for m in matches if m.rank == best], worked_here)
    return _fallback(ordered, address)


def _bare(sender: str | None) -> str | None:
    """The address alone, lowercased: angle brackets and spaces around it dropped."""
    if sender is None:
        return None
    text = sender.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1].strip()
    return text.lower() or None


def _best_match(profile: Profile, address: str | None) -> _Match | None:
    if address is None:
        return None
    local, at, domain = address.rpartition("@")
    base, plus, _tag = local.partition("+")
    untagged = f"{base}@{domain}" if at and plus and base else None
    exact = [("its from address", _from_address(profile))]
    exact += [(f"addresses entry {a}", a.lower()) for a in profile.addresses if not _glob(a)]
    patterns = [a for a in profile.addresses if _glob(a)]
    for how, known in exact:
        if known == address:
            return _Match(_EXACT, profile, how)
    for how, known in exact:
        if untagged is not None and known == untagged:
            return _Match(_PLUS, profile, f"{how} with a +tag")
    for pattern in patterns:
        if any(_glob_match(pattern, a) for a in (address, untagged) if a is not None):
            return _Match(_PATTERN, profile, f"addresses pattern {pattern}")
    return None


def _from_address(profile: Profile) -> str | None:
    from tui.core.message import AddressError, parse_mailbox

    try:
        return parse_mailbox(profile.from_, "from").addr_spec.lower()
    except AddressError:  # a profile made in code; a loaded one has a valid from
        return None


def _glob(entry: str) -> bool:
    return "*" in entry or "?" in entry


def _glob_match(pattern: str, address: str) -> bool:
    """`*` for any run of characters, `?` for one; nothing else is special (not even the
    brackets fnmatch reads as a set, which an address literal such as [192.0.2.1] has)."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, address, re.DOTALL) is not None


def _break_tie(matches: list[_Match], worked_here: Callable[[str], bool]) -> Choice:
    """One of equally good matches (sorted by id): what worked here, then default = true,
    then the first."""
    pool, reasons = matches, []
    worked = [m for m in pool if worked_here(m.profile.id)]
    if worked and len(worked) < len(pool):
        pool, reasons = worked, ["worked on this network"]
    defaults = [m for m in pool if m.profile.default]
    if len(pool) > 1 and defaults and len(defaults) < len(pool):
        pool, reasons = defaults, [*reasons, "has default = true"]
    if len(pool) > 1:
        reasons.append("comes first by id")
    chosen = pool[0]
    if len(matches) == 1:
        return Choice(chosen.profile, chosen.how)
    why = " and ".join(reasons)
    return Choice(chosen.profile, f"{chosen.how}; {len(matches)} profiles match, this one {why}")


def _fallback(profiles: list[Profile], address: str | None) -> Choice:
    """The profile with default = true, for a sender no profile matches (or none at all)."""
    defaults = [p for p in profiles if p.default]
    if len(defaults) == 1:
        return Choice(defaults[0], "default = true")
    names = ", ".join(p.id for p in profiles)
    if address is None:
        unmatched = "the message has no sender (no -f and no From)"
        add = ""
    else:
        unmatched = f"no profile sends as {address}"
        add = "add it to a profile's addresses, "
    if defaults:
        both = "both" if len(defaults) == 2 else "all"
        return Choice(
            None,
            "",
            f"{unmatched}, and profiles {_and([p.id for p in defaults])} {both} have "
            f"default = true: keep it in one of them, or pick one with -a ID",
        )
    return Choice(
        None,
        "",
        f"{unmatched}: {add}set default = true in one profile, or pick one with -a ID "
        f"(profiles: {names})",
    )


def _and(words: list[str]) -> str:
    """ "isp and portal", "a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def sends_as(profile: Profile, sender: str | None) -> bool:
    """Whether `profile` sends as `sender` by its from or addresses (not as the default)."""
    return _best_match(profile, _bare(sender)) is not None
