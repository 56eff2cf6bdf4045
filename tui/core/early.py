"""A connection opened while mailtui starts.

`mailtui send` knows its server as soon as the profile is read, ~100 ms before the sending
stack (asyncio, ssl, the email package, aiosmtplib) has loaded and the message is filed. On
a slow link that is a round trip: the TCP handshake and the server's greeting can travel
meanwhile. Nothing is said on the connection until the message is in the outbox; the
session (tui/core/connecting.py) takes the socket when it is fresh and the server has one
address, and otherwise connects as it always does, reporting what goes wrong its own way.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from tui.core.network import literal_address_infos
from tui.core.profiles import Profile

# Older than this when the session wants it (a password typed slowly), it is not used: the
# server may have given up waiting for the client to speak.
MAX_AGE = 10.0


class EarlyConnection:
    """A TCP connection under way to `profile`'s server: begun at once for an IP address, in
    a thread of its own for a name (its lookup blocks)."""

    def __init__(self, profile: Profile) -> None:
        self.server = (profile.host, profile.effective_port)
        self.source = profile.source_address
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._done = False
        self._abandoned = False
        self._sock: socket.socket | None = None
        self._info: Any = None
        literal = literal_address_infos(self.server[0], self.server[1], socket.SOCK_STREAM)
        if literal:  # no lookup to wait for: begun here, without a thread to share the GIL with
            self._publish(self._begin(literal))
        else:  # a name: its lookup blocks
            threading.Thread(target=self._resolve, name="early connection", daemon=True).start()

    def _resolve(self) -> None:
        try:
            infos = socket.getaddrinfo(*self.server, type=socket.SOCK_STREAM)
        except OSError:
            infos = []
        self._publish(self._begin(infos))

    def _begin(self, infos: Sequence[Any]) -> tuple[socket.socket, Any] | None:
        """A non-blocking connect to the one address (the kernel does the handshake)."""
        if len(infos) != 1:  # none, or several: the session races them (RFC 8305)
            return None
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if self.source:
                sock.bind((self.source, 0))
            if sock.connect_ex(address) in (0, errno.EINPROGRESS):
                return sock, infos[0]
        except OSError:
            pass
        sock.close()
        return None

    def _publish(self, begun: tuple[socket.socket, Any] | None) -> None:
        with self._lock:
            self._done = True
            if begun is not None and self._abandoned:
                begun[0].close()
            elif begun is not None:
                self._sock, self._info = begun

    def take(self) -> tuple[socket.socket, Any] | None:
        """The socket (its handshake maybe still under way) and its getaddrinfo entry, once;
        None when it is not ready, failed, went stale, or the server has several addresses."""
        with self._lock:
            fresh = time.monotonic() - self.started <= MAX_AGE
            taken = (self._sock, self._info) if self._done and fresh and self._sock else None
            if taken is None and self._sock is not None:
                self._sock.close()
            self._sock, self._abandoned = None, True
            return taken

    def close(self) -> None:
        """Not needed after all (the send stopped before connecting)."""
        taken = self.take()
        if taken is not None:
            taken[0].close()
