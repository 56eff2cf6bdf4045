"""mailtui against the tools people would use instead, measured in one run on loopback.

    uv run python bench/run.py [--quick]

Every case runs whole processes against a local SMTP sink (Postfix's smtp-sink when it is
installed, else bench/sink.py), case 7 whole `git send-email` runs (bench/git_series.py),
and quotes medians of wall time, CPU time and peak memory (case 8, the idle app, CPU time
over the same minutes: bench/idle.py),
mailtui's figure beside each peer's with the ratio. The tools of a case take turns, round
after round, so a slow spell on the machine falls on all of them alike. The app's cases (first screen, event
loop while sending 25 MB, transcript pane after 100,000 lines) are timed in-process by
bench/app_cases.py. Bytecode is compiled first, as it is after a first run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import git_series

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MAILTUI = str(Path(PYTHON).parent / "mailtui")
MAILTUI_SENDMAIL = str(Path(PYTHON).parent / "mailtui-sendmail")
SERIES = 30  # patches in case 7
PEERS = ROOT / "bench" / "peers"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    wall: float
    cpu: float
    peak_kb: int


@dataclass
class Row:
    case: str
    tool: str
    runs: list[Run]
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return statistics.median(r.peak_kb for r in self.runs) / 1024


GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def measure(argv: list[str], env: dict[str, str] | None = None, stdin: bytes | None = None) -> Run:
    """Run one process; wall time, CPU time (wait4's rusage) and peak RSS.

    The peak is taken by GNU time when it is there: a child forked from this (large)
    Python process would otherwise report the parent's pages as its own high-water mark.
    """
    report = None
    if GNU_TIME:
        with tempfile.NamedTemporaryFile(prefix="mailtui-bench-rss-", delete=False) as report:
            argv = [GNU_TIME, "-f", "%M", "-o", report.name, *argv]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env or ENV,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"{argv[0]} failed: {error.strip()[-500:]}")
    peak_kb = usage.ru_maxrss
    if report is not None:
        text = Path(report.name).read_text().strip().splitlines()
        Path(report.name).unlink()
        peak_kb = int(text[-1]) if text and text[-1].isdigit() else peak_kb
    return Run(wall, usage.ru_utime + usage.ru_stime, peak_kb)


def interleaved(
    times: int, tools: dict[str, tuple[list[str], dict[str, str] | None]]
) -> dict[str, list[Run]]:
    """Run every tool once per round, `times` rounds after one warm-up round, starting each
    round with the next tool: a slow spell on the machine falls on all of them alike."""
    names = list(tools)
    for name in names:
        measure(*tools[name])
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for round_ in range(times):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            runs[name].append(measure(*tools[name]))
    return runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sink() -> tuple[subprocess.Popen[bytes], int, str]:
    port = free_port()
    sink = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if sink:
        argv = (
            [sink, "-u", "nobody", f"127.0.0.1:{port}", "256"]
            if os.geteuid() == 0
            else [sink, f"127.0.0.1:{port}", "256"]
        )
        name = "Postfix smtp-sink"
    else:
        argv = [PYTHON, str(ROOT / "bench" / "sink.py"), str(port)]
        name = "bench/sink.py"
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port, name
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the sink ({name}) did not start")


def user_env(work: Path, port: int) -> dict[str, str]:
    """mailtui as a user's install runs it: folders found through platformdirs (the XDG
    variables point them into `work`), not MAILTUI_HOME; one profile for the sink."""
    profiles = work / "config" / "mailtui" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "bench.toml").write_text(
        f'name = "Bench"\nfrom = "bench@example.org"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    )
    env = {k: v for k, v in ENV.items() if k != "MAILTUI_HOME"}
    return {
        **env,
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def message_file(folder: Path, body: Path, attachment: Path | None) -> Path:
    """The same message as raw RFC 5322 bytes, for msmtp (which does not compose)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    message = EmailMessage(policy=SMTP)
    message["From"], message["To"], message["Subject"] = (
        "bench@example.org",
        "bob@example.org",
        "Bench",
    )
    message.set_content(body.read_text())
    if attachment is not None:
        message.add_attachment(
            attachment.read_bytes(),
            maintype="application",
            subtype="octet-stream",
            filename=attachment.name,
        )
    path = folder / ("big.eml" if attachment else "small.eml")
    path.write_bytes(message.as_bytes())
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    small_n, big_n = (5, 3) if args.quick else (21, 5)
    series_n = 3 if args.quick else 7

    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", str(ROOT / "tui"), str(Path(PYTHON).parents[1] / "lib")],
        env=ENV,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    sink, port, sink_name = start_sink()
    work = Path(tempfile.mkdtemp(prefix="mailtui-bench-"))
    rows: list[Row] = []
    notes: list[str] = []
    try:
        env = user_env(work, port)
        body = work / "body.txt"
        body.write_text("Hello Bob,\n\nthe benchmark says hello.\n")
        big = work / "big.bin"
        big.write_bytes(os.urandom(25 * 1024 * 1024))
        msmtp, swaks = shutil.which("msmtp"), shutil.which("swaks")
        smtp_args = [
            "127.0.0.1",
            str(port),
            "bench@example.org",
            "bob@example.org",
            "Bench",
            str(body),
        ]

        # 1. one small message
        case = "1. one small message"
        send = [
            MAILTUI,
            "send",
            "--profile",
            "bench",
            "--to",
            "bob@example.org",
            "--subject",
            "Bench",
            "--body-file",
            str(body),
        ]
        small_eml = message_file(work, body, None)
        tools: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "mailtui send": (send, env),
            "aiosmtplib script": ([PYTHON, str(PEERS / "aiosmtplib_send.py"), *smtp_args], None),
            "smtplib script": ([PYTHON, str(PEERS / "smtplib_send.py"), *smtp_args], None),
        }
        if msmtp:
            tools["msmtp"] = (
                [
                    "sh",
                    "-c",
                    f"{msmtp} --host=127.0.0.1 --port={port} --from=bench@example.org bob@example.org < {small_eml}",
                ],
                None,
            )
        else:
            notes.append("msmtp is not installed (apt-get install msmtp): left out")
        if swaks:
            tools["swaks"] = (
                [
                    swaks,
                    "--silent",
                    "2",
                    "--server",
                    f"127.0.0.1:{port}",
                    "--from",
                    "bench@example.org",
                    "--to",
                    "bob@example.org",
                    "--header",
                    "Subject: Bench",
                    "--body",
                    str(body),
                ],
                None,
            )
        else:
            notes.append("swaks is not installed (apt-get install swaks): left out")
        rows.extend(Row(case, tool, runs) for tool, runs in interleaved(small_n, tools).items())

        # 2. the app, launch to first screen
        case = "2. app launch to first screen"
        tools = {
            "mailtui (headless)": ([MAILTUI, "--exit-after-start"], env),
            "minimal Textual app": ([PYTHON, str(PEERS / "minimal_textual.py")], None),
        }
        rows.extend(Row(case, tool, runs) for tool, runs in interleaved(small_n, tools).items())

        # 3. one message with a 25 MB attachment
        case = "3. 25 MB attachment"
        send_big = [*send, "--attach", str(big)]
        tools = {
            "mailtui send": (send_big, env),
            "smtplib script": (
                [PYTHON, str(PEERS / "smtplib_send.py"), *smtp_args, str(big)],
                None,
            ),
            "aiosmtplib script": (
                [PYTHON, str(PEERS / "aiosmtplib_send.py"), *smtp_args, str(big)],
                None,
            ),
        }
        rows.extend(Row(case, tool, runs) for tool, runs in interleaved(big_n, tools).items())
        wire_mb = message_file(work, body, big).stat().st_size / 1024 / 1024

        # 5. flushing 200 queued messages
        case = "5. flush 200 queued"
        queue = [PYTHON, str(ROOT / "bench" / "fill_outbox.py"), "200", str(port)]
        subprocess.run(queue, env=env, check=True)
        rows.append(Row(case, "mailtui outbox flush", [measure([MAILTUI, "outbox", "flush"], env)]))
        if msmtp:
            loop = f"for i in $(seq 200); do {msmtp} --host=127.0.0.1 --port={port} --from=bench@example.org bob@example.org < {small_eml}; done"
            rows.append(Row(case, "200 msmtp runs", [measure(["sh", "-c", loop])]))
        else:
            loop = f"for i in $(seq 200); do {MAILTUI} send --profile bench --to bob@example.org --subject Bench --body-file {body}; done"
            rows.append(Row(case, "200 mailtui send runs", [measure(["sh", "-c", loop], env)]))

        # 7. git send-email of a patch series: its sendmail command runs once per patch
        case = f"7. git send-email, {SERIES} patches"
        missing = git_series.available()
        if missing is None:
            tools = git_series.tools(work / "git", port, env, MAILTUI_SENDMAIL, SERIES)
            rows.extend(
                Row(case, tool, runs) for tool, runs in interleaved(series_n, tools).items()
            )
        else:
            notes.append(f"{missing}: case 7 left out")

        # 4 and 6: in-process timers in the app
        app_out = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "app_cases.py"), str(port), str(big)],
            env={**env, "MAILTUI_HOME": str(work / "app-home")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # 8. the app idle on its main screen, beside the minimal Textual app, in tmux panes
        if shutil.which("tmux"):
            app_out += subprocess.run(
                [PYTHON, str(ROOT / "bench" / "idle.py"), "--windows", "1" if args.quick else "3"],
                env=ENV,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        else:
            notes.append("tmux is not installed (apt-get install tmux): case 8 left out")
    finally:
        sink.kill()
        shutil.rmtree(work, ignore_errors=True)

    report(rows, wire_mb, app_out, sink_name, notes)
    return 0


def ratio(rows: list[Row], case: str, tool: str, base: str, attr: str = "wall") -> float:
    mine = next(r for r in rows if r.case == case and r.tool == tool)
    other = next(r for r in rows if r.case == case and r.tool == base)
    return float(getattr(mine, attr)) / float(getattr(other, attr))


def report(rows: list[Row], wire_mb: float, app_out: str, sink_name: str, notes: list[str]) -> None:
    print(
        f"mailtui benchmark — {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"sink: {sink_name}, {time.strftime('%Y-%m-%d')}"
    )
    print()
    print("| case | tool | wall (median) | CPU | peak memory |")
    print("| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.case} | {row.tool} | {row.wall * 1000:,.0f} ms | {row.cpu * 1000:,.0f} ms | {row.peak_mb:,.0f} MB |"
        )
    print()
    targets: list[tuple[str, str, bool]] = []
    r1 = ratio(rows, "1. one small message", "mailtui send", "aiosmtplib script")
    targets.append(("1. small message: mailtui / aiosmtplib wall ≤ 1.25", f"{r1:.2f}", r1 <= 1.25))
    r2 = ratio(rows, "2. app launch to first screen", "mailtui (headless)", "minimal Textual app")
    targets.append(("2. first screen: mailtui / minimal Textual ≤ 1.3", f"{r2:.2f}", r2 <= 1.3))
    r3 = ratio(rows, "3. 25 MB attachment", "mailtui send", "smtplib script")
    targets.append(("3. 25 MB: mailtui / smtplib wall ≤ 1.0", f"{r3:.2f}", r3 <= 1.0))
    big = next(r for r in rows if r.case == "3. 25 MB attachment" and r.tool == "mailtui send")
    r3m = big.peak_mb / wire_mb
    targets.append(
        (
            f"3. 25 MB: peak memory ≤ 4 × message on the wire ({wire_mb:.1f} MB)",
            f"{r3m:.2f} ×",
            r3m <= 4,
        )
    )
    flush = next(
        r for r in rows if r.case == "5. flush 200 queued" and r.tool == "mailtui outbox flush"
    )
    other = next(
        r for r in rows if r.case == "5. flush 200 queued" and r.tool != "mailtui outbox flush"
    )
    r5 = other.wall / flush.wall
    targets.append((f"5. flush 200: {other.tool} / mailtui flush ≥ 5", f"{r5:.1f}", r5 >= 5))
    windows = [line for line in app_out.splitlines() if line.startswith("idle ")]
    for line in windows:  # case 8's windows, one line each
        print(f"- {line}")
    if windows:
        print()
    for line in app_out.splitlines():
        if line in windows:
            continue
        name, _, rest = line.partition("=")
        value, _, ok = rest.partition(";")
        targets.append((name.strip(), value.strip(), ok.strip() == "ok"))
    series = f"7. git send-email, {SERIES} patches"
    if any(r.case == series for r in rows):
        r7 = ratio(rows, series, "mailtui-sendmail", "msmtp")
        targets.append(
            (f"7. {SERIES} patches: mailtui-sendmail / msmtp wall ≤ 1.5", f"{r7:.2f}", r7 <= 1.5)
        )
    print("| target | measured | met |")
    print("| --- | ---: | :---: |")
    for name, value, met in targets:
        print(f"| {name} | {value} | {'yes' if met else 'NO'} |")
    for note in notes:
        print(f"\nnote: {note}")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    sys.exit(main())
