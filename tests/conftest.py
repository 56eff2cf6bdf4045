"""Shared fixtures: an isolated MAILTUI_HOME, real TLS certificates, real SMTP servers.

Every test runs with its own MAILTUI_HOME and a null keyring. After every test the
leak guard reads every file under MAILTUI_HOME (profile files excepted: they may hold a
password on purpose) and all captured output, and fails if the test password, any of
its encodings, or half of one (a form split over two lines) shows up.
"""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
import trustme

from tui.core.transcript import SessionEvent, TranscriptEvent
from tui.demo.servers import RunningServer, ServerSpec, ServerThread

if TYPE_CHECKING:
    from tests.dns_server import DnsServer
    from tests.oauth_server import OAuthServer
    from tui.core.message import Draft
    from tui.core.profiles import Profile

PASSWORD = "Tr0ub4dor&3 s3cret"
USER = "jane"
USERS = {USER: PASSWORD}
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Pki:
    ca: trustme.CA
    ca_file: Path
    server_context: ssl.SSLContext
    fingerprint: str


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    from tui.core.tls import fingerprint

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    folder = tmp_path_factory.mktemp("pki")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return Pki(ca, ca_file, context, fingerprint(der))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty MAILTUI_HOME, and a keyring that holds nothing (as on a headless machine)."""
    import keyring
    from keyring.backends.null import Keyring as NullKeyring

    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("MAILTUI_HOME", str(root))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")  # subprocesses
    previous = keyring.get_keyring()
    keyring.set_keyring(NullKeyring())
    yield root
    keyring.set_keyring(previous)


def leak_forms(user: str, password: str) -> list[str]:
    """What a leak of `password` looks like, worked out here and not taken from the product
    (whose idea of a secret is what is under test): the password, its base64, the base64 of
    what AUTH PLAIN, LOGIN and XOAUTH2 send, and both halves of each, so that a form split
    in two (over the lines of a reply) is caught by whichever half one piece holds whole."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    forms = [password, b64(password), b64(f"\0{user}\0{password}"), b64(f"{user}\0{password}")]
    halves = [half for form in forms for half in (form[: len(form) // 2], form[len(form) // 2 :])]
    # XOAUTH2's first half encodes only "user=…auth=Bearer": only its second half is secret.
    xoauth2 = b64(f"user={user}\x01auth=Bearer {password}\x01\x01")
    return [*forms, *halves, xoauth2, xoauth2[len(xoauth2) // 2 :]]


LEAK_FORMS = leak_forms(USER, PASSWORD)


def token_leak_forms(user: str, token: str) -> list[str]:
    """What a leak of an OAuth2 access or refresh token looks like: the token, and the second
    half of the base64 that XOAUTH2 and OAUTHBEARER send (the first encodes the user only)."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    forms = [token, token[: len(token) // 2], token[len(token) // 2 :]]
    for blob in (
        f"user={user}\x01auth=Bearer {token}\x01\x01",
        f"n,a={user},\x01auth=Bearer {token}\x01\x01",
    ):
        encoded = b64(blob)
        forms += [encoded, encoded[len(encoded) // 2 :]]
    return forms


@dataclass
class LeakGuard:
    texts: list[str] = field(default_factory=list)
    # OAuth2 tokens the test's servers issued or its helpers printed: they may be in the
    # token store (oauth/ under the data folder), nowhere else.
    tokens: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.texts.append(text)

    def add_token(self, token: str, user: str = USER) -> None:
        self.tokens.extend(token_leak_forms(user, token))


@pytest.fixture(autouse=True)
def leak_guard(
    request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]
) -> Iterator[LeakGuard]:
    guard = LeakGuard()
    yield guard
    out, err = capfd.readouterr()
    texts = [*guard.texts, out, err]
    store: list[str] = []  # the OAuth2 token store: tokens are kept there on purpose
    root = os.environ.get("MAILTUI_HOME")
    if root and Path(root).is_dir():
        for path in Path(root).rglob("*"):
            if path.is_file() and path.parent.name != "profiles":
                text = path.read_bytes().decode("utf-8", "replace")
                (store if path.parent.name == "oauth" else texts).append(text)
    for text in texts:
        for form in LEAK_FORMS:
            assert form not in text, f"the password leaked (as {form!r})"
        for form in guard.tokens:
            assert form not in text, f"an OAuth2 token leaked (as {form!r})"
    for text in store:
        for form in LEAK_FORMS:
            assert form not in text, f"the password leaked (as {form!r})"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks a real DNS server: DMARC lookups go to a loopback port where nothing
    answers, unless a test starts its own server (`dns_server`); none is remembered from
    another test."""
    from tui.core import dmarc

    monkeypatch.setenv("MAILTUI_DNS", "127.0.0.1:9")
    dmarc.forget()


DnsStarter = Callable[..., "DnsServer"]


@pytest.fixture
def dns_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DnsStarter]:
    """Starts a DNS server on loopback with the TXT `records` given (see tests/dns_server.py)
    and points MAILTUI_DNS at it."""
    from tests.dns_server import DnsServer

    started: list[DnsServer] = []

    def start(
        records: dict[str, list[str]] | None = None,
        silent: bool = False,
        answers: dict[tuple[str, str], list[str]] | None = None,
    ) -> DnsServer:
        server = DnsServer(records, silent=silent, answers=answers)
        started.append(server)
        monkeypatch.setenv("MAILTUI_DNS", server.address)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    with ServerThread() as thread:
        yield thread


@pytest.fixture
def plain_server(servers: ServerThread) -> RunningServer:
    return servers.start(ServerSpec("plain"))


@pytest.fixture
def isp_server(servers: ServerThread) -> RunningServer:
    """Relays only for 127.0.0.1, like an ISP that trusts its own addresses."""
    return servers.start(ServerSpec("isp", relay_networks=("127.0.0.1/32",)))


@pytest.fixture
def portal_server(servers: ServerThread, pki: Pki) -> RunningServer:
    """STARTTLS required, then AUTH required, like a web portal's submission port."""
    return servers.start(
        ServerSpec(
            "portal",
            security="starttls",
            tls_context=pki.server_context,
            require_starttls=True,
            users=dict(USERS),
            auth_required=True,
        )
    )


@pytest.fixture
def tls_server(servers: ServerThread, pki: Pki) -> RunningServer:
    """Implicit TLS with AUTH, like port 465."""
    return servers.start(
        ServerSpec(
            "smtps",
            security="tls",
            tls_context=pki.server_context,
            users=dict(USERS),
            auth_required=True,
        )
    )


def down_server(servers: ServerThread) -> SimpleNamespace:
    """Where a server was a moment ago: its port refuses connections now."""
    running = servers.start(ServerSpec("isp"))
    servers.stop(running)
    return SimpleNamespace(host=running.host, port=running.port)


def isp_at(home: Path, where: object, **extra: Any) -> Profile:
    """The "isp" profile for the server at `where` (host, port), loaded; timeout 3 s."""
    from tui.core.profiles import load_profile

    return load_profile(isp_profile(home, where, **{"timeout": 3, **extra}))  # type: ignore[arg-type]


async def queue_while_down(
    home: Path, servers: ServerThread, drafts: Sequence[Draft], **extra: Any
) -> Profile:
    """File `drafts` in the outbox with a temporary failure each (the server was down)."""
    from tui.core import sending

    profile = isp_at(home, down_server(servers), **extra)
    for draft in drafts:
        result = await sending.send(profile, draft, probe=())
        assert result.exit_code == 75, result.summary
    return profile


def write_profile(home: Path, profile_id: str, **keys: Any) -> Path:
    folder = home / "profiles"
    folder.mkdir(exist_ok=True)
    path = folder / f"{profile_id}.toml"
    path.write_text(tomli_w.dumps(keys))
    path.chmod(0o600)
    return path


def isp_profile(home: Path, server: RunningServer, profile_id: str = "isp", **extra: Any) -> Path:
    keys = {
        "name": "Home ISP",
        "provider": "isp",
        "from": "Jane Doe <jane@isp.example>",
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout": 5,
        **extra,
    }
    return write_profile(home, profile_id, **keys)


def portal_profile(
    home: Path, server: RunningServer, pki: Pki, profile_id: str = "portal", **extra: Any
) -> Path:
    keys = {
        "name": "Web Portal",
        "provider": "portal",
        "from": "Jane Doe <jane@portal.example>",
        "host": server.host,
        "port": server.port,
        "security": "starttls",
        "auth": "plain",
        "username": USER,
        "password": PASSWORD,
        "ca_file": str(pki.ca_file),
        "timeout": 5,
        **extra,
    }
    return write_profile(home, profile_id, **{k: v for k, v in keys.items() if v is not None})


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(
    guard: LeakGuard,
    *args: str,
    stdin: str | bytes = "Hello from the tests.\n",
    env: dict[str, str] | None = None,
    program: Sequence[str] = (sys.executable, "-m", "tui"),
) -> CliResult:
    """Run `mailtui` (or `program`) as a user would, in a subprocess."""
    done = subprocess.run(
        [*program, *args],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    result = CliResult(done.returncode, done.stdout.decode(), done.stderr.decode())
    guard.add(result.out)
    guard.add(result.err)
    return result


class Transcript:
    """Collects a session's events as a listener; `text` is what a person would read."""

    def __init__(self, guard: LeakGuard) -> None:
        self.events: list[SessionEvent] = []
        self._guard = guard

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        if isinstance(event, TranscriptEvent):
            self._guard.add(event.format())

    @property
    def lines(self) -> list[str]:
        return [e.format() for e in self.events if isinstance(e, TranscriptEvent)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def transcript(leak_guard: LeakGuard) -> Transcript:
    return Transcript(leak_guard)


@pytest.fixture
def oauth_server(leak_guard: LeakGuard) -> Iterator[OAuthServer]:
    """A local OAuth2 authorization server (tests/oauth_server.py); every token it issues is
    one the leak guard looks for outside the token store."""
    from tests.oauth_server import OAuthServer, start_oauth_server

    server = OAuthServer(on_token=leak_guard.add_token)
    httpd, thread = start_oauth_server(server)
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def oauth_portal(servers: ServerThread, pki: Pki, oauth_server: OAuthServer) -> RunningServer:
    """STARTTLS, then XOAUTH2/OAUTHBEARER with the tokens `oauth_server` issued, only."""
    return bearer_portal(servers, pki, oauth_server.accepts)


def bearer_portal(
    servers: ServerThread, pki: Pki, accepts: Callable[[str, str], bool]
) -> RunningServer:
    """STARTTLS, then a token login (XOAUTH2, OAUTHBEARER) that takes what `accepts` takes."""
    return servers.start(
        ServerSpec(
            "oauth-portal",
            security="starttls",
            tls_context=pki.server_context,
            require_starttls=True,
            bearer=accepts,
            auth_required=True,
        )
    )


def oauth_profile(
    home: Path, server: RunningServer, pki: Pki, oauth: OAuthServer, **extra: Any
) -> Path:
    """Profile "portal": XOAUTH2 with an [oauth] table pointing at the local server."""
    from tests.oauth_server import oauth_table

    keys = {"auth": "xoauth2", "password": None, "oauth": oauth_table(oauth), **extra}
    return portal_profile(home, server, pki, **keys)
