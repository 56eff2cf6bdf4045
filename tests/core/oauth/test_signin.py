"""Signing in against a local authorization server: the device flow (RFC 8628) with its
polling rules, the browser flow with PKCE and a loopback redirect, and what a send does
with the tokens kept: refresh before expiry, one refresh after a refused token, exit 77
when the refresh token is revoked."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

import httpx2
import pytest

from tests.conftest import Pki, Transcript, oauth_profile
from tests.oauth_server import OAuthServer
from tui.core import sending
from tui.core.message import Draft
from tui.core.oauth import store
from tui.core.oauth.signin import BrowserSignIn, DeviceSignIn, SignInError
from tui.core.profiles import Profile, load_profile
from tui.demo.servers import RunningServer

DRAFT = Draft(to=("bob@example.org",), subject="Hello", body="Hi")


class Clock:
    """Stands in for asyncio.sleep: remembers each wait, and lets the test act at a poll."""

    def __init__(self, at_wait: dict[int, object] | None = None) -> None:
        self.waits: list[float] = []
        self.actions = at_wait or {}

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        action = self.actions.get(len(self.waits))
        if callable(action):
            action()
        await asyncio.sleep(0)


def _profile(home: Path, portal: RunningServer, pki: Pki, oauth: OAuthServer) -> Profile:
    return load_profile(oauth_profile(home, portal, pki, oauth))


async def _sign_in(profile: Profile, oauth: OAuthServer) -> None:
    clock = Clock()
    async with await DeviceSignIn.start(profile, sleep=clock.sleep) as sign_in:
        oauth.approve(sign_in.code.user_code)
        await sign_in.wait()


async def test_first_sign_in_with_a_code_then_a_send(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    transcript: Transcript,
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    sign_in = await DeviceSignIn.start(profile, sleep=Clock().sleep)
    code = sign_in.code
    assert code.user_code == "WDJB-MJHT"
    assert code.url == f"{oauth_server.url}/activate?user_code=WDJB-MJHT"
    qr = code.qr()
    assert len(qr.splitlines()) > 10 and set(qr) <= set("█▀▄ \n")
    # The person approves on their phone while mailtui polls (at its second wait).
    clock = Clock({2: lambda: oauth_server.approve(code.user_code)})
    sign_in._sleep = clock.sleep
    signed = await sign_in.wait()
    await sign_in.aclose()
    assert clock.waits == [1.0, 1.0]  # the server's interval, no faster
    assert len(oauth_server.polls) == 2
    # No keyring in the tests: the tokens are in a 0600 file of the data folder.
    path = store.token_file("portal")
    assert signed.kept_in == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 0, result.summary
    assert "AUTH XOAUTH2 ********" in transcript.text
    assert len(oauth_portal.sink.messages) == 1


async def test_slow_down_adds_five_seconds_to_the_interval(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    oauth_server.device_script = ["authorization_pending", "slow_down", "authorization_pending"]
    profile = _profile(home, oauth_portal, pki, oauth_server)
    clock = Clock()
    async with await DeviceSignIn.start(profile, sleep=clock.sleep) as sign_in:
        oauth_server.approve(sign_in.code.user_code)
        await sign_in.wait()
    assert clock.waits == [1.0, 1.0, 6.0, 6.0]


@pytest.mark.parametrize(
    ("script", "error", "words"),
    [
        (["authorization_pending", "expired_token"], "expired", "the code expired"),
        (["access_denied"], "denied", "declined"),
    ],
)
async def test_an_expired_or_declined_code_ends_the_sign_in(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    script: list[str],
    error: str,
    words: str,
) -> None:
    oauth_server.device_script = script
    profile = _profile(home, oauth_portal, pki, oauth_server)
    async with await DeviceSignIn.start(profile, sleep=Clock().sleep) as sign_in:
        with pytest.raises(SignInError, match=words) as caught:
            await sign_in.wait()
    assert caught.value.error == error
    assert store.load("portal") is None


async def test_the_code_expires_on_our_side_too(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    """Never approved, and a server that would let us poll forever: mailtui stops when the
    code's lifetime is over."""
    oauth_server.device_expires_in = 3
    profile = _profile(home, oauth_portal, pki, oauth_server)
    clock = Clock()
    async with await DeviceSignIn.start(profile, sleep=clock.sleep) as sign_in:
        with pytest.raises(SignInError, match="expired"):
            await sign_in.wait()
    assert len(oauth_server.polls) == 2 and clock.waits == [1.0, 1.0, 1.0]


