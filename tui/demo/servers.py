"""Local SMTP servers on loopback, built on aiosmtpd: the demo's "ISP" and "web portal".

The test suite uses the same servers. An ISP server relays only for its own addresses
(`relay_networks`) and answers others with Postfix's "Relay access denied"; a portal
server requires STARTTLS and then AUTH. Messages received are kept in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import ssl
import threading
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class _DropLoginDataWarning(logging.Filter):
    """aiosmtpd itself still sets its deprecated Session.login_data on every AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataWarning())
# aiosmtpd cannot tell that an implicit-TLS socket is encrypted, and warns about AUTH on it.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    peer: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    authenticated_as: str | None


@dataclass
class ServerSpec:
    """How a local server behaves."""

    name: str = "smtp"
    security: str = "none"  # "none" | "starttls" | "tls"
    tls_context: ssl.SSLContext | None = None
    require_starttls: bool = False
    users: dict[str, str] | None = None  # login -> password; None: no AUTH offered
    # Whether an OAuth2 access token is good for a login (XOAUTH2, OAUTHBEARER); None: the
    # token is checked like a password.
    bearer: Callable[[str, str], bool] | None = None
    auth_required: bool = False
    relay_networks: tuple[str, ...] | None = None  # None: relays for everyone
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> full reply line
    data_size_limit: int = 33554432
    smtputf8: bool = True
    hostname: str = "localhost"


class MailSink:
    """The aiosmtpd handler: relay policy, scripted refusals, and the received mail."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.messages: list[Received] = []
        self.login_attempts = 0
        self.mail_commands = 0
        self.connections = 0
        self._networks = (
            None
            if spec.relay_networks is None
            else [ipaddress.ip_network(n) for n in spec.relay_networks]
        )

    def trusts(self, peer: str) -> bool:
        if self._networks is None:
            return True
        address = ipaddress.ip_address(peer)
        return any(address in network for network in self._networks)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        self.mail_commands += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.spec.refuse:
            return self.spec.refuse[address]
        if not session.authenticated and not self.trusts(_peer_host(session)):
            return f"554 5.7.1 <{address}>: Relay access denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        auth = session.auth_data
        login = auth.login if isinstance(auth, LoginPassword) else None
        self.messages.append(
            Received(
                peer=_peer_host(session),
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                content=content,
                authenticated_as=login.decode() if isinstance(login, bytes) else login,
            )
        )
        queue_id = secrets.token_hex(5).upper()
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.login_attempts += 1
        users = self.spec.users or {}
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if users.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """XOAUTH2 as Gmail and Outlook speak it."""
        self.login_attempts += 1
        blob = args[1] if len(args) > 1 else ""
        try:
            fields = base64.b64decode(blob, validate=True).decode("utf-8").split("\x01")
            login = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except (ValueError, IndexError):
            await server.push("501 5.5.2 Cannot decode XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        return await self._bearer(server, login, token)

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        """OAUTHBEARER (RFC 7628): a GS2 header naming the user, then the token."""
        self.login_attempts += 1
        blob = args[1] if len(args) > 1 else ""
        try:
            header, token_field = (
                base64.b64decode(blob, validate=True).decode("utf-8").split("\x01")[:2]
            )
            login = header.split(",")[1].removeprefix("a=").replace("=2C", ",")
            login = login.replace("=3D", "=")
            token = token_field.removeprefix("auth=Bearer ")
        except (ValueError, IndexError):
            await server.push("501 5.5.2 Cannot decode OAUTHBEARER response")
            return AuthResult(success=False, handled=True)
        return await self._bearer(server, login, token)

    async def _bearer(self, server: SMTP, login: str, token: str) -> AuthResult:
        """Accept a good token; refuse another as Gmail does: a 334 with a JSON error, the
        client's empty answer, then 535."""
        if self.spec.bearer is None:
            good = (self.spec.users or {}).get(login) == token
        else:
            good = self.spec.bearer(login, token)
        if good:
            return AuthResult(success=True, auth_data=LoginPassword(login.encode(), b""))
        if self.spec.bearer is not None:
            error = '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
            await server.challenge_auth(error)
        return AuthResult(success=False, handled=False)

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        """CRAM-MD5 (RFC 2195), which aiosmtpd does not ship."""
        self.login_attempts += 1
        challenge = f"<{secrets.token_hex(8)}@{self.spec.hostname}>".encode()
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes) or b" " not in answer:
            return AuthResult(success=False, handled=False)
        login, digest = answer.decode("utf-8", "replace").rsplit(" ", 1)
        password = (self.spec.users or {}).get(login)
        if password is None:
            return AuthResult(success=False, handled=False)
        expected = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
        if hmac.compare_digest(expected, digest):
            return AuthResult(success=True, auth_data=LoginPassword(login.encode(), b""))
        return AuthResult(success=False, handled=False)


def _peer_host(session: Session) -> str:
    peer: Any = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


class _CountingSMTP(SMTP):
    def __init__(self, handler: MailSink, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._sink = handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sink.connections += 1
        super().connection_made(transport)


@dataclass
class RunningServer:
    spec: ServerSpec
    sink: MailSink
    host: str
    port: int
    server: asyncio.AbstractServer

    @property
    def messages(self) -> list[Received]:
        return self.sink.messages


async def start_server(spec: ServerSpec, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Listen on loopback (a free port unless `port` is given) in the running event loop."""
    sink = MailSink(spec)
    kwargs: dict[str, Any] = {
        "hostname": spec.hostname,
        "data_size_limit": spec.data_size_limit,
        "enable_SMTPUTF8": spec.smtputf8,
        "decode_data": False,
        "ident": "mailtui demo ESMTP",
    }
    if spec.security == "starttls":
        kwargs["tls_context"] = spec.tls_context
        kwargs["require_starttls"] = spec.require_starttls
    if spec.users is not None or spec.bearer is not None:
        kwargs["authenticator"] = sink.authenticate
        kwargs["auth_required"] = spec.auth_required
        # aiosmtpd only knows about STARTTLS; an implicit-TLS socket is encrypted already.
        kwargs["auth_require_tls"] = spec.security == "starttls"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _CountingSMTP(sink, loop=loop, **kwargs),
        host=host,
        port=port,
        ssl=spec.tls_context if spec.security == "tls" else None,
        reuse_address=True,
    )
    port = server.sockets[0].getsockname()[1]
    return RunningServer(spec, sink, host, port, server)


class ServerThread:
    """An event loop in a background thread, for servers that must outlive a blocking caller
    (a subprocess running `mailtui send`, or a synchronous test)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._servers: list[RunningServer] = []

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(coro_factory(), self.loop).result(timeout=30)

    def start(self, spec: ServerSpec, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        running = self.call(lambda: start_server(spec, host, port))
        self._servers.append(running)
        return running

    def stop(self, running: RunningServer) -> None:
        """Stop one server: its port refuses connections until it is started again."""

        async def shutdown() -> None:
            running.server.close()
            await running.server.wait_closed()

        self.call(shutdown)
        self._servers.remove(running)

    def close(self) -> None:
        async def shutdown() -> None:
            for running in self._servers:
                running.server.close()
            # Connections still being served (a client that stalls, a test server that
            # never answers) end here, not when the loop is gone.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            self.call(shutdown)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
