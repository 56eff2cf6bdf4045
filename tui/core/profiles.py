"""Sending profiles: one TOML file per account, read with tomllib and written with tomli-w.

A broken file never stops mailtui: it becomes a `ProfileError` naming the file, the key
and the fix, and the other profiles still load.
"""

import ipaddress
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from tui.core import locations
from tui.core.files import write_private
from tui.core.toml_files import TomlFileError, read_toml

if TYPE_CHECKING:  # [oauth] is parsed by its own module, loaded only when a profile has it
    from tui.core.oauth.settings import OAuthSettings

Security = Literal["none", "starttls", "tls"]
AuthMethod = Literal["none", "plain", "login", "cram-md5", "xoauth2", "oauthbearer", "auto"]
Provider = Literal["isp", "portal"]

SECURITY_VALUES: tuple[Security, ...] = ("none", "starttls", "tls")
AUTH_VALUES: tuple[AuthMethod, ...] = (
    "none",
    "plain",
    "login",
    "cram-md5",
    "xoauth2",
    "oauthbearer",
    "auto",
)
# The methods that log in with an OAuth2 access token instead of a password.
BEARER_METHODS = ("xoauth2", "oauthbearer")
PROVIDER_VALUES: tuple[Provider, ...] = ("isp", "portal")
DEFAULT_PORTS: dict[Security, int] = {"none": 25, "starttls": 587, "tls": 465}
PROFILE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

ImapSecurity = Literal["tls", "starttls"]
CopyMode = Literal["auto", "always", "never"]

IMAP_SECURITY_VALUES: tuple[ImapSecurity, ...] = ("tls", "starttls")
COPY_VALUES: tuple[CopyMode, ...] = ("auto", "always", "never")
IMAP_DEFAULT_PORTS: dict[ImapSecurity, int] = {"tls": 993, "starttls": 143}


class ImapSettings(NamedTuple):
    """The profile's optional `[imap]` table: where a copy of each sent message is filed.

    `username` None means the profile's SMTP username; the password comes from
    `password_command`, else from the profile's own secret sources.
    """

    host: str
    security: ImapSecurity = "tls"
    port: int | None = None
    username: str | None = None
    password_command: str | None = None
    folder: str | None = None  # None: found on the server (the \Sent folder, common names)
    copy: CopyMode = "auto"
    ca_file: str | None = None
    tls_fingerprint: str | None = None

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else IMAP_DEFAULT_PORTS[self.security]

    @property
    def server(self) -> str:
        return host_and_port(self.host, self.effective_port)


