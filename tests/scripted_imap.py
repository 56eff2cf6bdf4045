"""A small IMAP server whose misbehaviour each test scripts: plain asyncio on loopback.

Dovecot (tests/interop) is the well-behaved server; this one answers APPEND with
`NO [TRYCREATE]`, says BYE in the middle of its message, drops the connection once the
message is in, or echoes the password in a refused LOGIN. It speaks just enough IMAP4rev1
for the Sent copy: CAPABILITY, LOGIN, LIST, SELECT/EXAMINE, UID SEARCH HEADER, NOOP, APPEND,
LOGOUT, over implicit TLS. Its folders and messages outlive a connection, as a server's do.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.demo.servers import ServerThread

# What APPEND does: "ok"; "trycreate" (refused before the message); "bye" (BYE halfway
# through the message, then hang up); "drop" (keep the whole message, then hang up without
# an answer: the client cannot know it landed).
APPEND_BEHAVIOURS = ("ok", "trycreate", "bye", "drop")


@dataclass
class Stored:
    data: bytes
    flags: str
    date: str


@dataclass
class ScriptedImap:
    tls_context: ssl.SSLContext
    users: dict[str, str]
    folders: dict[str, str] = field(default_factory=lambda: {"INBOX": "", "Sent": "\\Sent"})
    append: list[str] = field(default_factory=lambda: ["ok"])  # one per APPEND; last repeats
    echo_password: bool = False  # a refused LOGIN quotes what it was given
    host: str = "127.0.0.1"
    port: int = 0
    mail: dict[str, list[Stored]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)  # every command line, as received
    logins: int = 0
    appends: int = 0  # APPEND commands received
    _server: asyncio.AbstractServer | None = None

    async def start(self) -> ScriptedImap:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=self.tls_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def in_folder(self, folder: str, message_id: str) -> int:
        """How many messages of `folder` carry `message_id`."""
        return sum(message_id.encode() in m.data for m in self.mail.get(folder, []))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(*lines: str) -> None:
            writer.write("".join(f"{line}\r\n" for line in lines).encode("utf-8"))

        say("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted IMAP ready")
        selected: str | None = None
        while True:
            await writer.drain()
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.commands.append(line)
            tag, _, rest = line.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                command, _, args = args.partition(" ")
                command = command.upper()
            words = _words(args)
            if command == "CAPABILITY":
                say("* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS", f"{tag} OK done")
            elif command == "NOOP":
                say(f"{tag} OK done")
            elif command == "LOGOUT":
                say("* BYE logging out", f"{tag} OK done")
                await writer.drain()
                return
            elif command == "LOGIN":
                self.logins += 1
                user, password = words[0], words[1]
                if self.users.get(user) == password:
                    say(f"{tag} OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in")
                else:
                    quoted = f" (you said {password})" if self.echo_password else ""
                    say(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed{quoted}.")
            elif command == "LIST":
                for name, attribute in self.folders.items():
                    flags = " ".join(a for a in ("\\HasNoChildren", attribute) if a)
                    say(f'* LIST ({flags}) "/" "{name}"')
                say(f"{tag} OK done")
            elif command in ("SELECT", "EXAMINE"):
                folder = words[0]
                if folder not in self.folders:
                    say(f"{tag} NO [NONEXISTENT] Mailbox doesn't exist: {folder}")
                    continue
                selected = folder
                count = len(self.mail.get(folder, []))
                say(f"* {count} EXISTS", "* OK [UIDVALIDITY 1] ok", f"{tag} OK [READ-ONLY] done")
            elif command == "SEARCH":
                wanted = words[-1].encode()
                stored = self.mail.get(selected or "", [])
                found = [str(n) for n, m in enumerate(stored, 1) if wanted in _headers(m.data)]
                say(" ".join(["* SEARCH", *found]), f"{tag} OK done")
            elif command == "APPEND":
                await self._append(tag, words, reader, writer, say)
                if writer.is_closing():
                    return
            else:
                say(f"{tag} BAD unknown command")

    async def _append(
        self,
        tag: str,
        words: list[str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        say: Callable[..., None],
    ) -> None:
        behaviour = self.append[min(self.appends, len(self.append) - 1)]
        self.appends += 1
        folder, size = words[0], int(words[-1].strip("{}+"))
        flags = next((w for w in words if w.startswith("(")), "")
        date = next((w for w in words[1:-1] if not w.startswith("(")), "")
        if behaviour == "trycreate":
            say(f"{tag} NO [TRYCREATE] Mailbox doesn't exist: {folder}")
            return
        say("+ go ahead")
        await writer.drain()
        if behaviour == "bye":
            await reader.readexactly(size // 2)
            say("* BYE the server is shutting down")
            await writer.drain()
            writer.close()
            return
        data = await reader.readexactly(size)
        await reader.readline()  # the end of the command line
        self.mail.setdefault(folder, []).append(Stored(data, flags, date))
        if behaviour == "drop":
            writer.close()  # the message is in; its answer never leaves
            return
        say(f"{tag} OK [APPENDUID 1 {len(self.mail[folder])}] Append completed")


def _headers(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def _words(args: str) -> list[str]:
    """Atoms, "quoted strings" (unquoted) and (parenthesised lists) as single words."""
    found = re.findall(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)', args)
    return [
        re.sub(r"\\(.)", r"\1", quoted) if quoted or not (parens or atom) else parens or atom
        for quoted, parens, atom in found
    ]


def start_imap(thread: ServerThread, server: ScriptedImap) -> ScriptedImap:
    return thread.call(server.start)
