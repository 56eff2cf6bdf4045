"""An access token for a send: from the profile's `token_command`, or from the tokens that
`mailtui login` kept, renewed with the refresh token before it expires.

Failures are `TokenError`s whose `error` names the row of tui/core/wordings.py that explains
them: a refresh token the provider no longer takes means signing in again (exit 77), a
failing `token_command` is the profile's to fix (exit 78), an unreachable provider is
temporary (exit 75).
"""

from __future__ import annotations

import time
from typing import Any

from tui.core.oauth import store
from tui.core.oauth.settings import OAuthSettings, endpoints
from tui.core.profiles import Profile

TOKEN_COMMAND_TIMEOUT = 15.0
HTTP_TIMEOUT = 20.0
# The provider's answers that mean the refresh token is no good any more (RFC 6749, 5.2).
SIGN_IN_AGAIN = ("invalid_grant",)
# And those that mean the [oauth] table is wrong (client id, secret, scope).
MISCONFIGURED = ("invalid_client", "unauthorized_client", "invalid_scope")


class TokenError(Exception):
    """No access token; `error` is the kind of failure (sign-in, token-command,
    token-server, config), the message says what happened and what to do."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def sign_in_hint(profile: Profile) -> str:
    return f"sign in again: mailtui login {profile.id}"


def oauth_client(settings: OAuthSettings, **kwargs: Any) -> Any:
    """Authlib's OAuth2 client (over httpx) for the profile's provider."""
    from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=endpoints(settings).scope,
        timeout=HTTP_TIMEOUT,
        **kwargs,
    )


def access_token(profile: Profile, renew: bool = False) -> str:
    """The access token to log in with now: `token_command`'s, or the kept one (renewed
    first when it is about to expire). With `renew`, after the server refused the last one:
    the command run again, or a refresh whatever the expiry says. Raises TokenError."""
    if profile.token_command is not None:
        return _run_token_command(profile)
    if profile.oauth is None:
        raise TokenError(
            "config", f"profile {profile.id} has no token_command and no [oauth] table"
        )
    with store.locked(profile.id):
        kept = _kept(profile)
        token = None if renew else kept.fresh_access_token()
        return token if token is not None else _refresh(profile, kept)


def renew_access_token(profile: Profile) -> str:
    """A new access token after the server refused the last one (see `access_token`)."""
    return access_token(profile, renew=True)


def _kept(profile: Profile) -> store.StoredTokens:
    kept = store.load(profile.id)
    if kept is None or (kept.refresh_token is None and kept.fresh_access_token() is None):
        raise TokenError(
            "sign-in", f"profile {profile.id} is not signed in: run mailtui login {profile.id}"
        )
    return kept


def _run_token_command(profile: Profile) -> str:
    from tui.core.secrets import SecretError, run_secret_command

    assert profile.token_command is not None
    try:
        return run_secret_command(
            profile.id,
            profile.token_command,
            "token_command",
            "access token",
            TOKEN_COMMAND_TIMEOUT,
        )
    except SecretError as exc:
        raise TokenError("token-command", f"{exc}; run it yourself to see why") from None


def _refresh(profile: Profile, kept: store.StoredTokens) -> str:
    """Trade the refresh token for a new access token, and keep what comes back."""
    import httpx2
    from authlib.common.errors import AuthlibBaseError

    assert profile.oauth is not None
    if kept.refresh_token is None:
        raise TokenError("sign-in", f"the access token has expired; {sign_in_hint(profile)}")
    where = endpoints(profile.oauth).token_url
    try:
        with oauth_client(profile.oauth) as client:
            token = client.refresh_token(where, refresh_token=kept.refresh_token)
    except AuthlibBaseError as exc:
        raise token_failure(profile, exc.error, exc.description) from None
    except httpx2.HTTPStatusError as exc:
        raise TokenError(
            "token-server",
            f"the sign-in server {where} answered HTTP {exc.response.status_code} when "
            "renewing the access token; try again later",
        ) from None
    except (httpx2.HTTPError, OSError, ValueError) as exc:
        raise TokenError(
            "token-server",
            f"the sign-in server {where} could not be reached to renew the access token "
            f"({type(exc).__name__}); try again later",
        ) from None
    return keep(profile.id, dict(token), kept.refresh_token)


def token_failure(profile: Profile, error: str, description: str | None) -> TokenError:
    """The TokenError for an OAuth2 error answer of the token endpoint."""
    said = f' (it said "{error}: {description}")' if description else f' (it said "{error}")'
    if error in SIGN_IN_AGAIN:
        return TokenError(
            "sign-in",
            f"the provider no longer accepts the sign-in of profile {profile.id}, revoked or "
            f"expired{said}; {sign_in_hint(profile)}",
        )
    if error in MISCONFIGURED:
        return TokenError(
            "config",
            f"the provider refused the [oauth] settings of profile {profile.id}{said}; check "
            "client_id, client_secret and scopes",
        )
    return TokenError("token-server", f"the sign-in server refused to renew the access token{said}")


def keep(profile_id: str, token: dict[str, Any], refresh_token: str | None = None) -> str:
    """Keep a token endpoint's answer (the refresh token it rotated to, or the old one) and
    return its access token."""
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenError("token-server", "the sign-in server's answer had no access token")
    expires_at = token.get("expires_at")
    expires_in = token.get("expires_in")
    if not isinstance(expires_at, int | float) and isinstance(expires_in, int | float):
        expires_at = time.time() + float(expires_in)
    refresh = token.get("refresh_token") or refresh_token
    store.save(
        profile_id,
        store.StoredTokens(
            refresh if isinstance(refresh, str) else None,
            access,
            float(expires_at) if isinstance(expires_at, int | float) else None,
        ),
    )
    return access
