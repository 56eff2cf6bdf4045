"""The profile's `[oauth]` table, and the providers whose endpoints mailtui knows.

Knowledge that grows by rows: a provider is a row of `PROVIDERS` with its real endpoints
and the scope that lets a token send mail by SMTP. Every endpoint can be set in the table
too (a company's own server, or a test server on loopback); only a loopback address may use
plain http.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

OAuthProvider = Literal["microsoft", "google", "custom"]
OAUTH_PROVIDERS: tuple[OAuthProvider, ...] = ("microsoft", "google", "custom")
MICROSOFT_TENANTS = ("consumers", "organizations", "common")


class ProviderPreset(NamedTuple):
    """A provider's endpoints ({tenant} filled in for Microsoft) and the SMTP scope."""

    authorization_url: str
    token_url: str
    device_authorization_url: str | None  # None: the provider has no device flow for mail
    scopes: tuple[str, ...]
    page: str  # where a person registers a client id


PROVIDERS: dict[str, ProviderPreset] = {
    "microsoft": ProviderPreset(
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
        ("https://outlook.office.com/SMTP.Send", "offline_access"),
        "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
    ),
    # Google's device flow does not allow the Gmail scope: sign in with the browser.
    "google": ProviderPreset(
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        None,
        ("https://mail.google.com/",),
        "https://console.cloud.google.com/apis/credentials",
    ),
}


class OAuthSettings(NamedTuple):
    """The `[oauth]` table as the file has it (None: not set, the provider's value is used)."""

    provider: OAuthProvider
    client_id: str
    client_secret: str | None = None
    tenant: str | None = None
    authorization_url: str | None = None
    token_url: str | None = None
    device_authorization_url: str | None = None
    scopes: tuple[str, ...] | None = None

    def __repr__(self) -> str:  # never the client secret, whatever prints a profile
        shown = ", ".join(
            f"{name}={'<hidden>' if name == 'client_secret' and value else repr(value)}"
            for name, value in zip(self._fields, self, strict=True)
        )
        return f"OAuthSettings({shown})"


class Endpoints(NamedTuple):
    """Where to sign in and get tokens, the provider's preset with the table's overrides."""

    authorization_url: str | None
    token_url: str
    device_authorization_url: str | None
    scopes: tuple[str, ...]

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def endpoints(settings: OAuthSettings) -> Endpoints:
    """The endpoints to use for `settings`: the table's own, else its provider's."""
    preset = PROVIDERS.get(settings.provider)
    tenant = settings.tenant or "consumers"

    def pick(own: str | None, preset_url: str | None) -> str | None:
        if own is not None:
            return own
        return preset_url.format(tenant=tenant) if preset_url is not None else None

    token_url = pick(settings.token_url, preset.token_url if preset else None)
    assert token_url is not None  # the table's check makes custom providers give one
    return Endpoints(
        pick(settings.authorization_url, preset.authorization_url if preset else None),
        token_url,
        pick(
            settings.device_authorization_url, preset.device_authorization_url if preset else None
        ),
        settings.scopes if settings.scopes is not None else (preset.scopes if preset else ()),
    )


# key in the [oauth] table -> (accepted types, description of the type)
OAUTH_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "provider": ((str,), 'one of "microsoft", "google", "custom"'),
    "client_id": ((str,), "the client id you registered with the provider"),
    "client_secret": ((str,), "a string"),
    "tenant": ((str,), 'a tenant: "consumers", "organizations", "common" or a tenant id'),
    "authorization_url": ((str,), "an https URL"),
    "token_url": ((str,), "an https URL"),
    "device_authorization_url": ((str,), "an https URL"),
    "scopes": ((str, list), 'scopes, such as "https://mail.google.com/"'),
}
URL_KEYS = ("authorization_url", "token_url", "device_authorization_url")


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only places plain http may go."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """What is wrong with an endpoint URL, or None: https, or http to a loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises for a port that is not a number)
    except ValueError:
        return f"{url!r} is not a URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and is_loopback_host(host):
        return None
    if parts.scheme == "http":
        return "must be an https URL (plain http only to this machine, 127.0.0.1)"
    return 'must be an https URL such as "https://login.example/token"'


def parse_oauth(table: dict[str, Any], fail: Callable[[str, str], None]) -> OAuthSettings | None:
    """The `[oauth]` table, each fault named as `oauth.KEY` through `fail`; None when it has
    any fault."""
    from tui.core.profiles import kind_of, nearest

    faults: list[str] = []

    def fault(key: str, problem: str) -> None:
        faults.append(key)
        fail(f"oauth.{key}", problem)

    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in OAUTH_KEYS:
            near = nearest(key, list(OAUTH_KEYS))
            hint = (
                f"did you mean 'oauth.{near}'?"
                if near
                else f"valid keys are {', '.join(OAUTH_KEYS)}"
            )
            fault(key, f"unknown key in [oauth]; {hint}")
            continue
        types, description = OAUTH_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, types):
            fault(key, f"must be {description}, not {kind_of(value)}")
        elif isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
            fault(key, "contains a control character (such as a line break); remove it")
        else:
            values[key] = value
    for key in ("provider", "client_id"):
        if key not in table:
            fault(key, f"missing; add {key} = {OAUTH_KEYS[key][1]} under [oauth]")
    provider = values.get("provider")
    if provider is not None and provider not in OAUTH_PROVIDERS:
        near = nearest(str(provider).lower(), OAUTH_PROVIDERS)
        hint = f'; did you mean "{near}"?' if near else ""
        fault("provider", f"must be one of {', '.join(OAUTH_PROVIDERS)}{hint}")
    if "client_id" in values and not values["client_id"].strip():
        fault("client_id", "is empty; give the client id you registered with the provider")
    tenant = values.get("tenant")
    if tenant is not None:
        if provider not in (None, "microsoft"):
            fault("tenant", 'is only for provider = "microsoft"; remove it')
        elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}", tenant):
            fault("tenant", 'must be "consumers", "organizations", "common" or a tenant id')
    for key in URL_KEYS:
        if key in values:
            problem = url_problem(values[key])
            if problem is not None:
                fault(key, problem)
    if "scopes" in values:
        scopes = values["scopes"]
        items = scopes.split() if isinstance(scopes, str) else scopes
        if not items or not all(isinstance(s, str) and s and " " not in s for s in items):
            fault("scopes", 'must name the scopes, such as "https://mail.google.com/"')
        else:
            values["scopes"] = tuple(items)
    if provider == "custom":
        for key in ("token_url", "scopes"):
            if key not in table:
                fault(key, f'is required with provider = "custom"; add {key} under [oauth]')
        if "authorization_url" not in table and "device_authorization_url" not in table:
            fault(
                "device_authorization_url",
                'provider = "custom" needs device_authorization_url (sign-in with a code) '
                "or authorization_url (in the browser), or both",
            )
    if faults:
        return None
    return OAuthSettings(**values)


def oauth_to_toml(settings: OAuthSettings) -> dict[str, Any]:
    """The `[oauth]` table for `settings`, in the README's key order, without unset keys."""
    out: dict[str, Any] = {}
    for key in OAUTH_KEYS:
        value = getattr(settings, key)
        if value is None:
            continue
        out[key] = " ".join(value) if key == "scopes" else value
    return out
