"""The services that keep messages safe while an app runs, without any app: drafts kept as
the message changes, and the outbox retried."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import isp_at, queue_while_down
from tui.core.drafts import Drafts
from tui.core.keeping import DraftKeeper, OutboxKeeper
from tui.core.message import Draft
from tui.core.network import Locator
from tui.core.network_history import NetworkHistory
from tui.core.profiles import Profile, load_profiles
from tui.demo.servers import ServerSpec, ServerThread


def test_the_keeping_services_know_nothing_of_textual() -> None:
    import subprocess

    code = "import sys, tui.core.keeping; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_draft_follows_the_message_and_goes_when_it_is_sent(home: Path) -> None:
    keeper = DraftKeeper()
    first = Draft(to=("bob@example.org",), subject="Hi")
    assert keeper.changed(first) and keeper.store(first, "isp", keeper.sends) is None
    assert not keeper.changed(first)
    keeper.store(first._replace(body="more"), "isp", keeper.sends)
    [saved] = Drafts().list()  # replaced, not added
    assert saved.draft.body == "more" and saved.autosave
    stale = keeper.sends
    keeper.sent()
    assert Drafts().list() == []
    keeper.store(first, "isp", stale)  # a save read before the send: not a draft any more
    assert Drafts().list() == []
    assert keeper.set_aside(Draft(subject="later"), "isp")
    [kept] = Drafts().list()
    assert kept.draft.subject == "later" and not kept.autosave and keeper.draft_id is None


async def test_the_outbox_keeper_retries_what_is_due(home: Path, servers: ServerThread) -> None:
    profile = await queue_while_down(home, servers, [Draft(to=("b@example.org",), subject="q")])
    keeper = OutboxKeeper()
    assert keeper.counts() == (1, 0) and keeper.due() == {}  # backoff: not due yet
    keeper.release_all()
    assert list(keeper.due()) == ["isp"]
    back = servers.start(ServerSpec("isp"))
    isp_at(home, back)
    heard: list[Profile] = []

    async def no_password(_profile: Profile) -> str | None:
        return None

    sent = await keeper.retry_due(
        load_profiles(),
        no_password,
        Locator(),
        NetworkHistory(),
        lambda p, _result: heard.append(p),
    )
    assert sent == 1 and len(back.messages) == 1 and keeper.counts() == (0, 0)
    assert [p.id for p in heard] == [profile.id]
