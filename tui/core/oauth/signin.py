"""Signing in: the device authorization grant (RFC 8628), or the authorization code grant
with PKCE (RFC 7636) and a loopback redirect on 127.0.0.1 (RFC 8252). Either way the tokens
end in the store (tui/core/oauth/store.py).

The command line and the app's sign-in screen drive the same objects:

    sign_in = await DeviceSignIn.start(profile)        # SignInError if it cannot start
    show(sign_in.code.url, sign_in.code.user_code, sign_in.code.qr())
    signed = await sign_in.wait()                      # cancel the task to stop waiting
    await sign_in.aclose()

or `BrowserSignIn.start(profile, open_browser=webbrowser.open)`, whose `url` is the page to
open and whose `wait()` ends when the browser comes back to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from tui.core.oauth import store
from tui.core.oauth.settings import endpoints
from tui.core.oauth.tokens import HTTP_TIMEOUT, TokenError, keep
from tui.core.profiles import Profile

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # RFC 8628, 3.5: when the server names none
SLOW_DOWN_STEP = 5.0  # RFC 8628, 3.5: each slow_down adds this to the interval
BROWSER_TIMEOUT = 600.0
QR_ERROR_LEVEL = "l"  # the smallest QR code: a screen is not a torn label

Sleep = Callable[[float], Awaitable[None]]


class SignInError(Exception):
    """The sign-in did not succeed; `error` is what became of it (denied, expired, state,
    config, server), the message says it and what to do, in one line."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


class SignedIn(NamedTuple):
    """A finished sign-in: where the tokens are kept and until when the access token holds."""

    profile_id: str
    kept_in: str  # "the system keyring", or the file's path
    expires_at: float | None


@dataclass(frozen=True)
class DeviceCode:
    """What the person needs to approve the sign-in on another device (RFC 8628, 3.2)."""

    verification_uri: str
    user_code: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    @property
    def url(self) -> str:
        """The page to open: with the code filled in, when the provider offers that."""
        return self.verification_uri_complete or self.verification_uri

    def qr(self) -> str:
        """A QR code of `url`, drawn with block characters for a terminal or a Static."""
        return qr_text(self.url)


