"""`mailtui profiles new ADDRESS [--id ID] [--yes]`: a profile from just an email address.

The finding is tui/core/discovery's; this module prints what was found and where each
setting came from, asks before saving settings from another domain or from plain HTTP,
writes the profile, asks for the secret (or says how to make an app password, or to sign in
with OAuth2) and runs `mailtui check`'s pre-flight. Exit codes: 0 saved (and the check's own
code after it), 64 no address, 75 nothing answered, 78 not saved (a question unanswered, an
id taken, a bad MAILTUI_DNS or MAILTUI_DISCOVERY_PORTS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from tui.cli import _say, _shown, check_profile
from tui.core.profiles import PROFILE_ID_RE, Profile, ProfileSet, load_profiles
from tui.core.results import ExitCode

if TYPE_CHECKING:
    from tui.core.discovery.finder import Discovery


def profiles_arguments(profiles: argparse.ArgumentParser) -> None:
    actions = profiles.add_subparsers(dest="profiles_action", metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="find the settings for an email address, test them, write the profile",
        description="Find the sending settings for ADDRESS (the provider table, autoconfig, "
        "SRV and MX records, guesses), test them live without logging in, write the profile "
        "and check it.",
    )
    new.add_argument("address", metavar="ADDRESS", help="the email address to send as")
    new.add_argument("--id", dest="new_id", metavar="ID", help="the profile id (file name)")
    new.add_argument(
        "--yes",
        action="store_true",
        help="save settings from another domain or from plain HTTP without asking (scripts)",
    )


def _out(text: str = "") -> None:
    print(text, flush=True)


def _step(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def _terminal() -> bool:
    return sys.stdin.isatty()


def describe(discovery: Discovery) -> list[str]:
    """What was found, a line a setting with where it came from, then the live test."""
    lines = [f"Settings for {discovery.address}:"]
    rows = discovery.provenance()
    width = max((len(v) for _k, v, _o in rows), default=0)
    lines += [f"  {key:<9} {value:<{width}}  {origin}" for key, value, origin in rows]
    probe = discovery.probe
    if probe is not None:
        offered = f", AUTH {' '.join(probe.auth)}" if probe.auth else ", no login offered"
        tls = probe.tls or "no TLS"
        lines.append(f"Tested:   {probe.server} answered: {tls}{offered} ({probe.seconds:.2f} s)")
    failed = [p for p in discovery.tried if not p.works and p is not probe]
    for each in failed[:6]:
        lines.append(f"Tried:    {each.server}: {each.problem}")
    if len(failed) > 6:
        lines.append(f"Tried:    and {len(failed) - 6} more that did not answer")
    lines += [f"Note:     {note}" for note in discovery.notes]
    row = discovery.row
    if row is not None and row.note:
        lines.append(f"Note:     {row.note}")
    if row is not None:
        lines.append(f"Help:     {row.help}")
    return [_shown(line) for line in lines]


def _confirmed(question: str, yes: bool) -> bool | None:
    """True to save; False when the person said no; None when no one could be asked."""
    if yes:
        return True
    if not _terminal():
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def new_profile(address: str, profile_id: str | None, yes: bool) -> int:
    from tui.core.discovery.finder import AddressError, discover
    from tui.core.discovery.reach import from_environment

    try:
        reach = from_environment()
    except ValueError as exc:
        _say(f"MAILTUI_DNS or MAILTUI_DISCOVERY_PORTS is not usable ({exc}); fix or unset it.")
        return ExitCode.CONFIG
    found = load_profiles()
    taken = {p.id for p in found.profiles} | {e.profile_id for e in found.errors}
    if profile_id is not None and not PROFILE_ID_RE.match(profile_id):
        _say(f"'{profile_id}' is no profile id; use letters, digits, '.', '_' or '-'")
        return ExitCode.USAGE
    if profile_id is not None and profile_id in taken:
        _say(f"there is a profile {profile_id} already; choose another --id")
        return ExitCode.CONFIG
    _out(f"Looking for the sending settings of {address}…")
    try:
        discovery = asyncio.run(discover(address, reach, _step))
    except AddressError as exc:
        _say(str(exc))
        return ExitCode.USAGE
    if discovery.candidate is None:
        _say(_shown(discovery.problem or "nothing found"))
        return ExitCode.TEMPFAIL
    for line in describe(discovery):
        _out(line)
    if discovery.problem:
        _say(_shown(discovery.problem))
    question = discovery.question
    if question is not None:
        answer = _confirmed(_shown(question), yes)
        if answer is None:
            _say(f"{_shown(question)} Not saved: answer on a terminal, or add --yes.")
            return ExitCode.CONFIG
        if not answer:
            _say("not saved")
            return ExitCode.CONFIG
    return _save_and_check(discovery, profile_id or discovery.suggested_id(taken), found)


def _save_and_check(discovery: Discovery, profile_id: str, found: ProfileSet) -> int:
    from tui.core.profiles import save_profile

    profile = discovery.profile(profile_id)
    path = save_profile(profile)
    _out(f"Wrote profile {profile_id} to {path}:")
    _out(_shown(path.read_text(encoding="utf-8").rstrip()))
    password = None
    login = discovery.login
    if login == "oauth2":
        _out(
            f"{profile.name} signs in with OAuth2: register your own client id (README, "
            f"'Your own client id'), add an [oauth] table with provider = "
            f'"{discovery.row.oauth if discovery.row else "custom"}" and client_id to '
            f"{path}, then run: mailtui login {profile_id}"
        )
        return ExitCode.OK
    if login != "none":
        password = _ask_secret(profile, login == "app-password")
        if password is None and not _terminal():
            return ExitCode.OK
    _out(f"Checking profile {profile_id}…")
    return check_profile(profile, ProfileSet((*found.profiles, profile), ()), (), False, password)


def _ask_secret(profile: Profile, app_password: bool) -> str | None:
    """The password typed now (kept in the keyring when there is one), or None."""
    from tui.core.secrets import store_in_keyring
    from tui.core.wordings import app_password_provider

    kind = "password"
    if app_password:
        provider = app_password_provider(profile.host)
        if provider is not None:
            _out(
                f"{provider.name} needs an app password, not your account password: {provider.how}."
            )
        kind = "app password"
    if not _terminal():
        _out(
            f"No terminal to ask for the {kind} on: keep it in the system keyring (service "
            f"mailtui, user {profile.id}) or set password_command in the profile, then run: "
            f"mailtui check {profile.id}"
        )
        return None
    import getpass

    typed = getpass.getpass(f"{kind.capitalize()} for {profile.username} (empty: later): ")
    if not typed:
        return None
    problem = store_in_keyring(profile.id, typed)
    if problem is None:
        _out(f"The {kind} is in the system keyring (service mailtui, user {profile.id}).")
    else:
        _out(f"Not kept: {problem} It is used for this check only.")
    return typed
