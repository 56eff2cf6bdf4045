"""A small SMTP server whose behaviour each test scripts: plain asyncio on loopback.

Where aiosmtpd is a well-behaved server, this one misbehaves on purpose: it stalls, drops
the connection, or says things a real server should not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tui.demo.servers import ServerThread

Behaviour = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter, "ScriptedServer"], Awaitable[None]
]


@dataclass
class ScriptedServer:
    behaviour: Behaviour
    host: str = "127.0.0.1"
    port: int = 0
    received: list[bytes] = field(default_factory=list)  # every line the client sent
    connections: int = 0
    _server: asyncio.AbstractServer | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.behaviour(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def readline(self, reader: asyncio.StreamReader) -> bytes:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("client went away")
        self.received.append(line)
        return line

    async def start(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def commands(self) -> list[str]:
        return [line.decode("utf-8", "replace").strip() for line in self.received]


def start_scripted(thread: ServerThread, behaviour: Behaviour) -> ScriptedServer:
    server = ScriptedServer(behaviour)
    return thread.call(server.start)


async def stall_after_greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: ScriptedServer
) -> None:
    """Greets, then reads the client's commands and never answers."""
    writer.write(b"220 stall.example ESMTP\r\n")
    await writer.drain()
    while True:
        await server.readline(reader)
