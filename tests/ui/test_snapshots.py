"""Pictures of the main screen, the profile editor and history at 80x24 and 160x48."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.conftest import write_profile
from tui.ui.app import MailtuiApp

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def fixed_home(home: Path) -> Path:
    """Profiles and history that never change, so the pictures do not either."""
    write_profile(
        home,
        "home",
        name="Home ISP",
        provider="isp",
        host="smtp.isp.example",
        security="none",
        networks=["192.168.1.0/24"],
        **{"from": "Jane Doe <jane@isp.example>"},
    )
    write_profile(
        home,
        "webmail",
        name="Webmail",
        provider="portal",
        host="smtp.webmail.example",
        security="starttls",
        auth="auto",
        username="jane.doe",
        password_command="pass show webmail",
        **{"from": "Jane Doe <jane.doe@webmail.example>"},
    )
    folder = home / "transcripts"
    folder.mkdir()
    records: list[dict[str, Any]] = [
        {
            "id": "20261101T090000.000000-aaaa",
            "time": "2026-11-01T09:00:00.000+00:00",
            "kind": "send",
            "profile": "home",
            "envelope": {"from": "jane@isp.example", "to": ["bob@example.org"]},
            "subject": "Lunch on Friday?",
            "outcome": "sent",
            "summary": "Sent to bob@example.org with Home ISP (smtp.isp.example) in 120 ms.",
            "timings_ms": {
                "connect": 10.0,
                "greeting": 20.0,
                "ehlo": 5.0,
                "envelope": 30.0,
                "data": 50.0,
                "total": 120.0,
            },
        },
        {
            "id": "20261102T100000.000000-bbbb",
            "time": "2026-11-02T10:00:00.000+00:00",
            "kind": "send",
            "profile": "home",
            "envelope": {"from": "jane@isp.example", "to": ["carol@example.org"]},
            "subject": "Minutes",
            "outcome": "refused",
            "summary": "The server smtp.isp.example refused to relay.",
            "timings_ms": {"total": 80.0},
        },
    ]
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
        (folder / f"{record['id']}.log").write_text(
            "09:00:00.000 ** connecting to smtp.isp.example:25 (none)\n"
        )
    return home


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, fixed_home: Path, size: tuple[int, int]) -> None:
    async def type_message(pilot: Pilot[object]) -> None:
        await pilot.press(*"bob@example.org")
        pilot.app.screen.query_one("#subject").focus()  # Tabs differ: 80x24 hides empty Cc/Bcc
        await pilot.press(*"Lunch", "tab", *"See you at noon.")
        await pilot.pause()

    assert snap_compare(MailtuiApp(profile_id="home"), terminal_size=size, run_before=type_message)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_profile_editor(snap_compare: Any, fixed_home: Path, size: tuple[int, int]) -> None:
    async def open_editor(pilot: Pilot[object]) -> None:
        await pilot.pause()  # the profiles are loaded once the main screen is up
        assert isinstance(pilot.app, MailtuiApp) and pilot.app.active_id == "webmail"
        await pilot.press("f2")
        await pilot.pause()

    assert snap_compare(
        MailtuiApp(profile_id="webmail"), terminal_size=size, run_before=open_editor
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history(snap_compare: Any, fixed_home: Path, size: tuple[int, int]) -> None:
    async def open_history(pilot: Pilot[object]) -> None:
        await pilot.press("f5")
        await pilot.pause()

    assert snap_compare(MailtuiApp(profile_id="home"), terminal_size=size, run_before=open_history)