def host_and_port(host: str, port: int) -> str:
    """host:port as people write it, an IPv6 address in brackets: [::1]:587."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Profile(NamedTuple):
    """One sending account, exactly as its TOML file describes it."""

    id: str
    name: str
    from_: str
    host: str
    security: Security
    provider: Provider = "isp"
    port: int | None = None
    auth: AuthMethod = "none"
    username: str | None = None
    password_command: str | None = None
    password: str | None = None
    ca_file: str | None = None
    tls_fingerprint: str | None = None
    networks: tuple[str, ...] = ()
    source_address: str | None = None
    helo: str | None = None
    timeout: float = 30.0
    addresses: tuple[str, ...] = ()  # senders it sends for besides `from_`; * and ? as wildcards
    default: bool = False  # for a message whose sender no profile matches
    imap: ImapSettings | None = None  # a copy of each sent message in the IMAP Sent folder
    token_command: str | None = None  # prints an OAuth2 access token (xoauth2, oauthbearer)
    oauth: "OAuthSettings | None" = None  # built-in OAuth2 sign-in (`mailtui login ID`)
    path: Path | None = None

    def __repr__(self) -> str:  # never the password, whatever prints a profile
        shown = ", ".join(
            f"{name}={'<hidden>' if name == 'password' and value else repr(value)}"
            for name, value in zip(self._fields, self, strict=True)
        )
        return f"Profile({shown})"

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @property
    def server(self) -> str:
        """host:port as people write it, an IPv6 address in brackets: [::1]:587."""
        return host_and_port(self.host, self.effective_port)

    @property
    def logs_in(self) -> bool:
        """True when the server is told who we are by a login, not by our IP address."""
        return self.auth != "none"

    @property
    def uses_token(self) -> bool:
        """True when the login is an OAuth2 access token (XOAUTH2, OAUTHBEARER)."""
        return self.auth in BEARER_METHODS

    @property
    def fetches_token(self) -> bool:
        """A token login whose token mailtui gets itself (token_command or [oauth]): no
        password is asked for."""
        return self.uses_token and (self.token_command is not None or self.oauth is not None)

    @property
    def signs_in(self) -> bool:
        """A token login with mailtui's own OAuth2 sign-in (`mailtui login`, the app's)."""
        return self.uses_token and self.oauth is not None

    @property
    def copies_to_sent(self) -> bool:
        """Does a send with this profile file a copy in its IMAP Sent folder?"""
        return self.imap is not None and self.imap.copy != "never"

    @property
    def imap_username(self) -> str | None:
        """Who logs in to IMAP: the `[imap]` username, else the SMTP one."""
        if self.imap is None:
            return None
        return self.imap.username or self.username

    @property
    def provider_label(self) -> str:
        return "web portal" if self.provider == "portal" else "ISP"

    @property
    def auth_label(self) -> str:
        return "by network" if self.auth == "none" else f"login ({self.auth})"


class ProfileError(Exception):
    """A profile file that cannot be used, with the key at fault and how to fix it."""

    def __init__(self, path: Path, key: str | None, problem: str) -> None:
        super().__init__(path, key, problem)
        self.path, self.key, self.problem = path, key, problem
        # The file's other faults, when it has several: this one is the first of them.
        self.more: tuple[ProfileError, ...] = ()

    @property
    def every(self) -> "tuple[ProfileError, ...]":
        """This fault and the file's others, in the order of the file's checks."""
        return (self, *self.more)

    @property
    def profile_id(self) -> str:
        return self.path.stem

    def __str__(self) -> str:
        where = f"{self.path}" + (f", key '{self.key}'" if self.key is not None else "")
        return f"{where}: {self.problem}"


class ProfileSet(NamedTuple):
    """Every profile file found: the usable profiles and the broken ones."""

    profiles: tuple[Profile, ...]
    errors: tuple[ProfileError, ...]

    def get(self, profile_id: str) -> Profile | None:
        return next((p for p in self.profiles if p.id == profile_id), None)

    def error_for(self, profile_id: str) -> ProfileError | None:
        return next((e for e in self.errors if e.profile_id == profile_id), None)


# key in the file -> (attribute, accepted types, description of the type)
_KEYS: dict[str, tuple[str, tuple[type, ...], str]] = {
    "name": ("name", (str,), "a string"),
    "provider": ("provider", (str,), 'one of "isp", "portal"'),
    "from": ("from_", (str,), 'a string such as "Jane Doe <jane@isp.example>"'),
    "addresses": ("addresses", (list,), 'a list such as ["jane@isp.example", "*@example.org"]'),
    "host": ("host", (str,), "a host name"),
    "port": ("port", (int,), "a whole number from 1 to 65535"),
    "security": ("security", (str,), 'one of "none", "starttls", "tls"'),
    "auth": (
        "auth",
        (str,),
        'one of "none", "plain", "login", "cram-md5", "xoauth2", "oauthbearer", "auto"',
    ),
    "username": ("username", (str,), "a string"),
    "password_command": ("password_command", (str,), "a command line"),
    "password": ("password", (str,), "a string"),
    "ca_file": ("ca_file", (str,), "a path to a PEM file"),
    "tls_fingerprint": ("tls_fingerprint", (str,), 'a string such as "sha256:AB:CD:…"'),
    "networks": ("networks", (list,), 'a list such as ["192.168.1.0/24"]'),
    "source_address": ("source_address", (str,), "an IP address of this machine"),
    "helo": ("helo", (str,), "a host name"),
    "timeout": ("timeout", (int, float), "a number of seconds"),
    "default": ("default", (bool,), "true or false"),
    "imap": ("imap", (dict,), 'a table: [imap] with host = "imap.example" under it'),
    "token_command": ("token_command", (str,), "a command line that prints an access token"),
    "oauth": ("oauth", (dict,), "a table: [oauth] with provider and client_id under it"),
}
# key in the [imap] table -> (accepted types, description of the type)
_IMAP_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "host": ((str,), "a host name"),
    "port": ((int,), "a whole number from 1 to 65535"),
    "security": ((str,), 'one of "tls", "starttls"'),
    "username": ((str,), "a string"),
    "password_command": ((str,), "a command line"),
    "folder": ((str,), 'a folder name such as "Sent"'),
    "copy": ((str,), 'one of "auto", "always", "never"'),
    "ca_file": ((str,), "a path to a PEM file"),
    "tls_fingerprint": ((str,), 'a string such as "sha256:AB:CD:…"'),
}
REQUIRED_KEYS = ("name", "from", "host", "security")
# Compiled on first use (re caches it): a profile naming its server by address never needs it.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = rf"^(?=.{{1,253}}$)({_LABEL})(\.{_LABEL})*\.?$"
_DOMAIN = rf"^(?=.{{1,253}}$)({_LABEL})(\.{_LABEL})*$"  # RFC 5321's Domain: no final dot


def nearest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice closest to a mistyped `word`, if one is close."""
    import difflib  # only for a mistake: a key, a value or a profile id

    near = difflib.get_close_matches(word, list(choices), n=1)
    return near[0] if near else None


