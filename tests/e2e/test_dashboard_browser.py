"""The dashboard in real headless Chromium (Debian's ``chromium`` and ``chromedriver``,
driven by Selenium): a real ``serve`` process, workers registered through the command
line, their statuses on the pages, the table filtered, one worker's page opened, and
screenshots saved to ``tests/e2e/screenshots/`` (kept out of git; a few are copied to
docs/images/ for the docs).

In CI (``CI`` set) a missing browser fails the test; elsewhere it skips."""

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import RunningNode, cli, free_port, start_serve, stop
from tests.e2e.test_cli_flows import ADMIN, ADMIN_WORDS, OWNER, OWNER_WORDS
from worker_manager.client import Client

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
LIVE = ("10.7.1.1", "10.7.1.2")
STALE = "10.7.0.1"


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"{' and '.join(missing)} missing (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"the dashboard's browser test runs in CI, but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    tmp = tmp_path_factory.mktemp("dashboard")
    home = tmp / "home"
    env = {**os.environ, "WM_KEYRING_PASSPHRASE": "correct horse", "WM_HOME": str(home)}
    cli(
        "init",
        "--chain-id",
        "wm-dashboard-e2e",
        "--admin",
        ADMIN.address,
        "--port",
        str(free_port()),
        # one-second epochs: a worker that does not answer is stale within seconds
        "--epoch-seconds",
        "1",
        "--grace-epochs",
        "1",
        "--offline-after-epochs",
        "100",
        env=env,
    )
    with (home / "config.toml").open("a") as config:
        config.write("\n[dashboard]\nrefresh_s = 2\n")  # the pages refresh every 2 s
    for name, phrase in (("admin", ADMIN_WORDS), ("owner", OWNER_WORDS)):
        cli("keys", "recover", name, env=env, input_text=phrase + "\n")
    info = json.loads(cli("info", "--json", env=env).stdout)
    url = str(info["lcd_url"])
    process = start_serve([], env, tmp / "serve.log", url)
    env["WM_NODE"] = url
    try:
        yield RunningNode(home, url, process, {**info, "env": env}, tmp / "serve.log")
    finally:
        stop(process)


def _register(node: RunningNode, ip: str, worker_type: str) -> None:
    env = node.info["env"]
    assert isinstance(env, dict)
    result = cli(
        "tx",
        "register-worker",
        ip,
        "--wallet",
        OWNER.address,
        "--type",
        worker_type,
        "--report",
        "quote-" + ip,
        "--from",
        "admin",
        "--output",
        "json",
        env=env,
    )
    assert json.loads(result.stdout)["code"] == 0


def _status(node: RunningNode, ip: str) -> str:
    answer = httpx.post(f"{node.url}/v1/query", json={"get_worker": {"ip_address": ip}})
    return str(answer.json()["status"])


