"""Profile files: validation with errors that name the file, the key and the fix."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import write_profile
from tui.core.profiles import (
    Profile,
    ProfileError,
    load_profile,
    load_profiles,
    save_profile,
)

BASE = {"name": "Home", "from": "jane@isp.example", "host": "smtp.isp.example", "security": "none"}


def test_port_defaults_follow_security(home: Path) -> None:
    for security, port in (("none", 25), ("starttls", 587), ("tls", 465)):
        profile = load_profile(write_profile(home, security, **{**BASE, "security": security}))
        assert profile.effective_port == port
    explicit = load_profile(write_profile(home, "x", **{**BASE, "port": 2525}))
    assert explicit.effective_port == 2525


def test_unknown_key_suggests_the_nearest(home: Path) -> None:
    path = write_profile(home, "typo", **BASE, usrename="jane")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    error = caught.value
    assert error.key == "usrename"
    assert "did you mean 'username'" in str(error)
    assert str(path) in str(error)


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({**BASE, "port": "25"}, "port", "whole number from 1 to 65535, not text"),
        ({**BASE, "port": 70000}, "port", "1 to 65535"),
        ({**BASE, "security": "ssl"}, "security", "one of none, starttls, tls"),
        ({**BASE, "auth": "plian", "username": "j"}, "auth", 'did you mean "plain"'),
        ({**BASE, "security": "tls", "auth": "plain"}, "username", "required"),
        ({k: v for k, v in BASE.items() if k != "host"}, "host", "missing"),
        ({**BASE, "from": "jane"}, "from", "no @domain"),
        ({**BASE, "networks": ["10.0.0.0/33"]}, "networks", "not a network"),
        ({**BASE, "tls_fingerprint": "sha256:12"}, "tls_fingerprint", "SHA-256"),
        ({**BASE, "timeout": True}, "timeout", "number of seconds, not true/false"),
        ({**BASE, "timeout": 10**400}, "timeout", "above 0 and at most 3600"),
        ({**BASE, "auth": "plain", "username": "j"}, "security", "never sends a password"),
        ({**BASE, "host": "bad host\nname"}, "host", "control character"),
    ],
)
def test_bad_values_name_key_and_fix(
    home: Path, keys: dict[str, object], key: str, words: str
) -> None:
    path = write_profile(home, "bad", **keys)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_broken_file_does_not_stop_the_others(home: Path) -> None:
    write_profile(home, "good", **BASE)
    (home / "profiles" / "broken.toml").write_text('name = "unterminated\n')
    (home / "profiles" / "latin1.toml").write_bytes('name = "Müller"\n'.encode("latin-1"))
    found = load_profiles()
    assert [p.id for p in found.profiles] == ["good"]
    errors = {e.profile_id: str(e) for e in found.errors}
    assert "not valid TOML" in errors["broken"]
    assert "not UTF-8" in errors["latin1"]


def test_password_in_a_readable_file_is_refused(home: Path) -> None:
    path = write_profile(
        home, "p", **{**BASE, "security": "tls", "auth": "plain", "username": "j", "password": "x"}
    )
    path.chmod(0o644)
    with pytest.raises(ProfileError, match="chmod 600"):
        load_profile(path)
    path.chmod(0o600)
    assert load_profile(path).password == "x"


def test_save_round_trips_and_is_private(home: Path) -> None:
    profile = Profile(
        id="portal",
        name="Web Portal",
        from_="Jane <jane@portal.example>",
        host="smtp.portal.example",
        security="starttls",
        provider="portal",
        auth="login",
        username="jane",
        password_command="pass show portal",
        networks=("192.168.1.0/24",),
        timeout=12.5,
    )
    path = save_profile(profile)
    assert path == home / "profiles" / "portal.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_profile(path) == profile._replace(path=path)
    text = path.read_text()
    assert 'from = "Jane <jane@portal.example>"' in text
    assert "\nport =" not in text  # the default follows security and is not written


def test_save_refuses_invalid_profile_and_keeps_the_old_file(home: Path) -> None:
    good = Profile(id="p", name="P", from_="a@b.example", host="smtp.b.example", security="none")
    path = save_profile(good)
    before = path.read_bytes()
    with pytest.raises(ProfileError):
        save_profile(
            Profile(
                id="p", name="P", from_="not-an-address", host="smtp.b.example", security="none"
            )
        )
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["p.toml"]  # no temporary file left


def test_example_profiles_shipped_with_the_project_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "profiles"
    found = load_profiles(folder)
    assert found.errors == ()
    assert len(found.profiles) >= 2
    assert {p.provider for p in found.profiles} == {"isp", "portal"}


# Regressions found by the properties in test_properties.py: each used to escape as an
# exception other than ProfileError (or, for the empty key, name no key at all).
BASE_TOML = 'name = "Home"\nfrom = "j@isp.example"\nhost = "smtp.isp.example"\nsecurity = "none"\n'


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('"" = "x"\n', "", "unknown key"),
        (BASE_TOML + 'ca_file = "~no-such-user-mailtui/ca.pem"\n', "ca_file", "full path"),
        ("port = " + "1" * 5000 + "\n", None, "number too long"),
        ("networks = " + "[" * 3000 + "]" * 3000 + "\n", None, "nested too deeply"),
        ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", None, "nested too deeply"),
    ],
    ids=["empty-key", "unknown-user-home", "long-number", "deep-list", "deep-table"],
)
def test_hostile_profile_text_is_a_profile_error(
    home: Path, text: str, key: str | None, words: str
) -> None:
    folder = home / "profiles"
    folder.mkdir()
    path = folder / "odd.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value) and words in str(caught.value)
    if key is not None:
        assert f"key '{key}'" in str(caught.value)
    assert load_profiles().errors[0].path == path  # and listing the folder does not stop


@pytest.mark.parametrize("item", [5, True, 3232235777])
def test_network_that_is_not_text_is_refused(home: Path, item: object) -> None:
    # Was accepted as 0.0.0.5/32, 0.0.0.1/32 and 192.168.1.1/32.
    path = write_profile(home, "n", **BASE, networks=[item])
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == "networks"
    assert "is not a network such as" in str(caught.value)


def test_a_profile_never_shows_its_password() -> None:
    profile = Profile(
        id="p", name="P", from_="a@b.example", host="h.example", security="tls", password="hunter2"
    )
    assert "hunter2" not in repr(profile) and "hunter2" not in str(profile)
    assert "password=<hidden>" in repr(profile) and "host='h.example'" in repr(profile)
    assert "password=None" in repr(profile._replace(password=None))


def test_server_is_written_as_people_write_it() -> None:
    plain = Profile(id="p", name="P", from_="a@b.example", host="h.example", security="tls")
    assert plain.server == "h.example:465"
    assert plain._replace(host="::1", port=2525).server == "[::1]:2525"
    assert plain._replace(host="127.0.0.1", security="none").server == "127.0.0.1:25"


@pytest.mark.parametrize(
    ("helo", "words"),
    [
        ("my laptop", 'a host name such as "laptop.example"'),
        ("ordinateur-portable.café", '"ordinateur-portable.xn--caf-dma"'),
        ("laptop.example.", 'a host name such as "laptop.example"'),
        ("under_score.example", 'a host name such as "laptop.example"'),
        ("192.0.2.1", 'an address literal: "[192.0.2.1]"'),
        ("2001:db8::1", 'an address literal: "[IPv6:2001:db8::1]"'),
        ("[2001:db8::1]", 'an address literal: "[IPv6:2001:db8::1]"'),
        ("[192.0.2.300]", "address literal"),
    ],
)
def test_helo_that_is_no_domain_or_address_literal_is_a_profile_error(
    home: Path, helo: str, words: str
) -> None:
    """RFC 5321: the EHLO name is a domain or an address literal. Anything else used to pass
    here and crash the send with a traceback (blocking every later flush)."""
    path = write_profile(home, "helo", **BASE, helo=helo)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == "helo"
    assert words in str(caught.value), str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "helo", ["laptop", "laptop.example", "mx-1.isp.example", "[192.0.2.1]", "[IPv6:2001:db8::1]"]
)
def test_helo_domains_and_address_literals_load(home: Path, helo: str) -> None:
    assert load_profile(write_profile(home, "helo", **BASE, helo=helo)).helo == helo


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_ca_file_that_is_not_a_regular_file_is_a_profile_error(
    home: Path, tmp_path: Path, kind: str
) -> None:
    """A ca_file on a named pipe used to hang the send for good, beyond Ctrl-C's reach."""
    import os

    target = {"fifo": tmp_path / "ca.pem", "folder": tmp_path, "device": Path("/dev/zero")}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    path = write_profile(home, "ca", **{**BASE, "security": "tls"}, ca_file=str(target))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.key == "ca_file"
    assert "not a regular file" in str(caught.value) and "PEM" in str(caught.value)