def kind_of(value: Any) -> str:
    """What a TOML value is, in the words of an error message: "text", "true/false"…"""
    kinds = {bool: "true/false", str: "text", int: "a number", float: "a number", list: "a list"}
    return kinds.get(type(value), "a table" if isinstance(value, dict) else type(value).__name__)


def normalise_fingerprint(value: str) -> str:
    """Accept `sha256:abcd…` with or without colons and return `sha256:AB:CD:…`."""
    body = value.strip()
    if body.lower().startswith("sha256:"):
        body = body[7:]
    hexdigits = body.replace(":", "").upper()
    if not re.fullmatch(r"[0-9A-F]{64}", hexdigits):
        raise ValueError(value)
    return "sha256:" + ":".join(hexdigits[i : i + 2] for i in range(0, 64, 2))


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    try:
        value.encode("idna")
    except UnicodeError:
        return False
    return re.match(_HOSTNAME, value.encode("idna").decode("ascii")) is not None


def _helo_problem(value: str) -> str | None:
    """What is wrong with an EHLO name, which RFC 5321 wants as a domain or an address
    literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), or None."""
    inside = value[1:-1] if value.startswith("[") and value.endswith("]") else None
    if inside is not None:
        literal = inside[5:] if inside[:5].lower() == "ipv6:" else inside
        try:
            address = ipaddress.ip_address(literal)
        except ValueError:
            return f'{value} is not an address literal such as "[192.0.2.1]"'
        if address.version == 6 and literal == inside:
            return f'an IPv6 address is written as an address literal: "[IPv6:{literal}]"'
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        literal = f"[IPv6:{value}]" if address.version == 6 else f"[{value}]"
        return f'an IP address is written as an address literal: "{literal}"'
    example = 'a host name such as "laptop.example" or an address literal such as "[192.0.2.1]"'
    if not value.isascii():
        try:
            ascii_name = value.encode("idna").decode("ascii")
        except UnicodeError:
            return f"has characters a host name cannot have; use {example}"
        return f'has non-ASCII characters, which EHLO cannot carry; use "{ascii_name}"'
    if re.match(_DOMAIN, value) is None:
        return f"is not a host name (letters, digits, '-' and dots); use {example}"
    return None


