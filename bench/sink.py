"""A minimal SMTP sink for the benchmark when Postfix's smtp-sink is not installed.

It accepts every command, reads each message to its end and throws it away.
Usage: python bench/sink.py PORT
"""

from __future__ import annotations

import asyncio
import sys


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            while True:
                body = await reader.readline()
                if body in (b".\r\n", b""):
                    break
            writer.write(b"250 2.0.0 Ok: queued\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 2.0.0 Ok\r\n")
        await writer.drain()
    writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