async def test_tls_context_refuses_a_ca_file_swapped_for_a_pipe(tmp_path: Path) -> None:
    """Checked again where it is read (in a thread Ctrl-C cannot stop), in case the file
    changed after the profile was loaded: an error at once, not a hang."""
    import asyncio
    import os

    from tui.core.tls import TlsConfigError, make_tls_context

    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    profile = Profile(
        id="p", name="P", from_="a@b.example", host="b.example", security="tls", ca_file=str(fifo)
    )
    try:
        with pytest.raises(TlsConfigError, match="not a regular file"):
            await asyncio.wait_for(asyncio.to_thread(make_tls_context, profile), 3)
    finally:  # a reader stuck in open() is let go: it gets the end of the pipe at once
        os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o622])
def test_profile_writable_by_others_is_refused(home: Path, mode: int) -> None:
    """As OpenSSH refuses a config file others can change: they could make mailtui run their
    command (password_command) or send the mail and the login elsewhere."""
    path = write_profile(
        home,
        "shared",
        **{**BASE, "security": "tls", "auth": "plain", "username": "j"},
        password_command="pass show isp",
    )
    path.chmod(mode)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert str(path) in message
    assert "password_command" in message
    assert f"chmod go-w {path}" in message
    path.chmod(0o644)  # readable by others is fine without a password in the file
    assert load_profile(path).password_command == "pass show isp"