def parse_profile(profile_id: str, data: dict[str, Any], path: Path) -> Profile:
    """Validate the parsed TOML of one profile file. Every fault is found: `ProfileError` is
    raised for the first, with the others in its `more` (a person fixes them all at once)."""
    problems: list[ProfileError] = []

    def fail(key: str | None, problem: str) -> None:
        problems.append(ProfileError(path, key, problem))

    def raise_all() -> None:
        if problems:
            first = problems[0]
            first.more = tuple(problems[1:])
            raise first

    if not PROFILE_ID_RE.match(profile_id):
        fail(
            None,
            "the file name is not a usable profile id; use letters, digits, '.', '_' or '-' "
            "(for example home-isp.toml)",
        )
        raise_all()
    for key in data:
        if key not in _KEYS:
            near = nearest(key, list(_KEYS))
            hint = f"did you mean '{near}'?" if near else f"valid keys are {', '.join(_KEYS)}"
            fail(key, f"unknown key; {hint}")
    for key in REQUIRED_KEYS:
        if key not in data:
            fail(key, f"missing; add {key} = {_KEYS[key][2]}")
    # Each value that is wrong on its own is left out of `values`: the checks that need it
    # (auth with security, source_address with host) are skipped, not reported twice.
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            continue
        attr, types, description = _KEYS[key]
        # TOML's true is a Python int too: only a true/false key takes it.
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            fail(key, f"must be {description}, not {kind_of(value)}")
        elif isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
            fail(key, "contains a control character (such as a line break); remove it")
        else:
            values[attr] = value

    for key, allowed in (
        ("security", SECURITY_VALUES),
        ("provider", PROVIDER_VALUES),
        ("auth", AUTH_VALUES),
    ):
        if key in values and values[key] not in allowed:
            near = nearest(str(values.pop(key)).lower(), allowed)
            hint = f'; did you mean "{near}"?' if near else ""
            fail(key, f"must be one of {', '.join(allowed)}{hint}")
        elif key != "security" and key not in data:
            values[key] = allowed[0]  # provider "isp", auth "none"
    if "name" in values and not values["name"].strip():
        fail("name", "is empty; give the profile a display name")
    if "host" in values and not _is_host(values["host"]):
        fail("host", "is not a valid host name or IP address")
        del values["host"]
    port = values.get("port")
    if port is not None and not 1 <= port <= 65535:
        fail("port", "must be a whole number from 1 to 65535")
    auth = values.get("auth", "none")
    if "auth" in values and auth != "none" and values.get("security") == "none":
        fail(
            "security",
            f'must be "starttls" or "tls" with auth = "{auth}": mailtui never sends a '
            "password over an unencrypted connection",
        )
    if (
        "auth" in values
        and auth != "none"
        and not values.get("username")
        and ("username" not in data or "username" in values)
    ):
        fail("username", f'is required with auth = "{auth}"')
    if "timeout" in values:
        if not 0 < values["timeout"] <= 3600:  # a huge whole number has no float either
            fail("timeout", "must be a number of seconds above 0 and at most 3600")
        else:
            values["timeout"] = float(values["timeout"])
    if "tls_fingerprint" in values:
        try:
            values["tls_fingerprint"] = normalise_fingerprint(values["tls_fingerprint"])
        except ValueError:
            fail(
                "tls_fingerprint",
                'must be a SHA-256 fingerprint such as "sha256:AB:CD:…" (32 bytes)',
            )
    if "networks" in values:
        networks = []
        for item in values["networks"]:
            try:
                if not isinstance(item, str):  # ip_network takes 5 (or true) as 0.0.0.5/32
                    raise TypeError(item)
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except (ValueError, TypeError):
                fail("networks", f'{item!r} is not a network such as "192.168.1.0/24"')
        values["networks"] = tuple(networks)
    if "source_address" in values:
        _check_source_address(values, fail)
    if "ca_file" in values:
        _check_ca_file(values, fail)
    if "helo" in values:
        problem = _helo_problem(values["helo"])
        if problem is not None:
            fail("helo", problem)
    if "from_" in values:
        from tui.core.message import AddressError, parse_mailbox

        try:
            parse_mailbox(values["from_"], field_name="from")
        except AddressError as exc:
            fail("from", exc.reason)
    if "addresses" in values:
        for item in values["addresses"]:
            problem = address_pattern_problem(item)
            if problem is not None:
                fail("addresses", problem)
        values["addresses"] = tuple(values["addresses"])
    if "imap" in values:
        imap = _parse_imap(values.pop("imap"), values, data, fail)
        if imap is not None:
            values["imap"] = imap
    if "oauth" in values:
        from tui.core.oauth.settings import parse_oauth  # only for [oauth]: start-up

        oauth = parse_oauth(values.pop("oauth"), fail)
        if oauth is not None:
            values["oauth"] = oauth
    _check_token_source(data, fail)
    raise_all()
    return Profile(id=profile_id, path=path, **values)


