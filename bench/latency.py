"""mailtui on a slow link: every byte delayed on its way, counted round trips.

    uv run python bench/latency.py [--delay-ms 50] [--runs 5] [--mailtui-src DIR]

A delaying proxy on loopback (bench/latency_proxy.py) adds `--delay-ms` each way (100 ms
round trip by default) in front of Postfix, when tests/interop/setup_postfix.sh has set it up
(its STARTTLS + AUTH submission port and its plain relay), else in front of bench/sink.py (a
plain relay only). Each tool sends one message to three recipients, and a flush of 20 queued
messages (mailtui's outbox over one connection; msmtp and swaks run 20 times; the aiosmtplib
script sends 20 over one connection). Reported: median wall time, and how many times the
client waited for the server (counted by the proxy). `--mailtui-src` runs mailtui from
another checkout's `tui/` (a "before" figure), with this environment's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import latency_proxy
from run import ENV, MAILTUI, PYTHON, ROOT, free_port, measure

POSTFIX_ENV = Path(os.environ.get("MAILTUI_POSTFIX_ENV", "/var/tmp/mailtui-postfix/env.json"))
RCPTS = ("bob@example.org", "carol@example.net", "dave@example.com")
FLUSH = 20


@dataclass
class Target:
    name: str
    port: int  # the server's own port; the proxy stands in front of it
    ca_file: str | None = None
    user: str | None = None
    password_file: str | None = None


@dataclass
class Result:
    target: str
    case: str
    tool: str
    walls: list[float]
    waits: list[int]

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def wait(self) -> float:
        return statistics.median(self.waits)


def targets() -> tuple[list[Target], subprocess.Popen[bytes] | None]:
    if POSTFIX_ENV.exists():
        env = json.loads(POSTFIX_ENV.read_text())
        return [
            Target("Postfix, plain relay", env["isp_port"]),
            Target(
                "Postfix, STARTTLS + AUTH",
                env["submission_port"],
                env["ca_file"],
                env["user"],
                env["password_file"],
            ),
        ], None
    port = free_port()
    sink = subprocess.Popen([PYTHON, str(ROOT / "bench" / "sink.py"), str(port)])
    return [Target("bench/sink.py, plain relay", port)], sink


def profile_text(target: Target, port: int) -> str:
    lines = [
        'name = "Latency"',
        'from = "bench@example.org"',
        'host = "127.0.0.1"',
        f"port = {port}",
    ]
    if target.ca_file:
        lines += [
            'security = "starttls"',
            'auth = "plain"',
            f'username = "{target.user}"',
            f'password_command = "cat {target.password_file}"',
            f'ca_file = "{target.ca_file}"',
        ]
    else:
        lines.append('security = "none"')
    return "\n".join(lines) + "\n"


def peers(target: Target, port: int, eml: Path, times: int) -> dict[str, list[str]]:
    """The other tools' command lines: one message to three recipients, `times` over."""
    repeat = (
        (lambda cmd: cmd)
        if times == 1
        else (lambda cmd: f"for i in $(seq {times}); do {cmd}; done")
    )
    tools: dict[str, list[str]] = {}
    msmtp, swaks = shutil.which("msmtp"), shutil.which("swaks")
    if msmtp:
        opts = f"--host=127.0.0.1 --port={port} --from=bench@example.org"
        if target.ca_file:
            opts += (
                f" --tls=on --tls-starttls=on --tls-trust-file={target.ca_file} --auth=plain"
                f" --user={target.user} --passwordeval='cat {target.password_file}'"
            )
        tools["msmtp"] = ["sh", "-c", repeat(f"{msmtp} {opts} {' '.join(RCPTS)} < {eml}")]
    if swaks:
        opts = (
            f"--silent 2 --pipeline --server 127.0.0.1:{port} --from bench@example.org"
            f" --to {','.join(RCPTS)} --header 'Subject: Latency' --body 'Hello over a slow link.'"
        )
        if target.ca_file:
            opts += (
                f" --tls --tls-verify --tls-ca-path {target.ca_file} --auth PLAIN"
                f' --auth-user {target.user} --auth-password "$(cat {target.password_file})"'
            )
        tools["swaks --pipeline"] = ["sh", "-c", repeat(f"{swaks} {opts}")]
    script = [
        PYTHON,
        str(ROOT / "bench" / "latency_aiosmtplib.py"),
        "127.0.0.1",
        str(port),
        "bench@example.org",
        ",".join(RCPTS),
        str(times),
    ]
    if target.ca_file:
        script += [target.ca_file, str(target.user), str(target.password_file)]
    tools["aiosmtplib script"] = script
    return tools


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=50.0, help="added each way")
    parser.add_argument("--runs", type=int, default=5, help="rounds of the one-message case")
    parser.add_argument("--flush-runs", type=int, default=1, help="rounds of the flush case")
    parser.add_argument("--mailtui-src", type=Path, help="run mailtui from this checkout")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mailtui-latency-"))
    found, sink = targets()
    mailtui_env = {**ENV, "MAILTUI_HOME": str(work / "home")}
    if args.mailtui_src is not None:
        mailtui_env["PYTHONPATH"] = str(args.mailtui_src.resolve())
    results: list[Result] = []
    try:
        body = work / "body.txt"
        body.write_text("Hello over a slow link.\n")
        eml = work / "message.eml"
        eml.write_bytes(
            b"From: bench@example.org\r\nTo: "
            + ", ".join(RCPTS).encode()
            + b"\r\nSubject: Latency\r\n\r\nHello over a slow link.\r\n"
        )
        profiles = work / "home" / "profiles"
        profiles.mkdir(parents=True)
        for number, target in enumerate(found):
            port = free_port()
            tally = latency_proxy.start_in_thread(port, target.port, args.delay_ms)
            profile = f"latency{number}"
            (profiles / f"{profile}.toml").write_text(profile_text(target, port))
            send = [MAILTUI, "send", "--profile", profile, "--subject", "Latency"]
            send += [f"--to={r}" for r in RCPTS] + ["--body-file", str(body)]
            one = {"mailtui send": (send, mailtui_env)} | {
                name: (argv, None) for name, argv in peers(target, port, eml, 1).items()
            }
            case = "1 message, 3 recipients"
            results += rounds(target.name, case, one, args.runs, tally)
            fill = [PYTHON, str(ROOT / "bench" / "fill_outbox.py"), str(FLUSH), "0", profile]
            flush = {"mailtui outbox flush": ([MAILTUI, "outbox", "flush"], mailtui_env)} | {
                name: (argv, None) for name, argv in peers(target, port, eml, FLUSH).items()
            }
            case = f"flush {FLUSH} queued (1 recipient each)"
            before = {"mailtui outbox flush": fill}
            results += rounds(target.name, case, flush, args.flush_runs, tally, before, mailtui_env)
    finally:
        if sink is not None:
            sink.kill()
        shutil.rmtree(work, ignore_errors=True)
    report(results, args)
    return 0


