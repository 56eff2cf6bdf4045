"""Which profile sends a message handed over with only its sender (`mailtui sendmail`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_profile
from tui.core.profiles import Profile, load_profiles
from tui.core.routing import Choice, choose_profile


def profile(profile_id: str, from_: str, **keys: Any) -> Profile:
    return Profile(
        id=profile_id,
        name=profile_id.title(),
        from_=from_,
        host=f"smtp.{profile_id}.example",
        security="tls",
        **keys,
    )


ISP = profile("isp", "Jane Doe <jane@isp.example>")
PORTAL = profile("portal", "jane@portal.example", addresses=("jane+*@portal.example",))
WORK = profile("work", "Jane <jane@work.example>", addresses=("boss@work.example", "*@example.org"))
PROFILES = (WORK, PORTAL, ISP)  # in no order: ties go to the first by id


@pytest.mark.parametrize(
    ("sender", "chosen", "how"),
    [
        ("jane@isp.example", ISP, "its from address"),
        ("Jane@ISP.Example", ISP, "its from address"),
        ("<jane@isp.example>", ISP, "its from address"),
        ("Jane Doe <jane@isp.example>", ISP, "its from address"),
        ("boss@work.example", WORK, "addresses entry boss@work.example"),
        ("jane+lists@isp.example", ISP, "its from address with a +tag"),
        ("boss+x@work.example", WORK, "addresses entry boss@work.example with a +tag"),
        ("jane+x@portal.example", PORTAL, "its from address with a +tag"),
        ("anyone@example.org", WORK, "addresses pattern *@example.org"),
        ("Anyone@EXAMPLE.org", WORK, "addresses pattern *@example.org"),
    ],
)
def test_the_sender_picks_its_profile(sender: str, chosen: Profile, how: str) -> None:
    assert choose_profile(PROFILES, sender) == Choice(chosen, how, None)


def test_an_exact_match_beats_a_plus_address_which_beats_a_pattern() -> None:
    tagged = profile("a-tagged", "jane@isp.example")
    exact = profile("z-exact", "other@elsewhere.example", addresses=("jane+news@isp.example",))
    pattern = profile("b-pattern", "x@pattern.example", addresses=("*@isp.example",))
    everyone = (tagged, exact, pattern)
    assert choose_profile(everyone, "jane+news@isp.example") == Choice(
        exact, "addresses entry jane+news@isp.example", None
    )
    assert choose_profile(everyone, "jane+other@isp.example") == Choice(
        tagged, "its from address with a +tag", None
    )
    assert choose_profile(everyone, "bob@isp.example") == Choice(
        pattern, "addresses pattern *@isp.example", None
    )


def test_patterns_take_star_and_question_mark_and_nothing_else() -> None:
    odd = profile("odd", "x@odd.example", addresses=("j?ne@[192.0.2.1]", "*@*.example.net"))
    assert choose_profile([odd], "jane@[192.0.2.1]").profile == odd
    assert choose_profile([odd], "june@[192.0.2.1]").profile == odd
    assert choose_profile([odd], "jane@1").profile is None  # brackets are no set of characters
    assert choose_profile([odd], "jean@[192.0.2.1]").profile is None
    assert choose_profile([odd], "a@mx.b.example.net").how == "addresses pattern *@*.example.net"
    assert choose_profile([odd], "a@example.net").profile is None


def test_equal_matches_go_to_the_one_that_worked_on_this_network() -> None:
    home = profile("home", "jane@isp.example")
    roaming = profile("roaming", "Jane <jane@isp.example>")
    choice = choose_profile([home, roaming], "jane@isp.example", lambda pid: pid == "roaming")
    assert choice == Choice(
        roaming, "its from address; 2 profiles match, this one worked on this network", None
    )


def test_then_to_the_default_then_to_the_first_by_id() -> None:
    a = profile("a", "jane@isp.example")
    b = profile("b", "jane@isp.example", default=True)
    c = profile("c", "jane@isp.example")
    choice = choose_profile([c, b, a], "jane@isp.example")
    assert choice == Choice(b, "its from address; 3 profiles match, this one has default = true")
    choice = choose_profile([c, a], "jane@isp.example")
    assert choice == Choice(a, "its from address; 2 profiles match, this one comes first by id")
    # worked here narrows first, the default among those next, then the id.
    worked = {"a", "c"}.__contains__
    choice = choose_profile([c, b, a], "jane@isp.example", worked)
    assert choice.profile == a
    assert choice.how == (
        "its from address; 3 profiles match, this one worked on this network and comes first by id"
    )
    worked = {"b", "c"}.__contains__
    choice = choose_profile([c, b, a], "jane@isp.example", worked)
    assert choice.profile == b
    assert choice.how.endswith("this one worked on this network and has default = true")


def test_a_sender_no_profile_matches_goes_to_the_default() -> None:
    fallback = profile("fallback", "root@host.example", default=True)
    everyone = (*PROFILES, fallback)
    assert choose_profile(everyone, "cron@host.example") == Choice(fallback, "default = true", None)
    assert choose_profile(everyone, None) == Choice(fallback, "default = true", None)
    assert choose_profile(everyone, "<>").profile == fallback  # the null sender of a bounce
    assert choose_profile(everyone, "root").profile == fallback  # -f with a bare user name


def test_without_a_default_the_problem_says_every_way_out() -> None:
    choice = choose_profile(PROFILES, "cron@host.example")
    assert choice.profile is None
    assert choice.problem == (
        "no profile sends as cron@host.example: add it to a profile's addresses, set "
        "default = true in one profile, or pick one with -a ID (profiles: isp, portal, work)"
    )
    choice = choose_profile(PROFILES, None)
    assert choice.profile is None
    assert choice.problem == (
        "the message has no sender (no -f and no From): set default = true in one profile, "
        "or pick one with -a ID (profiles: isp, portal, work)"
    )


def test_two_defaults_are_a_problem_naming_both() -> None:
    one = profile("one", "a@one.example", default=True)
    two = profile("two", "b@two.example", default=True)
    choice = choose_profile([two, ISP, one], "cron@host.example")
    assert choice.profile is None
    assert choice.problem == (
        "no profile sends as cron@host.example, and profiles one and two both have "
        "default = true: keep it in one of them, or pick one with -a ID"
    )
    three = profile("three", "c@three.example", default=True)
    problem = choose_profile([one, two, three], None).problem
    assert problem is not None and "profiles one, three and two all have default = true" in problem
    # A sender that matches needs no default: two of them are no problem then.
    assert choose_profile([one, two], "b@two.example") == Choice(two, "its from address", None)


def test_no_profile_at_all_says_to_create_one(home: Path) -> None:
    choice = choose_profile([], "jane@isp.example")
    assert choice.profile is None
    assert choice.problem is not None
    assert choice.problem.startswith(f"there is no profile yet; create one in {home / 'profiles'}")
    assert "README" in choice.problem


def test_profiles_loaded_from_files_are_chosen_by_their_keys(home: Path) -> None:
    base = {"name": "P", "host": "smtp.isp.example", "security": "none"}
    write_profile(home, "isp", **base, **{"from": "Jane <jane@isp.example>"})
    write_profile(
        home, "lists", **base, **{"from": "lists@isp.example"}, addresses=["*@lists.example"]
    )
    write_profile(home, "cron", **base, **{"from": "root@host.example"}, default=True)
    found = load_profiles().profiles
    assert choose_profile(found, "jane@isp.example").how == "its from address"
    assert choose_profile(found, "news@lists.example").how == "addresses pattern *@lists.example"
    assert choose_profile(found, "daemon@host.example").how == "default = true"


def test_choosing_and_the_config_load_without_textual() -> None:
    """`mailtui sendmail` runs from cron: choosing its profile must not pull in the UI."""
    import subprocess
    import sys

    code = (
        "import sys, tui.core.routing, tui.core.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
