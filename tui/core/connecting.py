"""Opening the TCP connection to a profile's server, and the second looks at a port whose
first answer made no sense (a port that expects TLS at once, or one that greets in plain).

A name with several addresses is raced as RFC 8305 (Happy Eyeballs) says. Failures end the
session with `Stop`; what happens is told to the session's `emit`.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import re
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.core.network import AddressInfos, literal_address_infos
from tui.core.profiles import Profile
from tui.core.reports import Stop
from tui.core.results import Failure
from tui.core.transcript import Mark

if TYPE_CHECKING:
    from tui.core.early import EarlyConnection

# RFC 8305's connection attempt delay: how long one address has before the next is tried too.
HAPPY_EYEBALLS_DELAY = 0.25
# At most this long for a second look at a port whose first answer made no sense.
_PROBE_LIMIT = 5.0


async def _addresses(host: str, port: int) -> AddressInfos:
    """The addresses to try for host:port. A literal IP address needs no lookup, and so no
    thread (a name lookup blocks, so the event loop hands it to one)."""
    literal = literal_address_infos(host, port, socket.SOCK_STREAM)
    if literal:
        return literal
    return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _interleaved(infos: AddressInfos) -> AddressInfos:
    """The addresses in the resolver's order of preference, alternating IP versions (RFC 8305,
    section 4), so that a broken IPv6 route delays the first IPv4 address by one step only."""
    by_family: dict[int, list[Any]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    rounds = itertools.zip_longest(*by_family.values())
    return [info for round_ in rounds for info in round_ if info is not None]


def _address_text(address: Any) -> str:
    """A socket address as people write it: 192.0.2.1:25, [2001:db8::1]:25."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Unbound(Exception):
    """The source address could not be bound for this server address (see `_race`)."""