async def test_cancelling_the_wait_stops_polling(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    tasks: list[asyncio.Future[object]] = []
    clock = Clock({3: lambda: tasks[0].cancel()})  # Ctrl-C, or the screen closed
    async with await DeviceSignIn.start(profile, sleep=clock.sleep) as sign_in:
        tasks.append(asyncio.ensure_future(sign_in.wait()))
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]
    await asyncio.sleep(0.1)
    assert len(oauth_server.polls) == 2
    assert store.load("portal") is None


async def test_browser_sign_in_with_pkce_refuses_a_wrong_state(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    opened: list[str] = []
    async with await BrowserSignIn.start(profile, open_browser=opened.append) as sign_in:
        assert opened == [sign_in.url]
        assert sign_in.redirect_uri.startswith("http://127.0.0.1:")
        assert "code_challenge_method=S256" in sign_in.url
        # The test plays the browser: the provider's page redirects back with a code.
        async with httpx2.AsyncClient() as browser:
            redirect = (await browser.get(sign_in.url)).headers["location"]
            assert redirect.startswith(sign_in.redirect_uri)
            forged = redirect.replace("state=", "state=forged")
            refused = await browser.get(forged)
            assert refused.status_code == 400
            assert sign_in.refused_states == 1
            assert not oauth_server.token_requests  # a wrong state is never traded in
            back = await browser.get(redirect)
            assert back.status_code == 200 and "Signed in" in back.text
        signed = await sign_in.wait()
    assert signed.profile_id == "portal"
    request = oauth_server.token_requests[-1]
    assert request["grant_type"] == "authorization_code" and request["code_verifier"]
    assert store.load("portal") is not None


async def test_an_expired_access_token_is_renewed_before_the_send(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    transcript: Transcript,
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    await _sign_in(profile, oauth_server)
    kept = store.load("portal")
    assert kept is not None
    store.save("portal", kept._replace(expires_at=time.time() + 30))  # within the margin
    oauth_server.expire_access_tokens()
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 0, result.summary
    assert transcript.text.count("AUTH XOAUTH2 ********") == 1  # renewed before, not after
    assert oauth_server.token_requests[-1]["grant_type"] == "refresh_token"
    renewed = store.load("portal")
    assert renewed is not None and renewed.access_token != kept.access_token
    assert renewed.refresh_token == kept.refresh_token  # kept when the server sends none


async def test_a_token_refused_at_auth_is_renewed_once_then_sent(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    transcript: Transcript,
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    await _sign_in(profile, oauth_server)
    oauth_server.expire_access_tokens()  # revoked early: mailtui still thinks it is good
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 0, result.summary
    assert transcript.text.count("AUTH XOAUTH2 ********") == 2
    refreshes = [r for r in oauth_server.token_requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1


async def test_a_revoked_refresh_token_is_exit_77_with_the_sign_in_hint(
    home: Path,
    oauth_portal: RunningServer,
    pki: Pki,
    oauth_server: OAuthServer,
    transcript: Transcript,
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    await _sign_in(profile, oauth_server)
    oauth_server.revoke_all()  # the person removed mailtui's access in their account
    result = await sending.send(profile, DRAFT, listener=transcript, probe=())
    assert result.exit_code == 77, result.summary
    assert "sign in again: mailtui login portal" in result.summary
    assert transcript.text.count("AUTH XOAUTH2 ********") == 1  # one refresh try, no loop
    assert len(oauth_portal.sink.messages) == 0


async def test_not_signed_in_is_exit_77_without_connecting(
    home: Path, oauth_portal: RunningServer, pki: Pki, oauth_server: OAuthServer
) -> None:
    profile = _profile(home, oauth_portal, pki, oauth_server)
    result = await sending.send(profile, DRAFT, probe=())
    assert result.exit_code == 77, result.summary
    assert "is not signed in: run mailtui login portal" in result.summary
    assert oauth_portal.sink.connections == 0
