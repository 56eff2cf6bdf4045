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
    auth_attempts: int = 0
    body_bytes: int = 0
    chunks: list[bytes] = field(default_factory=list)  # the bytes of each BDAT
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


Reply = str | bytes | list[str | bytes]


def _ready(answer: str | bytes | None) -> bool:
    """A 220 answer to STARTTLS: the handshake follows."""
    if isinstance(answer, bytes):
        return answer.startswith(b"220")
    return isinstance(answer, str) and answer.startswith("220")


def dialogue(
    replies: dict[str, Reply] | None = None,
    greeting: str | bytes = "220 mx.example.net ESMTP Postfix",
    extensions: tuple[str, ...] = ("PIPELINING", "SIZE 10240000", "8BITMIME"),
    tls_context: object | None = None,
    tls_extensions: tuple[str, ...] | None = None,
    delay: float = 0.0,
    stop_reading_after: int | None = None,
) -> Behaviour:
    """A server that speaks ordinary SMTP but answers as a test scripts it.

    `replies` keys: EHLO, STARTTLS, AUTH, MAIL, RCPT, "RCPT <addr>", DATA, BODY, DATA_END,
    BDAT (each BDAT's reply, the last one's too), QUIT, AFTER_GREETING; a BDAT LAST not
    scripted answers as DATA_END (offer "CHUNKING" in `extensions` for a client to use it).
    A value is a reply ("250 ok", "\n" separating continuation lines), raw
    bytes sent as they are (malformed, non-UTF-8, several replies in one packet, injected
    data), "drop" (close the connection there), "stall" (never answer) or "endless" (a reply
    continued forever, until the client hangs up); a list gives
    successive answers, the last one repeating. BODY acts after the first line of the body.
    `greeting` may be "drop", "stall", a reply or raw bytes. With `tls_context` it offers
    STARTTLS; inside TLS it offers `tls_extensions` (default: `extensions` plus AUTH PLAIN
    LOGIN), so what is offered before and after TLS can differ. `delay` waits that long
    before the reply to each end of data (a slow server, so that clients overlap);
    `stop_reading_after` stops reading a body after that many bytes and never answers.
    A client that hangs up mid-body has not sent a message: it is not counted.
    """
    script = replies or {}
    used: dict[str, int] = {}

    def pick(key: str, default: str | bytes | None) -> str | bytes | None:
        value = script.get(key, default)
        if isinstance(value, list):
            index = used.get(key, 0)
            used[key] = index + 1
            return value[min(index, len(value) - 1)]
        return value

    async def say(
        writer: asyncio.StreamWriter, value: str | bytes | None, server: ScriptedServer
    ) -> bool:
        """Send one scripted answer; False when the connection is to end here."""
        if value is None:
            return True
        if value == "drop":
            return False
        if value == "stall":
            await asyncio.sleep(3600)
            return False
        if value == "endless":  # a reply that never ends, until the client hangs up
            line = b"250-" + b"A" * 70 + b"\r\n"
            while True:
                writer.write(line * 100)
                await writer.drain()
        writer.write(value if isinstance(value, bytes) else _reply_lines(value))
        await writer.drain()
        return True

    async def behave(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: ScriptedServer
    ) -> None:
        if not await say(writer, greeting, server):
            return
        if isinstance(greeting, str) and not greeting.startswith("2"):
            return
        if not await say(writer, pick("AFTER_GREETING", None), server):
            return
        in_tls = False
        taken = 0  # recipients accepted in this transaction
        while True:
            line = await server.readline(reader)
            words = line.decode("utf-8", "replace").strip().split(" ")
            verb = words[0].upper()
            if verb in ("EHLO", "HELO"):
                if in_tls:
                    offered = list(tls_extensions or (*extensions, "AUTH PLAIN LOGIN"))
                else:
                    offered = list(extensions)
                    if tls_context is not None:
                        offered.append("STARTTLS")
                    elif tls_extensions is None:
                        offered.append("AUTH PLAIN LOGIN")
                default = "\n".join(["250 mx.example.net", *[f"250 {e}" for e in offered]])
                answer = pick("EHLO", default)
            elif verb == "STARTTLS" and tls_context is not None and not in_tls:
                answer = pick("STARTTLS", "220 2.0.0 Ready to start TLS")
                if not await say(writer, answer, server):
                    return
                if _ready(answer):
                    await writer.start_tls(tls_context)  # type: ignore[arg-type]
                    in_tls = True
                continue
            elif verb == "AUTH":
                server.auth_attempts += 1
                if words[1:2] == ["LOGIN"]:
                    writer.write(b"334 UGFzc3dvcmQ6\r\n")
                    await writer.drain()
                    await server.readline(reader)
                answer = pick("AUTH", "235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                answer = pick("MAIL", "250 2.1.0 Ok")
                taken = 0
            elif verb == "RCPT":
                address = words[1][4:-1] if len(words) > 1 else ""
                key = f"RCPT {address}" if f"RCPT {address}" in script else "RCPT"
                answer = pick(key, "250 2.1.5 Ok")
                taken += isinstance(answer, str | bytes) and answer[:1] in ("2", b"2")
            elif verb == "DATA":
                # As Postfix does to a pipelining client whose recipients were all refused.
                nobody = "554 5.5.1 Error: no valid recipients" if not taken else None
                answer = pick("DATA", nobody or "354 End data with <CR><LF>.<CR><LF>")
                if not await say(writer, answer, server):
                    return
                if not (isinstance(answer, str | bytes) and answer[:3] in ("354", b"354")):
                    continue
                first = True
                while (body_line := await reader.readline()) != b".\r\n":
                    if not body_line:
                        raise ConnectionResetError("the client hung up in the middle of a body")
                    server.body_bytes += len(body_line)
                    if first:
                        first = False
                        if not await say(writer, pick("BODY", None), server):
                            return
                    if stop_reading_after is not None and server.body_bytes > stop_reading_after:
                        await asyncio.sleep(3600)
                server.messages += 1
                if delay:
                    await asyncio.sleep(delay)
                answer = pick("DATA_END", "250 2.0.0 Ok: queued as 4F2A1")
            elif verb == "BDAT":  # RFC 3030: the chunk's bytes follow the command line
                size = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
                chunk = await reader.readexactly(size)
                server.body_bytes += len(chunk)
                server.chunks.append(chunk)
                if words[2:3] != ["LAST"]:
                    answer = pick("BDAT", f"250 2.0.0 Ok: {size} bytes")
                else:
                    answer = pick("BDAT", None)
                    if answer is None and not taken:
                        answer = "554 5.5.1 Error: no valid recipients"
                    elif answer is None:
                        server.messages += 1
                        if delay:
                            await asyncio.sleep(delay)
                        answer = pick("DATA_END", "250 2.0.0 Ok: queued as 4F2A1")
            elif verb == "RSET":
                answer = "250 2.0.0 Ok"
                taken = 0
            elif verb == "QUIT":
                await say(writer, pick("QUIT", "221 2.0.0 Bye"), server)
                return
            else:
                answer = "502 5.5.2 Error: command not recognized"
            if not await say(writer, answer, server):
                return

    return behave
