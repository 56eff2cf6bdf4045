"""The OAuth2 keys of a profile file: auth = "xoauth2"/"oauthbearer", token_command and the
[oauth] table, checked with every fault named at once, and written back as read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_profile
from tui.core.oauth.settings import endpoints
from tui.core.profiles import ProfileError, load_profile, profile_to_toml, save_profile

BASE: dict[str, Any] = {
    "name": "Outlook",
    "from": "jane@outlook.example",
    "host": "smtp-mail.outlook.com",
    "security": "starttls",
    "auth": "xoauth2",
    "username": "jane@outlook.example",
}


def _faults(home: Path, **keys: Any) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        load_profile(write_profile(home, "p", **{**BASE, **keys}))
    return [str(fault).split(", ", 1)[1] for fault in caught.value.every]


def test_presets_carry_the_real_endpoints_and_smtp_scopes(home: Path) -> None:
    microsoft = load_profile(
        write_profile(home, "ms", **BASE, oauth={"provider": "microsoft", "client_id": "abc"})
    )
    assert microsoft.oauth is not None
    where = endpoints(microsoft.oauth)
    assert where.device_authorization_url == (
        "https://login.microsoftonline.com/consumers/oauth2/v2.0/devicecode"
    )
    assert where.scope == "https://outlook.office.com/SMTP.Send offline_access"
    google = load_profile(
        write_profile(
            home,
            "g",
            **{**BASE, "auth": "oauthbearer"},
            oauth={"provider": "google", "client_id": "x", "client_secret": "y"},
        )
    )
    assert google.oauth is not None
    assert endpoints(google.oauth).scope == "https://mail.google.com/"
    assert endpoints(google.oauth).token_url == "https://oauth2.googleapis.com/token"
    assert "client_secret='y'" not in repr(google)


def test_every_endpoint_can_be_overridden_and_tenant_chosen(home: Path) -> None:
    profile = load_profile(
        write_profile(
            home,
            "ms",
            **BASE,
            oauth={
                "provider": "microsoft",
                "client_id": "abc",
                "tenant": "organizations",
                "token_url": "http://127.0.0.1:8080/token",
            },
        )
    )
    assert profile.oauth is not None
    where = endpoints(profile.oauth)
    assert where.token_url == "http://127.0.0.1:8080/token"
    assert "/organizations/" in (where.authorization_url or "")


def test_every_fault_of_the_oauth_keys_is_named_at_once(home: Path) -> None:
    faults = _faults(
        home,
        token_command="oama access jane",
        oauth={
            "provider": "custom",
            "client_id": "abc",
            "clientsecret": "x",
            "tenant": "t",
            "token_url": "http://login.example/token",
        },
    )
    assert (
        "key 'oauth.clientsecret': unknown key in [oauth]; did you mean 'oauth.client_secret'?"
        in faults
    )
    assert any(f.startswith("key 'oauth.tenant': is only for provider") for f in faults)
    assert any(f.startswith("key 'oauth.token_url': must be an https URL") for f in faults)
    assert any(f.startswith("key 'oauth.scopes': is required with provider") for f in faults)
    assert any(f.startswith("key 'oauth.device_authorization_url'") for f in faults)
    assert any(f.startswith("key 'token_command': and [oauth] both") for f in faults)


def test_token_keys_go_with_a_token_login_only(home: Path) -> None:
    faults = _faults(home, auth="plain", token_command="oama access jane")
    assert faults == [
        'key \'token_command\': is for auth = "xoauth2" or "oauthbearer", not "plain"; '
        "set auth or remove it"
    ]
    assert _faults(home, oauth={"provider": "microsfot", "client_id": "a"}) == [
        "key 'oauth.provider': must be one of microsoft, google, custom; did you mean "
        '"microsoft"?'
    ]


def test_oauth_profiles_round_trip(home: Path) -> None:
    table = {
        "provider": "custom",
        "client_id": "abc",
        "token_url": "https://login.example/token",
        "device_authorization_url": "https://login.example/device",
        "scopes": "smtp offline_access",
    }
    for extra in ({"oauth": table}, {"token_command": "oama access jane"}):
        path = write_profile(home, "p", **BASE, **extra)
        profile = load_profile(path)
        path.unlink()
        again = load_profile(save_profile(profile))
        assert again == profile._replace(path=again.path)
        assert profile_to_toml(again) == {"provider": "isp", **BASE, **extra}