@pytest.mark.parametrize(
    ("key", "typed", "meant"),
    [
        ("security", "startls", "starttls"),
        ("provider", "portl", "portal"),
        ("auth", "LOGIN", "login"),
    ],
)
def test_a_mistyped_value_suggests_the_nearest(
    home: Path, key: str, typed: str, meant: str
) -> None:
    keys = {**BASE, "security": "tls", key: typed}
    if key == "auth":
        keys["username"] = "jane"
    with pytest.raises(ProfileError) as caught:
        load_profile(write_profile(home, "typo", **keys))
    assert caught.value.key == key
    assert f'did you mean "{meant}"?' in caught.value.problem


def test_every_fault_of_a_file_is_reported_and_the_first_stays_the_error(home: Path) -> None:
    keys = {k: v for k, v in BASE.items() if k != "name"}
    path = write_profile(
        home,
        "many",
        **keys,
        usrename="jane",
        port="587",
        networks=["10.0.0.0/33", "192.168.1.0/24", "nonsense"],
        helo="my laptop",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    error = caught.value
    assert [e.key for e in error.every] == [
        "usrename",
        "name",
        "port",
        "networks",
        "networks",
        "helo",
    ]
    assert error.key == "usrename" and str(error).startswith(f"{path}, key 'usrename': ")
    assert all(str(e).startswith(f"{path}, key '{e.key}': ") for e in error.every)
    assert "'nonsense' is not a network" in error.every[4].problem
    # The app's field check finds its own key's fault even when an earlier key has one too.
    from tui.core.profiles import check_field

    problem = check_field("port", 70000, {"security": "startls"})
    assert problem == "must be a whole number from 1 to 65535"


def test_a_dependent_check_is_not_reported_for_a_value_already_wrong(home: Path) -> None:
    """auth = "plian" is one fault: not also a missing username or a plain-text password."""
    with pytest.raises(ProfileError) as caught:
        load_profile(write_profile(home, "p", **{**BASE, "auth": "plian"}))
    assert [e.key for e in caught.value.every] == ["auth"]
    both = write_profile(home, "q", **{**BASE, "auth": "plain"})
    with pytest.raises(ProfileError) as caught:
        load_profile(both)
    assert [e.key for e in caught.value.every] == ["security", "username"]


# -- addresses and default: which profile `mailtui sendmail` picks --------------------------


def test_addresses_and_default_load(home: Path) -> None:
    addresses = ["jane@isp.example", "*@example.org", "jane+*@portal.example", "J?ne@Isp.example"]
    profile = load_profile(write_profile(home, "p", **BASE, addresses=addresses, default=True))
    assert profile.addresses == tuple(addresses)  # as written; matching ignores case
    assert profile.default is True
    plain = load_profile(write_profile(home, "q", **BASE))
    assert plain.addresses == () and plain.default is False


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("jane", "'jane' must have exactly one @"),
        ("a@b@example.org", "exactly one @"),
        ("@example.org", "needs a name before the @ and a domain after it"),
        ("jane@", "needs a name before the @ and a domain after it"),
        ("Jane <jane@isp.example>", "write the address alone (no name"),
        ("jane @isp.example", "write the address alone"),
        ("jane@isp..example", "is not an address"),
        ("jane@[a-z].example", "with * and ? as the only wildcards"),
        ("jane@isp.example\n", "is not an address"),
        (5, "an entry is a number, not text; write each address in quotes"),
        (True, "an entry is true/false, not text"),
    ],
)
def test_a_bad_address_entry_names_the_key_and_the_fix(
    home: Path, item: object, words: str
) -> None:
    path = write_profile(home, "a", **BASE, addresses=["ok@isp.example", item])
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert [e.key for e in caught.value.every] == ["addresses"]
    assert str(caught.value).startswith(f"{path}, key 'addresses': ")
    assert words in caught.value.problem
    assert 'such as "jane@isp.example" or "*@example.org"' in caught.value.problem


