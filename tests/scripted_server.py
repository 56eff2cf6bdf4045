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
    messages: int = 0  # complete messages received (end of DATA seen)
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


def _reply_lines(reply: str) -> bytes:
    """'530 first\\n530 second' -> multi-line reply with '-' continuations."""
    lines = reply.split("\n")
    out = []
    for index, line in enumerate(lines):
        code, _, text = line.partition(" ")
        sep = "-" if index < len(lines) - 1 else " "
        out.append(f"{code[:3]}{sep}{text}")
    return ("\r\n".join(out) + "\r\n").encode()


def dialogue(
    replies: dict[str, str | list[str]] | None = None,
    greeting: str = "220 mx.example.net ESMTP Postfix",
    extensions: tuple[str, ...] = ("PIPELINING", "SIZE 10240000", "8BITMIME"),
    tls_context: object | None = None,
) -> Behaviour:
    """A server that speaks ordinary SMTP but answers with the texts a test gives.

    `replies` keys: MAIL, RCPT, "RCPT <addr>", DATA, DATA_END, AUTH; a list gives successive
    answers, the last one repeating. DATA_END = "drop" closes the connection after the end
    of the message without a reply; "stall" never answers. With `tls_context` it offers
    STARTTLS (and, inside TLS, AUTH PLAIN LOGIN).
    """
    used: dict[str, int] = {}

    def reply_for(key: str, default: str) -> str:
        value = (replies or {}).get(key, default)
        if isinstance(value, str):
            return value
        index = used.get(key, 0)
        used[key] = index + 1
        return value[min(index, len(value) - 1)]

    class Script:
        def get(self, key: str, default: str) -> str:
            return reply_for(key, default)

    script = Script()

    async def behave(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: ScriptedServer
    ) -> None:
        writer.write(_reply_lines(greeting))
        await writer.drain()
        if not greeting.startswith("2"):
            return
        in_tls = False
        while True:
            line = await server.readline(reader)
            words = line.decode("utf-8", "replace").strip().split(" ")
            verb = words[0].upper()
            if verb in ("EHLO", "HELO"):
                offered = list(extensions)
                if tls_context is not None and not in_tls:
                    offered.append("STARTTLS")
                if in_tls or tls_context is None:
                    offered.append("AUTH PLAIN LOGIN")
                writer.write(
                    _reply_lines("\n".join(["250 mx.example.net", *[f"250 {e}" for e in offered]]))
                )
            elif verb == "STARTTLS" and tls_context is not None:
                writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                await writer.drain()
                await writer.start_tls(tls_context)  # type: ignore[arg-type]
                in_tls = True
                continue
            elif verb == "AUTH":
                reply = script.get("AUTH", "235 2.7.0 Authentication successful")
                if words[1:2] == ["LOGIN"]:
                    writer.write(b"334 UGFzc3dvcmQ6\r\n")
                    await writer.drain()
                    await server.readline(reader)
                writer.write(_reply_lines(reply))
            elif verb == "MAIL":
                writer.write(_reply_lines(script.get("MAIL", "250 2.1.0 Ok")))
            elif verb == "RCPT":
                address = words[1][4:-1] if len(words) > 1 else ""
                reply = (
                    script.get(f"RCPT {address}", "")
                    if f"RCPT {address}" in (replies or {})
                    else script.get("RCPT", "250 2.1.5 Ok")
                )
                writer.write(_reply_lines(reply))
            elif verb == "DATA":
                reply = script.get("DATA", "354 End data with <CR><LF>.<CR><LF>")
                writer.write(_reply_lines(reply))
                await writer.drain()
                if reply.startswith("354"):
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    server.messages += 1
                    end = script.get("DATA_END", "250 2.0.0 Ok: queued as 4F2A1")
                    if end == "drop":
                        return
                    if end == "stall":
                        await asyncio.sleep(3600)
                    writer.write(_reply_lines(end))
            elif verb == "RSET":
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.2 Error: command not recognized\r\n")
            await writer.drain()

    return behave
