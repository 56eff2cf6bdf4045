"""`mailtui login ID [--browser]` and `mailtui logout ID`: OAuth2 sign-in on the terminal.

The work is tui/core/oauth/signin.py's; this module only prints and maps outcomes to exit
codes (sysexits): 0 signed in, 77 declined or expired, 78 the profile's [oauth] settings,
75 the sign-in server unreachable, 130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from tui.cli import _say
from tui.core.profiles import Profile
from tui.core.results import ExitCode

if TYPE_CHECKING:
    from tui.core.oauth.signin import SignedIn

EXIT_CODES = {
    "denied": ExitCode.NOPERM,
    "expired": ExitCode.NOPERM,
    "state": ExitCode.NOPERM,
    "config": ExitCode.CONFIG,
    "server": ExitCode.TEMPFAIL,
}


def login_arguments(login: argparse.ArgumentParser) -> None:
    login.add_argument("login_profile", metavar="ID", help="the profile to sign in")
    login.add_argument(
        "--browser",
        action="store_true",
        help="sign in in a web browser on this machine (authorization code with PKCE) "
        "instead of with a code on any device",
    )


def logout_arguments(logout: argparse.ArgumentParser) -> None:
    logout.add_argument("logout_profile", metavar="ID", help="the profile whose tokens to forget")


def _out(text: str = "") -> None:
    print(text, flush=True)


def login(profile: Profile, browser: bool) -> int:
    """Sign `profile` in and keep its tokens; the exit code."""
    from tui.core.oauth.signin import SignInError

    if profile.oauth is None:
        _say(
            f"profile {profile.id} has no [oauth] table; add one with provider and client_id "
            "(see the README), or set token_command to your own token helper"
        )
        return ExitCode.CONFIG
    try:
        signed = asyncio.run(_browser(profile) if browser else _device(profile))
    except SignInError as exc:
        _say(f"not signed in: {exc}.")
        return EXIT_CODES.get(exc.error, ExitCode.NOPERM)
    except KeyboardInterrupt:
        _say("sign-in cancelled; nothing was kept")
        return ExitCode.INTERRUPTED
    where = signed.kept_in
    kept = where if where == "the system keyring" else f"{where} (no system keyring here)"
    _out(f"Signed in: profile {profile.id} sends with OAuth2 now. The tokens are in {kept}.")
    return ExitCode.OK


async def _device(profile: Profile) -> SignedIn:
    from tui.core.oauth.signin import DeviceSignIn

    async with await DeviceSignIn.start(profile) as sign_in:
        code = sign_in.code
        _out(f"Sign in to {profile.name} (profile {profile.id}) with OAuth2:")
        _out(f"  1. Open {code.verification_uri} on any device, or scan the QR code below")
        _out(f"  2. Enter the code {code.user_code} and approve")
        _out()
        _out(code.qr())
        _out()
        minutes = max(1, round(code.expires_in / 60))
        _out(f"Waiting for you to approve (the code holds {minutes} min; Ctrl-C cancels)…")
        return await sign_in.wait()


async def _browser(profile: Profile) -> SignedIn:
    import webbrowser

    from tui.core.oauth.signin import BrowserSignIn

    async with await BrowserSignIn.start(profile, open_browser=webbrowser.open) as sign_in:
        _out(f"Sign in to {profile.name} (profile {profile.id}) in your web browser.")
        _out("If it did not open, open this address on this machine:")
        _out(f"  {sign_in.url}")
        _out(f"Waiting for the browser to come back to {sign_in.redirect_uri} (Ctrl-C cancels)…")
        return await sign_in.wait()


def logout(profile_id: str) -> int:
    from tui.core.oauth.signin import sign_out

    if sign_out(profile_id):
        _out(
            f"Signed out: the tokens of profile {profile_id} are forgotten. To end the grant "
            "itself, remove mailtui's access in your account's security settings."
        )
    else:
        _out(f"Profile {profile_id} was not signed in; nothing to forget.")
    return ExitCode.OK