@pytest.mark.parametrize(
    ("keys", "key", "words"),
    [
        ({"addresses": "jane@isp.example"}, "addresses", 'must be a list such as ["jane@'),
        ({"default": "yes"}, "default", "must be true or false, not text"),
        ({"default": 1}, "default", "must be true or false, not a number"),
        ({"adresses": ["jane@isp.example"]}, "adresses", "did you mean 'addresses'?"),
        ({"defualt": True}, "defualt", "did you mean 'default'?"),
    ],
)
def test_addresses_and_default_of_the_wrong_kind(
    home: Path, keys: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(write_profile(home, "k", **BASE, **keys))
    assert caught.value.key == key
    assert words in caught.value.problem


def test_every_bad_address_is_reported_with_the_other_faults(home: Path) -> None:
    path = write_profile(
        home,
        "many",
        **{**BASE, "port": "25"},
        adresses=["x@isp.example"],
        addresses=["jane", "ok@isp.example", "Jane <j@isp.example>"],
        default="yes",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    every = caught.value.every
    assert [e.key for e in every] == ["adresses", "port", "default", "addresses", "addresses"]
    assert "'jane'" in every[3].problem and "'Jane <j@isp.example>'" in every[4].problem


def test_the_editor_checks_addresses_and_default_as_typed() -> None:
    from tui.core.profiles import check_field

    assert check_field("addresses", ["*@example.org"]) is None
    problem = check_field("addresses", ["*@example.org", "nobody"])
    assert problem is not None and "'nobody' must have exactly one @" in problem
    assert check_field("default", "true") == "must be true or false, not text"
    assert check_field("default", True) is None


def test_addresses_and_default_round_trip_and_are_left_out_when_unset(home: Path) -> None:
    profile = Profile(
        id="isp",
        name="Home ISP",
        from_="Jane <jane@isp.example>",
        host="smtp.isp.example",
        security="none",
        addresses=("*@example.org", "jane+*@portal.example"),
        default=True,
    )
    path = save_profile(profile)
    assert load_profile(path) == profile._replace(path=path)
    text = path.read_text()
    assert 'addresses = [\n    "*@example.org",\n    "jane+*@portal.example",\n]' in text
    assert "default = true" in text
    plain = save_profile(profile._replace(addresses=(), default=False))
    assert "addresses" not in plain.read_text() and "default" not in plain.read_text()
    assert load_profile(plain) == profile._replace(addresses=(), default=False, path=plain)


def test_save_refuses_a_bad_address_entry(home: Path) -> None:
    profile = Profile(
        id="p", name="P", from_="a@b.example", host="b.example", security="none", addresses=("x",)
    )
    with pytest.raises(ProfileError, match="key 'addresses'"):
        save_profile(profile)
    assert not (home / "profiles" / "p.toml").exists()