class Connector:
    """Connects to `profile`'s server, reporting each attempt to `emit`; remembers the
    address that answered (`peer`) for the probes that look at it again."""

    def __init__(
        self,
        profile: Profile,
        emit: Callable[[Mark, str], None],
        early: EarlyConnection | None = None,
    ) -> None:
        self.profile = profile
        self.emit = emit
        self.early = early  # a connection begun while mailtui started (tui/core/early.py)
        self.peer: Any = None  # the address (getaddrinfo's tuple) the session connected to
        self._bind_error: OSError | None = None  # the source address fits no server address

    async def open(self) -> socket.socket:
        """TCP connection to the profile's server, from its source address when it has one.

        A name with several addresses is raced as RFC 8305 (Happy Eyeballs) says: the next
        address is tried when the one before has not connected within 250 ms (at once when it
        fails), each with the profile's timeout; the first to connect wins, the others are
        closed. A dead address, or a broken IPv6 route in front of working IPv4, costs 250 ms.
        """
        profile = self.profile
        where = profile.server
        try:
            sock = await self._early()
            if sock is not None:
                return sock
            async with asyncio.timeout(profile.timeout):
                infos = await _addresses(profile.host, profile.effective_port)
            return await self._race(_interleaved(infos))
        except TimeoutError:
            self.emit(Mark.ERROR, f"connecting to {where} timed out after {profile.timeout:g} s")
            raise Stop(Failure("connect", error="timeout")) from None
        except socket.gaierror as exc:
            self.emit(Mark.ERROR, f"cannot find {profile.host}: {exc.strerror}")
            raise Stop(
                Failure(
                    "connect", error="unreachable", detail=f"name lookup failed: {exc.strerror}"
                )
            ) from None
        except ConnectionRefusedError:
            self.emit(Mark.ERROR, f"connection to {where} refused")
            raise Stop(Failure("connect", error="refused")) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.emit(Mark.ERROR, f"cannot reach {where}: {reason}")
            raise Stop(Failure("connect", error="unreachable", detail=reason)) from None

    async def _early(self) -> socket.socket | None:
        """The connection begun early, once its handshake is done; None to connect as always
        (there was none, it went stale, or it failed: then the usual attempt says why). A
        single address that does not answer within the timeout is a timeout either way."""
        early, self.early = self.early, None
        if early is None:
            return None
        profile = self.profile
        if early.server != (profile.host, profile.effective_port) or (
            early.source != profile.source_address
        ):
            early.close()  # begun for the profile the send started with, not this one
            return None
        taken = early.take()
        if taken is None:
            return None
        sock, info = taken
        try:
            try:
                sock.getpeername()  # already connected
            except OSError:
                async with asyncio.timeout(self.profile.timeout):
                    await asyncio.get_running_loop().sock_connect(sock, info[4])
        except TimeoutError:
            sock.close()
            raise
        except OSError:
            sock.close()
            return None
        self.peer = info
        return sock

    async def _race(self, infos: AddressInfos) -> socket.socket:
        """Connect to the first of `infos` that answers (see `open`); raises the error
        of the last attempt to fail, or Stop when the source address fits none of them."""
        profile = self.profile
        several = len(infos) > 1
        errors: list[BaseException] = []
        waiting = list(infos)
        running: dict[asyncio.Task[socket.socket], Any] = {}
        try:
            while waiting or running:
                if waiting:
                    info = waiting.pop(0)
                    if several:
                        self.emit(Mark.INFO, f"trying {_address_text(info[4])}")
                    running[asyncio.ensure_future(self._connect_to(info))] = info
                done, _ = await asyncio.wait(
                    running,
                    timeout=HAPPY_EYEBALLS_DELAY if waiting else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    info = running.pop(task)
                    shown = _address_text(info[4])
                    error = task.exception()
                    if error is None:
                        if shown != profile.server:
                            self.emit(Mark.INFO, f"connected to {shown}")
                        self.peer = info
                        return task.result()  # any other winner is closed below
                    if not isinstance(error, _Unbound):
                        errors.append(error)
                        if several:
                            reason = getattr(error, "strerror", None) or "timed out"
                            self.emit(Mark.INFO, f"{shown}: {reason}")
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
                for task in running:
                    if not task.cancelled() and task.exception() is None:
                        task.result().close()
        if not errors and self._bind_error is not None:
            raise Stop(self._unusable_source(self._bind_error))
        if errors:
            raise errors[-1]
        raise OSError(f"no address for {profile.host}")

    async def _connect_to(self, info: Any) -> socket.socket:
        """One TCP connection to one address, from the source address, within the timeout."""
        family, kind, proto, _name, address = info
        profile = self.profile
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if profile.source_address:
                try:
                    sock.bind((profile.source_address, 0))
                except OSError as exc:  # not ours, or the other IP version
                    self._bind_error = self._bind_error or exc
                    raise _Unbound from exc
            async with asyncio.timeout(profile.timeout):
                await asyncio.get_running_loop().sock_connect(sock, address)
        except BaseException:
            sock.close()
            raise
        return sock

    async def expects_tls(self) -> bool:
        """After a greeting that never came: does the port answer a TLS handshake instead?
        Then it expects TLS from the first byte (as 465 does), and the profile's security is
        a setting to change, not a temporary failure. Only a TLS hello is sent."""
        from tui.core.tls import speaks_tls

        where = _address_text(self.peer[4])
        self.emit(Mark.INFO, f"checking whether {where} expects TLS from the start")
        limit = min(self.profile.timeout, _PROBE_LIMIT)
        try:
            async with asyncio.timeout(limit):
                sock = await self._connect_to(self.peer)
                found = await speaks_tls(sock, self.profile.host, limit)
        except (OSError, _Unbound):  # TimeoutError included: nothing to tell
            return False
        if found:
            self.emit(Mark.INFO, f"{where} answered a TLS handshake: it expects TLS at once")
        return found

    async def greets_in_plain(self) -> bool:
        """After a TLS handshake that read garbage: does the port greet in plain text ("220 …")?
        Then it speaks SMTP first (STARTTLS or none), and security = "tls" is the mistake.
        Nothing is sent on this connection."""
        where = _address_text(self.peer[4])
        self.emit(Mark.INFO, f"checking whether {where} greets in plain text")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(min(self.profile.timeout, _PROBE_LIMIT)):
                sock = await self._connect_to(self.peer)
                try:
                    first = b""
                    while len(first) < 4 and (more := await loop.sock_recv(sock, 512)):
                        first += more
                finally:
                    sock.close()
        except (OSError, _Unbound):  # TimeoutError included: nothing to tell
            return False
        found = re.match(rb"[2-5][0-9][0-9][ -]", first) is not None
        if found:
            self.emit(Mark.INFO, f"{where} greets in plain text: it does not expect TLS at once")
        return found

    def _unusable_source(self, exc: OSError) -> Failure:
        """A source_address the system will not connect from: a profile problem, not the
        network's, so it is not worth retrying until the profile changes."""
        profile = self.profile
        source = profile.source_address
        if exc.errno == errno.EADDRNOTAVAIL:
            reason = "it is not an address of this machine"
        elif isinstance(exc, socket.gaierror) or exc.errno == errno.EAFNOSUPPORT:
            reason = f"{profile.host} is not reached over the IP version of {source}"
        else:
            reason = exc.strerror or str(exc)
        self.emit(Mark.ERROR, f"cannot connect from {source}: {reason}")
        detail = (
            f"Profile {profile.id} sets source_address = {source!r}, but {reason}; change it "
            "to an address of this machine, or remove it to let the system choose."
        )
        return Failure("config", error="config", detail=detail)