def _wait_for(what: str, check: object, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def answering(node: RunningNode) -> Iterator[None]:
    """The owner answers every epoch's challenge for the live workers (as agents do)."""
    done = threading.Event()

    def loop() -> None:
        with Client(node.url, key=OWNER) as owner:
            while not done.is_set():
                for ip in LIVE:
                    # a repeat in one epoch, or a race with a block, is harmless
                    with contextlib.suppress(Exception):
                        owner.report_liveliness(ip)
                done.wait(0.3)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


def _driver():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,900",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def test_the_dashboard_in_a_real_browser(node: RunningNode, answering: None) -> None:
    _browser_or_skip()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _register(node, STALE, "mistral-7b")
    for ip in LIVE:
        _register(node, ip, "llama3.3:70b")
    _wait_for(f"{STALE} to go stale", lambda: _status(node, STALE) == "stale")
    assert [_status(node, ip) for ip in LIVE] == ["live", "live"]

    token_file = node.home / "secrets" / "dashboard.token"
    token = token_file.read_text().strip()
    assert len(token) >= 24
    assert token not in node.log()  # serve's output is not a terminal: only the file's name
    assert str(token_file) in node.log()

    SCREENSHOTS.mkdir(exist_ok=True)
    driver = _driver()
    try:
        wait = WebDriverWait(driver, 20)
        # the public summary: aggregates only
        driver.get(f"{node.url}/")
        wait.until(lambda d: d.find_element(By.ID, "count-live").text == "2")
        assert driver.find_element(By.ID, "count-stale").text == "1"
        assert "llama3.3:70b" in driver.find_element(By.ID, "models").text
        assert OWNER.address not in driver.page_source
        # the table is the operator's
        driver.get(f"{node.url}/dashboard/workers")
        assert "Operator token needed" in driver.find_element(By.TAG_NAME, "h1").text
        driver.get(f"{node.url}/?token={token}")  # sets the cookie, drops the token
        wait.until(lambda d: d.current_url.rstrip("/") == node.url)
        driver.save_screenshot(str(SCREENSHOTS / "dashboard-summary.png"))

        driver.get(f"{node.url}/dashboard/workers")
        rows = driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr[data-address]")
        statuses = {
            r.get_attribute("data-address"): r.find_element(By.CLASS_NAME, "status").text
            for r in rows
        }
        assert statuses == {STALE: "stale", LIVE[0]: "live", LIVE[1]: "live"}
        assert OWNER.address in driver.page_source
        driver.save_screenshot(str(SCREENSHOTS / "dashboard-workers.png"))

        # filter: stale only, through the form
        Select(driver.find_element(By.NAME, "status")).select_by_value("stale")
        driver.find_element(By.ID, "apply").click()
        wait.until(lambda d: "status=stale" in d.current_url)
        shown = [
            r.get_attribute("data-address")
            for r in driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr[data-address]")
        ]
        assert shown == [STALE]
        # and by type
        driver.get(f"{node.url}/dashboard/workers")
        Select(driver.find_element(By.NAME, "type")).select_by_value("llama3.3:70b")
        driver.find_element(By.ID, "apply").click()
        wait.until(lambda d: "type=llama3.3" in d.current_url)
        shown = [
            r.get_attribute("data-address")
            for r in driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr[data-address]")
        ]
        assert shown == list(LIVE)
        driver.save_screenshot(str(SCREENSHOTS / "dashboard-workers-filtered.png"))

        # one worker's page, from its link
        driver.find_element(By.LINK_TEXT, LIVE[0]).click()
        wait.until(lambda d: d.find_elements(By.ID, "worker-address"))
        assert driver.find_element(By.ID, "worker-address").text == LIVE[0]
        assert driver.find_element(By.ID, "worker-status").text.startswith("live")
        assert "report_liveliness" in driver.find_element(By.ID, "worker-txs").text
        assert driver.find_elements(By.CSS_SELECTOR, "#liveliness rect.yes")
        assert "quote-" not in driver.page_source  # the report is never shown
        driver.save_screenshot(str(SCREENSHOTS / "dashboard-worker.png"))

        # the page refreshes itself: the height moves without a reload
        driver.get(f"{node.url}/")
        before = driver.find_element(By.ID, "height").text
        wait.until(lambda d: d.find_element(By.ID, "height").text != before)

        driver.get(f"{node.url}/dashboard/blocks")
        assert "report_liveliness" in driver.find_element(By.ID, "txs").text
        driver.save_screenshot(str(SCREENSHOTS / "dashboard-blocks.png"))
        driver.get(f"{node.url}/dashboard/config")
        assert "epoch_seconds" in driver.find_element(By.ID, "config").text
        # nothing the page did broke its Content-Security-Policy
        logs = driver.get_log("browser")
        assert not [e for e in logs if "Content Security Policy" in e.get("message", "")]
    finally:
        driver.quit()
    for name in ("summary", "workers", "workers-filtered", "worker", "blocks"):
        assert (SCREENSHOTS / f"dashboard-{name}.png").read_bytes().startswith(b"\x89PNG")
