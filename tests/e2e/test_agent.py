"""Real node and real agent processes with a 1-second epoch: a worker goes live, then
stale and offline after its agent stops, and live again after it restarts; work is
reported once per period, survives restarts of the agent and outages of the node."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import SilentServer
from tests.conftest import ADMIN, ADMIN_KEY, OWNER
from tests.e2e.conftest import RunningNode, cli, free_port, start_serve, stop
from worker_manager.client import Client, TxFailed, WorkerManagerError
from worker_manager.contract.msg import WorkReportAnswer
from worker_manager.keys import PrivateKey

WORKER_KEY = PrivateKey(hashlib.sha256(b"agent e2e worker key").digest())
IP = "10.7.0.1:21434"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` (errors count as "not yet") until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except WorkerManagerError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.1)


def start_agent(config: Path, log: Path) -> subprocess.Popen[str]:
    with log.open("a") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "worker_manager", "agent", "--config", str(config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ.copy(),
        )


def agent_config(tmp: Path, node_url: str, usage: str = 'file = "usage.jsonl"') -> Path:
    (tmp / "worker.key").write_text(WORKER_KEY.secret.hex())
    (tmp / "worker.key").chmod(0o600)  # a key open to others is refused
    (tmp / "quote.hex").write_text("04000200810000")
    config = tmp / "agent.toml"
    config.write_text(
        f'node = "{node_url}"\n'
        f'ip_address = "{IP}"\n'
        f'state_dir = "{tmp / "state"}"\n'
        "poll_fraction = 0.2\n"
        "settle_seconds = 0.2\n"
        "[key]\n"
        'file = "worker.key"\n'
        "worker_key = true\n"
        "[register]\n"
        f'payment_wallet = "{OWNER}"\n'
        'worker_type = "e2e-model"\n'
        'attestation_report_file = "quote.hex"\n'
        "[usage]\n"
        f"{usage}\n"
    )
    return config


def status(client: Client) -> str:
    return client.worker(IP).status


@pytest.mark.slow
def test_agent_liveliness_and_work_end_to_end(
    running_node: RunningNode,
    tmp_path: Path,
    agents: Callable[[Path, Path], subprocess.Popen[str]],
) -> None:
    """(Every agent still running when it ends, passed or failed, is killed.)"""
    url = running_node.url
    with Client(url, key=ADMIN_KEY) as admin:
        admin.set_config(
            registration_mode="open",
            epoch_seconds=1,
            grace_epochs=2,
            offline_after_epochs=4,
            work_period_seconds=2,
        )
    config = agent_config(tmp_path, url)
    log = tmp_path / "agent.log"
    reader = Client(url)

    # 1. the agent registers its worker and keeps it live
    agent = agents(config, log)
    wait_for("registered and answering", lambda: reader.worker(IP).last_seen is not None)
    worker = reader.worker(IP)
    assert worker.worker_public_key == WORKER_KEY.public_key.hex()
    assert worker.status == "live"
    assert reader.urls(model="e2e-model") == ["https://10.7.0.1:21434"]
    time.sleep(3)  # several epochs: still live, answering each
    assert status(reader) == "live"

    # 2. usage lines become one work report per period
    now = time.time()
    lines = [
        {
            "time": now + 0.1,
            "subscriber": "02AA",
            "requests": 2,
            "input_tokens": 20,
            "output_tokens": 30,
        },
        {"time": now + 0.2, "subscriber": "02bb", "input_tokens": 5},
    ]
    (tmp_path / "usage.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    wait_for(
        "work reported",
        lambda: any(t.requests == 3 for t in reader.work_totals("worker", ip_address=IP)),
        timeout=15,
    )
    reported = reader.work_reports(ip_address=IP)
    period = next(r.period for r in reported if r.usage)
    with Client(url, key=WORKER_KEY) as worker_client, pytest.raises(TxFailed) as err:
        worker_client.report_work(IP, period, [], worker_key=WORKER_KEY)
    assert err.value.code == "report_already_filed"  # never counted twice

    # 3. stopped, the worker goes stale, then offline, and is no longer served
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "agent stopped" in log.read_text()
    wait_for("stale", lambda: status(reader) == "stale")
    assert reader.urls(model="e2e-model") == []
    assert reader.worker(IP).not_served_because == ["not_live:stale"]
    wait_for("offline", lambda: status(reader) == "offline")

    # 4. restarted, it is live again and served again
    agent = agents(config, log)
    wait_for("live again", lambda: status(reader) == "live")
    assert reader.urls(model="e2e-model") == ["https://10.7.0.1:21434"]

    # 5. the node goes down: the agent backs off and keeps its reports on disk
    stop(running_node.process)
    later = time.time() + 0.5
    with (tmp_path / "usage.jsonl").open("a") as handle:
        handle.write(json.dumps({"time": later, "subscriber": "02cc", "requests": 7}) + "\n")
    pending = tmp_path / "state" / "pending"
    wait_for(
        "a report queued while the node is down",
        lambda: any("02cc" in p.read_text() for p in pending.glob("*.json")),
        timeout=15,
    )
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "not answering" in log.read_text()
    assert any("02cc" in p.read_text() for p in pending.glob("*.json"))

    # 6. node and agent back: the pending report is sent and acknowledged
    running_node.process = start_serve(
        ["--home", str(running_node.home)], os.environ.copy(), tmp_path / "serve2.log", url
    )
    agent = agents(config, log)
    wait_for(
        "the queued report arrives",
        lambda: any(
            t.key == "02cc" and t.requests == 7
            for t in reader.work_totals("subscriber", ip_address=IP)
        ),
        timeout=20,
    )
    wait_for("the pending file is gone", lambda: not list(pending.glob("*.json")))
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    reader.close()


# -- under change and failure -------------------------------------------------------

#: A stop must end the process this soon after the signal (it should take well under
#: a second; the rest is slack for a busy machine).
STOP_DEADLINE_S = 1.5


@pytest.fixture
def agents() -> Iterator[Callable[[Path, Path], subprocess.Popen[str]]]:
    """``start_agent``, with every agent still running at the end killed."""
    started: list[subprocess.Popen[str]] = []

    def start(config: Path, log: Path) -> subprocess.Popen[str]:
        started.append(start_agent(config, log))
        return started[-1]

    yield start
    for agent in started:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def short_epoch_node(tmp: Path, *, work_period_seconds: int) -> RunningNode:
    """``init`` a home with 2-second epochs (anyone may register) and ``serve`` it."""
    home = tmp / "home"
    port = free_port()
    cli(
        "init", "--home", str(home), "--chain-id", "wm-e2e-1", "--admin", ADMIN,
        "--port", str(port), "--registration-mode", "open", "--epoch-seconds", "2",
        "--work-period-seconds", str(work_period_seconds),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "serve.log"
    process = start_serve(["--home", str(home)], os.environ.copy(), log_path, url)
    return RunningNode(home, url, process, {}, log_path)


def stop_within_deadline(agent: subprocess.Popen[str], signum: signal.Signals, log: Path) -> None:
    sent = time.monotonic()
    agent.send_signal(signum)
    try:
        code = agent.wait(timeout=10)
    except subprocess.TimeoutExpired:
        agent.kill()
        raise AssertionError(f"{signum.name} did not stop the agent:\n{log.read_text()}") from None
    took = time.monotonic() - sent
    assert code == 0, log.read_text()
    assert took < STOP_DEADLINE_S, f"stopping took {took:.2f}s"
    assert f"{signum.name} received; stopping" in log.read_text()
    assert "agent stopped" in log.read_text()


def wait_for_log(log: Path, text: str, agent: subprocess.Popen[str], timeout: float = 20) -> None:
    def logged() -> bool:
        assert agent.poll() is None, f"the agent exited {agent.returncode}:\n{log.read_text()}"
        return text in log.read_text()

    wait_for(f"{text!r} in the agent's log", logged, timeout)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("node", ["silent", "refusing"])
def test_a_stop_is_prompt_while_the_node_hangs_or_is_down(
    tmp_path: Path,
    agents: Callable[[Path, Path], subprocess.Popen[str]],
    signum: signal.Signals,
    node: str,
) -> None:
    """A silent node holds the agent inside HTTP calls; a refusing one keeps it backing off."""
    silent = SilentServer()
    try:
        url = silent.url if node == "silent" else f"http://127.0.0.1:{free_port()}"
        log = tmp_path / "agent.log"
        agent = agents(agent_config(tmp_path, url), log)
        if node == "silent":
            wait_for("the agent inside a call", lambda: len(silent.accepted) >= 2)
        else:
            wait_for_log(log, "node not answering", agent)
        stop_within_deadline(agent, signum, log)
    finally:
        silent.close()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_challenges_are_answered_while_the_metering_endpoint_hangs(
    tmp_path: Path, agents: Callable[[Path, Path], subprocess.Popen[str]], signum: signal.Signals
) -> None:
    """Reporting is stuck on the metering endpoint: every epoch is still answered, and a
    stop is still prompt."""
    node = short_epoch_node(tmp_path, work_period_seconds=2)
    metering = SilentServer()
    reader = Client(node.url)
    try:
        log = tmp_path / "agent.log"
        config = agent_config(tmp_path, node.url, usage=f'url = "{metering.url}/usage"')
        agent = agents(config, log)
        wait_for("the metering endpoint asked", lambda: len(metering.accepted) >= 1)
        wait_for("registered and answering", lambda: reader.worker(IP).last_seen is not None)
        first = reader.worker(IP).last_seen
        assert first is not None
        # two more epochs answered while the first metering call still hangs (for the
        # agent's 10 s timeout)
        wait_for("answers go on", lambda: (reader.worker(IP).last_seen or 0) >= first + 4)
        assert len(metering.accepted) == 1
        assert status(reader) == "live"
        assert reader.work_reports(ip_address=IP) == []
        stop_within_deadline(agent, signum, log)
    finally:
        metering.close()
        reader.close()
        stop(node.process)


@pytest.mark.slow
def test_a_period_change_while_the_agent_runs(
    tmp_path: Path, agents: Callable[[Path, Path], subprocess.Popen[str]]
) -> None:
    """The issue's case: an admin shortens the period from an hour to 2 s while an
    agent runs. It re-bases, queues one window's worth at most, sends nothing out of
    the window, and answers every challenge throughout."""
    node = short_epoch_node(tmp_path, work_period_seconds=3600)
    reader = Client(node.url)
    log = tmp_path / "agent.log"
    (tmp_path / "usage.jsonl").write_text(
        json.dumps({"time": time.time(), "subscriber": "02aa", "requests": 3}) + "\n"
    )
    agent = agents(agent_config(tmp_path, node.url), log)
    state = tmp_path / "state"
    try:
        wait_for_log(log, "work of period", agent)  # the hour that just ended
        wait_for("answering", lambda: reader.worker(IP).last_seen is not None)
        with Client(node.url, key=ADMIN_KEY) as admin:
            admin.set_config(work_period_seconds=2, work_report_window_periods=5)
        changed = time.time()
        seen = reader.worker(IP).last_seen
        assert seen is not None

        def new_reports() -> list[WorkReportAnswer]:
            return [r for r in reader.work_reports(ip_address=IP) if r.period > 10**8]

        most_files = 0

        def reported_and_answered_for_four_epochs() -> bool:
            nonlocal most_files
            most_files = max(most_files, len(list(state.rglob("*.json"))))
            answered = reader.worker(IP).last_seen or 0
            return len(new_reports()) >= 8 and answered >= seen + 8

        wait_for("reports and answers", reported_and_answered_for_four_epochs, timeout=30)
        assert most_files <= 2 + 5 + 1  # reported.json, the hour, one window at most
        for report in new_reports():  # each inside the window when it was sent
            period, at = report.period, report.reported_time
            assert at // 2 - 5 <= period < at // 2
            assert period >= int(changed) // 2 - 5
        log_text = log.read_text()
        assert "contract settings changed: periods of 2s (were 3600s)" in log_text
        assert "refused" not in log_text
        assert "past the window" in log_text
        assert "not answering" not in log_text
        assert status(reader) == "live"
        stop_within_deadline(agent, signal.SIGTERM, log)
    finally:
        reader.close()
        stop(node.process)