def qr_text(url: str) -> str:
    """`url` as a QR code in text, two rows of modules a line (segno's compact drawing)."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error=QR_ERROR_LEVEL).terminal(out=out, compact=True, border=1)
    return out.getvalue().rstrip("\n")


def _settings(profile: Profile) -> Any:
    if profile.oauth is None:
        raise SignInError(
            "config",
            f"profile {profile.id} has no [oauth] table: add one with provider and client_id "
            "(see the README), or use token_command with your own helper",
        )
    return profile.oauth


def _client(profile: Profile, **kwargs: Any) -> Any:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    settings = _settings(profile)
    return AsyncOAuth2Client(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=endpoints(settings).scope,
        timeout=HTTP_TIMEOUT,
        **kwargs,
    )


def _kept(profile: Profile, token: dict[str, Any]) -> SignedIn:
    try:
        with store.locked(profile.id):
            keep(profile.id, token)
    except TokenError as exc:
        raise SignInError("server", str(exc)) from None
    kept = store.load(profile.id)
    where = "the system keyring" if not store.token_file(profile.id).exists() else None
    return SignedIn(
        profile.id,
        where or str(store.token_file(profile.id)),
        kept.expires_at if kept is not None else None,
    )


def _refused(error: str, description: str | None) -> SignInError:
    said = f"{error}: {description}" if description else error
    if error == "access_denied":
        return SignInError("denied", f"the sign-in was declined ({said})")
    if error == "expired_token":
        return SignInError("expired", "the code expired before it was approved; sign in again")
    if error in ("invalid_client", "unauthorized_client", "invalid_scope"):
        return SignInError(
            "config",
            f"the provider refused the [oauth] settings ({said}); check client_id, "
            "client_secret and scopes",
        )
    return SignInError("server", f"the sign-in server refused ({said})")


def _unreachable(url: str, exc: BaseException) -> SignInError:
    return SignInError(
        "server", f"the sign-in server {url} could not be reached ({type(exc).__name__})"
    )


class DeviceSignIn:
    """The device authorization grant (RFC 8628): a code to approve on any device."""

    def __init__(
        self, profile: Profile, code: DeviceCode, device_code: str, client: Any, sleep: Sleep
    ) -> None:
        self.profile = profile
        self.code = code
        self._device_code = device_code
        self._client = client
        self._sleep = sleep
        self.polls = 0

    @classmethod
    async def start(cls, profile: Profile, *, sleep: Sleep = asyncio.sleep) -> DeviceSignIn:
        """Ask the provider for a user code (RFC 8628, 3.1). `sleep` waits between polls."""
        import httpx2

        settings = _settings(profile)
        where = endpoints(settings)
        if where.device_authorization_url is None:
            raise SignInError(
                "config",
                f"the provider of profile {profile.id} has no sign-in with a code for mail; "
                f"use mailtui login {profile.id} --browser",
            )
        client = _client(profile)
        data = {"client_id": settings.client_id, "scope": where.scope}
        try:
            response = await client.request(
                "POST", where.device_authorization_url, data=data, withhold_token=True
            )
            answer = response.json()
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            await client.aclose()
            raise _unreachable(where.device_authorization_url, exc) from None
        if not isinstance(answer, dict) or "error" in answer or response.status_code != 200:
            await client.aclose()
            answer = answer if isinstance(answer, dict) else {}
            raise _refused(
                str(answer.get("error", f"HTTP {response.status_code}")),
                answer.get("error_description"),
            )
        try:
            code = DeviceCode(
                verification_uri=str(
                    answer.get("verification_uri") or answer["verification_url"]
                ),  # Google's older name
                user_code=str(answer["user_code"]),
                verification_uri_complete=answer.get("verification_uri_complete"),
                expires_in=float(answer.get("expires_in", 900)),
                interval=float(answer.get("interval", DEFAULT_INTERVAL)),
            )
            device_code = str(answer["device_code"])
        except (KeyError, TypeError, ValueError):
            await client.aclose()
            raise SignInError("server", "the sign-in server's answer lacked the code") from None
        return cls(profile, code, device_code, client, sleep)

    async def wait(self, on_poll: Callable[[float], None] | None = None) -> SignedIn:
        """Poll the token endpoint until the person approves (RFC 8628, 3.4 and 3.5):
        `authorization_pending` waits the interval again, `slow_down` adds 5 s to it,
        `expired_token` and `access_denied` end it. Cancel the task to stop waiting.
        `on_poll` hears the interval before each wait (for a "waiting…" display)."""
        import httpx2
        from authlib.common.errors import AuthlibBaseError

        token_url = endpoints(_settings(self.profile)).token_url
        interval = max(self.code.interval, 1.0)
        started = time.monotonic()
        waited = 0.0
        while True:
            if on_poll is not None:
                on_poll(interval)
            await self._sleep(interval)
            waited += interval
            if max(waited, time.monotonic() - started) >= self.code.expires_in:
                raise _refused("expired_token", None)
            self.polls += 1
            try:
                token = await self._client.fetch_token(
                    token_url, grant_type=DEVICE_GRANT, device_code=self._device_code
                )
            except AuthlibBaseError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += SLOW_DOWN_STEP
                    continue
                raise _refused(exc.error, exc.description) from None
            except (httpx2.HTTPError, OSError, ValueError) as exc:
                raise _unreachable(token_url, exc) from None
            return _kept(self.profile, dict(token))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> DeviceSignIn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class BrowserSignIn:
    """The authorization code grant with PKCE, the browser coming back to a one-shot web
    server on 127.0.0.1 (RFC 8252, 7.3). A redirect whose `state` is not this sign-in's is
    refused (it is not the answer to our request) and the wait goes on."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.url = ""
        self.redirect_uri = ""
        self._server: asyncio.AbstractServer | None = None
        self._client: Any = None
        self._state = ""
        self._verifier = secrets.token_urlsafe(64)  # RFC 7636: 43 to 128 characters
        self._answer: asyncio.Future[dict[str, str]] | None = None
        self.refused_states = 0

    @classmethod
    async def start(
        cls, profile: Profile, open_browser: Callable[[str], object] | None = None
    ) -> BrowserSignIn:
        """Listen on 127.0.0.1, build the authorization URL, and open it (when given a way)."""
        settings = _settings(profile)
        where = endpoints(settings)
        if where.authorization_url is None:
            raise SignInError(
                "config",
                f"profile {profile.id}'s provider has no authorization_url; add it to [oauth], "
                f"or sign in with a code: mailtui login {profile.id}",
            )
        self = cls(profile)
        self._answer = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{port}/"
        self._client = _client(
            profile, redirect_uri=self.redirect_uri, code_challenge_method="S256"
        )
        extra = (
            {"access_type": "offline", "prompt": "consent"} if settings.provider == "google" else {}
        )
        self.url, self._state = self._client.create_authorization_url(
            where.authorization_url, code_verifier=self._verifier, **extra
        )
        if open_browser is not None:
            # No browser here is fine: the URL is shown, to be opened elsewhere.
            with contextlib.suppress(Exception):
                open_browser(self.url)
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            query = parse_qs(urlsplit(parts[1]).query) if len(parts) >= 2 else {}
            answer = {key: values[0] for key, values in query.items()}
            if "state" not in answer or ("code" not in answer and "error" not in answer):
                status, page = "404 Not Found", "Nothing here."
            elif not secrets.compare_digest(answer["state"], self._state):
                self.refused_states += 1
                status = "400 Bad Request"
                page = "This answer is not for the sign-in mailtui started; it was refused."
            else:
                if self._answer is not None and not self._answer.done():
                    self._answer.set_result(answer)
                status = "200 OK"
                page = (
                    "Signed in: you can close this tab and go back to mailtui."
                    if "code" in answer
                    else "The sign-in did not succeed; mailtui says why."
                )
            body = f"<!doctype html><title>mailtui</title><p>{page}</p>\n".encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (OSError, TimeoutError, UnicodeError):
            pass
        finally:
            writer.close()

    async def wait(self, within: float = BROWSER_TIMEOUT) -> SignedIn:
        """Wait for the browser's redirect and trade its code (with the PKCE verifier) for
        tokens. Cancel the task to stop waiting."""
        import httpx2
        from authlib.common.errors import AuthlibBaseError

        assert self._answer is not None
        try:
            answer = await asyncio.wait_for(asyncio.shield(self._answer), within)
        except TimeoutError:
            raise SignInError(
                "expired", f"no answer from the browser within {within:g} s; sign in again"
            ) from None
        if "error" in answer:
            raise _refused(answer["error"], answer.get("error_description"))
        token_url = endpoints(_settings(self.profile)).token_url
        try:
            token = await self._client.fetch_token(
                token_url,
                grant_type="authorization_code",
                code=answer["code"],
                code_verifier=self._verifier,
                redirect_uri=self.redirect_uri,
            )
        except AuthlibBaseError as exc:
            raise _refused(exc.error, exc.description) from None
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise _unreachable(token_url, exc) from None
        return _kept(self.profile, dict(token))

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> BrowserSignIn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def sign_out(profile_id: str) -> bool:
    """Forget the profile's tokens (keyring and file); True if there were any. The
    provider may keep the grant: revoke it in the account's security page to end it."""
    return store.forget(profile_id)
