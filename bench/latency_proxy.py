"""A TCP proxy on loopback that delays every byte by a fixed time each way, and counts how
many times the client waited for the server.

A wait is a run of server data delivered to the client that the client then answered (sent
something, or hung up): the server's greeting, each reply to a command or to a pipelined
group, each flight of a TLS handshake. Data the client never waited for -- a reply to QUIT
arriving after it hung up -- is not a wait.

    python bench/latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS   (prints "ready")
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Callable


class Tally:
    """Waits and connections seen since the last `take`."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.waits = 0
        self.connections = 0
        self.open = 0

    def opened(self) -> None:
        with self._changed:
            self.open += 1

    def add(self, waits: int) -> None:
        with self._changed:
            self.waits += waits
            self.connections += 1
            self.open -= 1
            self._changed.notify_all()

    def take(self, settle: float = 5.0) -> tuple[int, int]:
        """Waits and connections so far, once every open connection has been counted (a
        client that exited has still to be seen out by the proxy)."""
        with self._changed:
            self._changed.wait_for(lambda: self.open == 0, settle)
            taken = (self.waits, self.connections)
            self.waits = self.connections = 0
            return taken


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: float,
    heard: Callable[[str], None],
    side: str,
) -> None:
    """Copy `reader` to `writer`, each piece `delay` seconds after it was read, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
            if side == "server":
                heard("S")  # delivered to the client

    delivering = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if side == "client":
                heard("C" if data else "E")
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, asyncio.CancelledError):
        delivering.cancel()


def count_waits(events: list[str]) -> int:
    """Runs of S that a C or an E follows."""
    waits = 0
    for before, after in itertools.pairwise(events):
        if before == "S" and after in ("C", "E"):
            waits += 1
    return waits


async def serve(
    port: int, target: int, delay: float, tally: Tally, ready: Callable[[], None]
) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        events: list[str] = []
        tally.opened()
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            tally.add(0)
            return
        try:
            await asyncio.gather(
                _pump(client_r, server_w, delay, events.append, "client"),
                _pump(server_r, client_w, delay, events.append, "server"),
                return_exceptions=True,
            )
        finally:
            for writer in (client_w, server_w):
                writer.close()
            tally.add(count_waits(events))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    ready()
    async with server:
        await server.serve_forever()


def start_in_thread(port: int, target: int, delay_ms: float) -> Tally:
    """Run the proxy in a daemon thread of this process; returns its tally once it listens."""
    tally = Tally()
    started = threading.Event()

    def run() -> None:
        asyncio.run(serve(port, target, delay_ms / 1000, tally, started.set))

    threading.Thread(target=run, daemon=True).start()
    if not started.wait(10):
        raise RuntimeError("the delaying proxy did not start")
    return tally


if __name__ == "__main__":
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(serve(listen, target, delay_ms / 1000, Tally(), lambda: print("ready", flush=True)))