def rounds(
    target: str,
    case: str,
    tools: dict[str, tuple[list[str], dict[str, str] | None]],
    times: int,
    tally: latency_proxy.Tally,
    before: dict[str, list[str]] | None = None,
    before_env: dict[str, str] | None = None,
) -> list[Result]:
    """Every tool once per round, the order turning each round, as bench/run.py does."""
    names = list(tools)
    found = {name: Result(target, case, name, [], []) for name in names}
    for round_ in range(times):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if before and name in before:
                subprocess.run(before[name], env=before_env, check=True)
            tally.take()
            run = measure(*tools[name])
            waits, _connections = tally.take()
            found[name].walls.append(run.wall)
            found[name].waits.append(waits)
    return list(found.values())


def report(results: list[Result], args: argparse.Namespace) -> None:
    source = f", mailtui from {args.mailtui_src}" if args.mailtui_src else ""
    print(f"latency: {args.delay_ms * 2:g} ms round trip through bench/latency_proxy.py{source}")
    print()
    print("| server | case | tool | wall (median) | waits for the server |")
    print("| --- | --- | --- | ---: | ---: |")
    for r in results:
        print(f"| {r.target} | {r.case} | {r.tool} | {r.wall * 1000:,.0f} ms | {r.wait:g} |")
    print()
    print("| target | measured | met |")
    print("| --- | ---: | :---: |")
    for r in results:
        if not r.tool.startswith("mailtui"):
            continue
        peer = next(
            (p for p in results if (p.target, p.case, p.tool) == (r.target, r.case, "msmtp")), None
        )
        if peer is None:
            continue
        label = f"{r.target}, {r.case}"
        print(
            f"| {label}: waits ≤ msmtp's | {r.wait:g} vs {peer.wait:g} | {'yes' if r.wait <= peer.wait else 'NO'} |"
        )
        ratio = r.wall / peer.wall
        print(
            f"| {label}: wall ≤ 1.0 × msmtp's | {ratio:.2f} | {'yes' if ratio <= 1.0 else 'NO'} |"
        )


if __name__ == "__main__":
    sys.exit(main())