def _parse_imap(
    table: dict[str, Any],
    values: dict[str, Any],
    data: dict[str, Any],
    fail: Callable[[str, str], None],
) -> ImapSettings | None:
    """The `[imap]` table, checked as the profile's own keys are (each fault named as
    `imap.KEY`); None when it has any fault."""
    faults: list[str] = []

    def fault(key: str, problem: str) -> None:
        faults.append(key)
        fail(f"imap.{key}", problem)

    imap: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _IMAP_KEYS:
            near = nearest(key, list(_IMAP_KEYS))
            hint = (
                f"did you mean 'imap.{near}'?"
                if near
                else f"valid keys are {', '.join(_IMAP_KEYS)}"
            )
            fault(key, f"unknown key in [imap]; {hint}")
            continue
        types, description = _IMAP_KEYS[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            fault(key, f"must be {description}, not {kind_of(value)}")
        elif isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
            fault(key, "contains a control character (such as a line break); remove it")
        else:
            imap[key] = value
    if "host" not in table:
        fault("host", 'missing; add host = "imap.example" under [imap]')
    elif "host" in imap and not _is_host(imap["host"]):
        fault("host", "is not a valid host name or IP address")
    security = imap.get("security", "tls")
    if security not in IMAP_SECURITY_VALUES:
        if security == "none":
            fault(
                "security",
                'must be "tls" or "starttls": mailtui never sends a password over an '
                "unencrypted connection",
            )
        else:
            near = nearest(str(security).lower(), IMAP_SECURITY_VALUES)
            hint = f'; did you mean "{near}"?' if near else ""
            fault("security", f"must be one of {', '.join(IMAP_SECURITY_VALUES)}{hint}")
    copy = imap.get("copy", "auto")
    if copy not in COPY_VALUES:
        near = nearest(str(copy).lower(), COPY_VALUES)
        hint = f'; did you mean "{near}"?' if near else ""
        fault("copy", f"must be one of {', '.join(COPY_VALUES)}{hint}")
    port = imap.get("port")
    if port is not None and not 1 <= port <= 65535:
        fault("port", "must be a whole number from 1 to 65535")
    if "folder" in imap and not imap["folder"].strip():
        fault("folder", 'is empty; name the folder (such as "Sent") or leave the key out')
    if "username" in imap and not imap["username"].strip():
        fault("username", "is empty; give the IMAP login name or leave the key out")
    elif "username" not in table and not data.get("username") and copy != "never":
        fault("username", "is required: the profile has no SMTP username to log in with")
    if "tls_fingerprint" in imap:
        try:
            imap["tls_fingerprint"] = normalise_fingerprint(imap["tls_fingerprint"])
        except ValueError:
            fault("tls_fingerprint", 'must be a SHA-256 fingerprint such as "sha256:AB:CD:…"')
    if "ca_file" in imap:
        _check_ca_file(imap, lambda key, problem: fault(key, problem))
    if faults:
        return None
    return ImapSettings(**imap)


def _check_token_source(data: dict[str, Any], fail: Callable[[str, str], None]) -> None:
    """token_command and [oauth] go with a token login, and only one of them."""
    auth = data.get("auth", "none")
    bearer = auth in BEARER_METHODS
    for key in ("token_command", "oauth"):
        if key in data and not bearer and auth in AUTH_VALUES:
            fail(
                key,
                f'is for auth = "xoauth2" or "oauthbearer", not "{auth}"; set auth or remove it',
            )
    if bearer and "token_command" in data and "oauth" in data:
        fail(
            "token_command",
            "and [oauth] both give the access token; keep one (token_command for a helper "
            "such as oama, [oauth] for mailtui login)",
        )
    if isinstance(data.get("token_command"), str) and not data["token_command"].strip():
        fail("token_command", "is empty; give the command that prints an access token")


def imap_to_toml(imap: ImapSettings) -> dict[str, Any]:
    """The `[imap]` table for `imap`, in the README's key order, without unset options."""
    out: dict[str, Any] = {"host": imap.host}
    for key in _IMAP_KEYS:
        value = getattr(imap, key)
        if key != "host" and value is not None:
            out[key] = value
    return out


def address_pattern_problem(item: object) -> str | None:
    """What is wrong with one `addresses` entry, or None: an address alone, such as
    jane@isp.example, in which * and ? stand for any run of characters and any one."""
    from tui.core.message import AddressError, parse_mailbox

    example = 'such as "jane@isp.example" or "*@example.org"'
    if not isinstance(item, str):
        return f"an entry is {kind_of(item)}, not text; write each address in quotes, {example}"
    shown = repr(item)
    if item.count("@") != 1:
        return f"{shown} must have exactly one @; write one address per entry, {example}"
    local, _, domain = item.partition("@")
    if not local.strip() or not domain.strip():
        return f"{shown} needs a name before the @ and a domain after it, {example}"
    # The wildcards stand in for characters an address may have: check one they could match.
    probe = item.replace("*", "x").replace("?", "x")
    try:
        mailbox = parse_mailbox(probe, "addresses")
    except AddressError:
        mailbox = None
    if mailbox is None or mailbox.display_name or mailbox.addr_spec != probe:
        return (
            f"{shown} is not an address; write the address alone (no name, spaces or angle "
            f"brackets) with * and ? as the only wildcards, {example}"
        )
    return None


def _check_source_address(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
    try:
        source = ipaddress.ip_address(values["source_address"])
    except ValueError:
        fail("source_address", 'must be an IP address such as "192.168.1.7"')
        return
    try:
        server = ipaddress.ip_address(values.get("host", ""))
    except ValueError:  # a name (its addresses are known only when connecting), or no host
        return
    if server.version != source.version:
        fail(
            "source_address",
            f"is an IPv{source.version} address but host {values['host']} is "
            f"IPv{server.version}; use an IPv{server.version} address of this machine",
        )


def _check_ca_file(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
    try:
        values["ca_file"] = str(Path(values["ca_file"]).expanduser())
    except RuntimeError:  # ~user for a user that does not exist, or no home folder
        fail("ca_file", "starts with ~ but that home folder cannot be found; give the full path")
        return
    # A named pipe or a device would be read forever (a missing file is found at TLS time).
    kind = file_kind(values["ca_file"])
    if kind not in ("a regular file", "missing"):
        fail("ca_file", f"is {kind}, not a regular file; point it at a PEM certificate file")


_PROBE = {"name": "probe", "from": "probe@example.org", "host": "probe.example", "security": "tls"}


def check_field(key: str, value: Any, choices: dict[str, Any] | None = None) -> str | None:
    """The problem with one key's value on its own (for validation as typed), or None.

    `choices` carries the keys the value depends on (security, auth). A key of the `[imap]`
    table is named `imap.KEY`; its choices are in `choices["imap"]` (security, copy).
    """
    if key.startswith("imap."):
        table = {"host": "probe.example", "username": "probe", **(choices or {}).get("imap", {})}
        data = {**_PROBE, "imap": {**table, key.removeprefix("imap."): value}}
    else:
        data = {**_PROBE, **(choices or {}), key: value}
    if data.get("auth", "none") != "none":
        data.setdefault("username", "probe")
    try:
        parse_profile("probe", data, Path("probe.toml"))
    except ProfileError as exc:
        return next((e.problem for e in exc.every if e.key == key), None)
    return None


def file_kind(path: str | Path) -> str:
    """What is at `path`, in words: "a regular file", "a named pipe", "a folder", "a device",
    "missing"…; symbolic links are followed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError):
        return "unreadable"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a file"


def _others_can_change(info: os.stat_result) -> tuple[str, str] | None:
    """Who besides its owner could change a profile file, in words, and the command that
    stops it; None when nobody else can.

    As OpenSSH does for its configuration: another owner, or write access for others, is
    refused; write access for the group only when the group is the owner's alone (a user
    private group, as with a umask of 002)."""
    if os.name != "posix":
        return None
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid not in (0, os.getuid()):
        return "the file belongs to another user", f"chown {os.getuid()}"
    if mode & 0o002:
        return f"anyone on this machine can change the file (mode {mode:04o})", "chmod go-w"
    if mode & 0o020 and not _private_group(info.st_uid, info.st_gid):
        return f"other members of its group can change the file (mode {mode:04o})", "chmod go-w"
    return None


def _private_group(uid: int, gid: int) -> bool:
    """True when the group has no member but the user `uid` (a user private group)."""
    import grp
    import pwd

    try:
        user = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    if group.gr_mem:
        return group.gr_mem == [user.pw_name]
    return user.pw_gid == gid


def load_profile(path: Path) -> Profile:
    """Read and validate one profile file."""
    try:
        data, info = read_toml(path)
    except FileNotFoundError as exc:
        raise ProfileError(path, None, f"cannot be read ({exc.strerror})") from None
    except TomlFileError as exc:
        raise ProfileError(path, None, exc.problem) from None
    profile = parse_profile(path.stem, data, path)
    unsafe = _others_can_change(info)
    if unsafe is not None:
        writers, fix = unsafe
        runs = "run a command of theirs (password_command) or " if profile.password_command else ""
        raise ProfileError(
            path,
            "password_command" if profile.password_command else None,
            f"{writers}, so they could make mailtui {runs}send your mail and login elsewhere; "
            f"run: {fix} {path}",
        )
    if profile.password is not None:
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ProfileError(
                path,
                "password",
                f"the file holds a password but is readable by others (mode {mode:04o}); "
                f"run: chmod 600 {path}",
            )
    return profile


def load_profiles(folder: Path | None = None) -> ProfileSet:
    """Load every `*.toml` under the profiles folder, sorted by id."""
    folder = folder or locations.profiles_dir()
    profiles: list[Profile] = []
    errors: list[ProfileError] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                profiles.append(load_profile(path))
            except ProfileError as exc:
                errors.append(exc)
    return ProfileSet(tuple(profiles), tuple(errors))


def profile_to_toml(profile: Profile) -> dict[str, Any]:
    """The TOML table for a profile, in the contract's key order, omitting unset options."""
    out: dict[str, Any] = {}
    for key, (attr, _types, _desc) in _KEYS.items():
        value = getattr(profile, attr)
        if value is None or (key in ("networks", "addresses", "default") and not value):
            continue
        if key == "timeout" and value == 30.0:
            continue
        if key in ("networks", "addresses"):
            value = list(value)
        if key == "imap":
            value = imap_to_toml(value)
        if key == "oauth":
            from tui.core.oauth.settings import oauth_to_toml

            value = oauth_to_toml(value)
        if key == "timeout" and float(value).is_integer():
            value = int(value)
        out[key] = value
    return out


def save_profile(profile: Profile, folder: Path | None = None) -> Path:
    """Write the profile to `<folder>/<id>.toml` atomically with mode 0600."""
    import tomli_w

    folder = folder or locations.profiles_dir()
    if not PROFILE_ID_RE.match(profile.id):
        raise ValueError(f"'{profile.id}' is not a usable profile id")
    path = folder / f"{profile.id}.toml"
    # Validate by round-tripping through the same parser that reads files.
    data = profile_to_toml(profile)
    parse_profile(profile.id, data, path)
    write_private(path, tomli_w.dumps(data).encode("utf-8"))
    return path


def delete_profile(profile_id: str, folder: Path | None = None) -> None:
    folder = folder or locations.profiles_dir()
    path = folder / f"{profile_id}.toml"
    path.unlink(missing_ok=True)
