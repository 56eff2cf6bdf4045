"""The profile's optional [imap] table: defaults, every fault named as imap.KEY, round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_profile
from tui.core.profiles import (
    ImapSettings,
    Profile,
    ProfileError,
    check_field,
    load_profile,
    profile_to_toml,
    save_profile,
)

PORTAL = {
    "name": "Portal",
    "from": "jane@portal.example",
    "host": "smtp.portal.example",
    "security": "starttls",
    "auth": "plain",
    "username": "jane",
}
ISP = {"name": "Home", "from": "jane@isp.example", "host": "smtp.isp.example", "security": "none"}


def test_defaults_follow_the_profile(home: Path) -> None:
    profile = load_profile(write_profile(home, "p", **PORTAL, imap={"host": "imap.portal.example"}))
    assert profile.imap == ImapSettings(host="imap.portal.example")
    assert profile.imap.security == "tls"
    assert profile.imap.effective_port == 993
    assert profile.imap.copy == "auto"
    assert profile.imap_username == "jane"  # the SMTP username
    starttls = load_profile(
        write_profile(home, "s", **PORTAL, imap={"host": "imap.example", "security": "starttls"})
    )
    assert starttls.imap is not None
    assert starttls.imap.effective_port == 143
    assert starttls.imap.server == "imap.example:143"


def test_a_profile_without_the_table_has_no_imap(home: Path) -> None:
    profile = load_profile(write_profile(home, "p", **PORTAL))
    assert profile.imap is None
    assert profile.imap_username is None
    assert "imap" not in profile_to_toml(profile)


def test_every_fault_of_the_table_is_reported_at_once(home: Path) -> None:
    path = write_profile(
        home,
        "bad",
        **ISP,
        imap={
            "hots": "imap.example",
            "security": "none",
            "copy": "alwys",
            "port": 0,
            "tls_fingerprint": "sha256:12",
        },
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    problems = {error.key: error.problem for error in caught.value.every}
    assert "did you mean 'imap.host'" in problems["imap.hots"]
    assert "missing" in problems["imap.host"]
    assert "never sends a password over an unencrypted connection" in problems["imap.security"]
    assert 'did you mean "always"' in problems["imap.copy"]
    assert "1 to 65535" in problems["imap.port"]
    assert "SHA-256" in problems["imap.tls_fingerprint"]
    # An IP-trusted profile has no SMTP username to fall back on.
    assert "no SMTP username" in problems["imap.username"]
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ("imap.example", "imap", "must be a table"),
        ({"host": "imap.example", "security": "ssl"}, "imap.security", "one of tls, starttls"),
        ({"host": "imap.example", "port": "993"}, "imap.port", "not text"),
        ({"host": "bad host"}, "imap.host", "not a valid host name"),
        ({"host": "imap.example", "folder": "  "}, "imap.folder", "is empty"),
        ({"host": "imap.example", "folder": "Sent\n"}, "imap.folder", "control character"),
        ({"host": "imap.example", "username": ""}, "imap.username", "is empty"),
        ({"host": "imap.example", "copy": True}, "imap.copy", "not true/false"),
    ],
)
def test_bad_values_name_the_key(home: Path, table: Any, key: str, words: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(write_profile(home, "bad", **PORTAL, imap=table))
    problems = {error.key: error.problem for error in caught.value.every}
    assert words in problems[key]


def test_an_isp_profile_names_its_imap_login(home: Path) -> None:
    profile = load_profile(
        write_profile(home, "isp", **ISP, imap={"host": "imap.isp.example", "username": "jd"})
    )
    assert profile.imap_username == "jd"


def test_a_named_pipe_is_not_a_ca_file(home: Path, tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "ca.pipe"
    os.mkfifo(pipe)
    with pytest.raises(ProfileError) as caught:
        load_profile(
            write_profile(home, "p", **PORTAL, imap={"host": "i.example", "ca_file": str(pipe)})
        )
    assert caught.value.key == "imap.ca_file"
    assert "named pipe" in caught.value.problem


def test_save_round_trips_the_table(home: Path) -> None:
    profile = Profile(
        id="portal",
        name="Portal",
        from_="jane@portal.example",
        host="smtp.portal.example",
        security="starttls",
        auth="plain",
        username="jane",
        imap=ImapSettings(
            host="imap.portal.example",
            security="starttls",
            port=1143,
            username="jane@portal.example",
            password_command="pass show imap",
            folder="Gesendete Objekte",
            copy="always",
            ca_file="/etc/ssl/ca.pem",
            tls_fingerprint="sha256:" + ":".join(["AB"] * 32),
        ),
    )
    path = save_profile(profile)
    assert load_profile(path) == profile._replace(path=path)
    text = path.read_text()
    assert "[imap]" in text
    assert 'copy = "always"' in text
    minimal = profile._replace(id="m", imap=ImapSettings(host="imap.portal.example"))
    saved = save_profile(minimal).read_text()
    assert "\nport =" not in saved.partition("[imap]")[2]  # defaults are not written
    assert load_profile(home / "profiles" / "m.toml").imap == minimal.imap


def test_check_field_knows_the_table_keys() -> None:
    assert check_field("imap.security", "plain") is not None
    assert check_field("imap.security", "starttls") is None
    assert (
        check_field("imap.copy", "nevr")
        == 'must be one of auto, always, never; did you mean "never"?'
    )
    assert check_field("imap.host", "imap.example") is None
    assert check_field("imap.port", 70000) is not None
