"""Every row of the provider table is well-formed, and makes a profile mailtui can load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core import wordings
from tui.core.discovery.finder import Discovery, from_row
from tui.core.discovery.providers import LOGINS, PROVIDERS, ProviderRow, by_domain, by_mx
from tui.core.oauth.settings import PROVIDERS as OAUTH_PROVIDERS
from tui.core.profiles import _is_host, parse_profile, profile_to_toml

STANDARD = {465: "tls", 587: "starttls", 25: "starttls"}


@pytest.mark.parametrize("row", PROVIDERS, ids=[row.name for row in PROVIDERS])
def test_row_is_well_formed(row: ProviderRow) -> None:
    assert row.domains or row.mx_domains, "a row is found by a domain or an MX domain"
    for domain in (*row.domains, *row.mx_domains):
        assert domain == domain.lower() and "." in domain and _is_host(domain)
    assert _is_host(row.host)
    assert 0 < row.port < 65536
    assert STANDARD.get(row.port, row.security) == row.security, "port and TLS mode agree"
    assert row.login in LOGINS
    assert row.help.startswith("https://")
    if row.imap is not None:
        host, port, security = row.imap
        assert _is_host(host) and security in ("tls", "starttls")
        assert {993: "tls", 143: "starttls"}.get(port, security) == security
    if row.login == "oauth2":
        assert row.oauth in OAUTH_PROVIDERS, "OAuth2 endpoints come from oauth/settings.py"
    if row.login == "app-password":
        # The how-to and its link are wordings.py's: one place for them.
        assert wordings.app_password_provider(row.host) is not None
    if row.note:
        assert row.note.endswith(".") and "\n" not in row.note
    for domain in row.domains:
        assert by_domain(domain) == row, "each domain belongs to one row"


@pytest.mark.parametrize("row", PROVIDERS, ids=[row.name for row in PROVIDERS])
def test_row_makes_a_loadable_profile(row: ProviderRow) -> None:
    address = f"jane@{(row.domains or ('example.org',))[0]}"
    found = from_row(row, address)
    discovery = Discovery(address, address.split("@")[1], found.candidates[0], imap=found.imap)
    profile = discovery.profile("new")
    parsed = parse_profile("new", profile_to_toml(profile), Path("new.toml"))
    assert parsed.host == row.host and parsed.effective_port == row.port
    assert parsed.security == row.security
    assert parsed.provider == ("isp" if row.login == "none" else "portal")
    expected_user = "jane" if row.username == "local" else address
    assert parsed.username == (None if row.login == "none" else expected_user)


def test_hosted_domains_are_found_by_their_mx() -> None:
    assert by_mx("aspmx.l.google.com").name == "Google Workspace"  # type: ignore[union-attr]
    assert by_mx("contoso-com.mail.protection.outlook.com").name == "Microsoft 365"  # type: ignore[union-attr]
    assert by_mx("mail.protonmail.ch").name == "Proton Mail Bridge"  # type: ignore[union-attr]
    assert by_mx("mx.example.org") is None
