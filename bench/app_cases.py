"""The app's own timers: the event loop while a 25 MB message goes out, and the transcript
pane after 100,000 lines. Prints "target = value; ok|NO" lines for bench/run.py."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from tui.core.transcript import Mark, make_event


async def heartbeat_while_sending(port: int, attachment: Path) -> float:
    from tui.ui.app import MailtuiApp

    home = Path(os.environ["MAILTUI_HOME"])
    (home / "profiles").mkdir(parents=True, exist_ok=True)
    (home / "profiles" / "bench.toml").write_text(
        f'name = "Bench"\nfrom = "bench@example.org"\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\n'
    )
    app = MailtuiApp(profile_id="bench")
    gaps: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.form.query_one("#to").value = "bob@example.org"  # type: ignore[attr-defined]
        app.form.add_attachment(attachment)
        last = time.perf_counter()

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

        timer = app.set_interval(0.01, tick)
        await pilot.press("ctrl+s")
        started = time.monotonic()
        while (  # noqa: ASYNC110 - polling the app from outside, as a person watches it
            app.main.sending or app.pane.state in ("idle", "connecting")
        ) and time.monotonic() - started < 120:
            await asyncio.sleep(0.02)
        timer.stop()
        if app.pane.state != "sent":
            raise SystemExit(f"the 25 MB send did not succeed: {app.pane.state}")
    return max(gaps) * 1000


async def transcript_pane_cost() -> tuple[float, float, int]:
    from textual.app import App, ComposeResult

    from tui.ui.widgets.transcript_pane import TranscriptPane

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield TranscriptPane()

    app = PaneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TranscriptPane)
        event = make_event(Mark.SERVER, "250 2.1.5 Ok: a line of an ordinary transcript")
        timings: list[float] = []
        for _block in range(100):
            started = time.perf_counter()
            for _ in range(1000):
                pane.handle(event)
            timings.append((time.perf_counter() - started) / 1000)
            await pilot.pause()
        kept = len(pane.log_widget.lines)
    # Medians of the first and the last ten blocks: one block can catch a collector pass or
    # the machine's other work, and the question is how appends cost as the pane fills.
    return statistics.median(timings[:10]) * 1e6, statistics.median(timings[-10:]) * 1e6, kept


def main() -> None:
    port, attachment = int(sys.argv[1]), Path(sys.argv[2])
    gap = asyncio.run(heartbeat_while_sending(port, attachment))
    print(
        f"4. longest event-loop stall while the app sends 25 MB ≤ 100 ms = {gap:.0f} ms; {'ok' if gap <= 100 else 'NO'}"
    )
    first, last, kept = asyncio.run(transcript_pane_cost())
    bounded = kept <= 5000
    cheap = last <= max(first * 2, 50)
    print(
        f"6. transcript pane: lines kept after 100,000 (limit 5,000) = {kept:,}; {'ok' if bounded else 'NO'}"
    )
    print(
        f"6. transcript pane: append cost, first 10,000 → last 10,000 lines (median of 1,000-line blocks) = {first:.0f} → {last:.0f} µs; "
        f"{'ok' if cheap else 'NO'}"
    )


if __name__ == "__main__":
    main()
