"""The collateral refresher against a fake PCCS on 127.0.0.1 (real HTTP, real dcap-qvl),
with the node's clock fixed: collateral nearing its nextUpdate is refreshed and no verdict
lapses; a PCCS that is down or answers junk leaves the last good bundle in place."""

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.attestation.fake_pccs import FakePccs, fake_pccs
from tests.attestation.synthetic import WINDOW_END, WINDOW_START, TestPki
from tests.conftest import ADMIN, CHAIN_ID, OWNER, make_node
from tests.contract.test_attestation import IN_WINDOW, SEED, bound_quote, policy, register
from tests.helpers import data, ex, q
from worker_manager.attestation import CollateralBundle, DirectoryCollateralStore
from worker_manager.attestation.collateral_dir import WatchedCollateralDirectory
from worker_manager.attestation.nvidia.rim import MemoryRimStore
from worker_manager.contract.error import AttestationRefused
from worker_manager.node import Examiner, FixedClock, Node
from worker_manager.node.collateral_refresh import CollateralHealth, CollateralRefresher
from worker_manager.node.host_api import HostApi
from worker_manager.store import Store

DAY = 86_400
#: The bundle the home holds at first: 2026-06-01 to 2026-07-01.
A_END = int(WINDOW_END.timestamp())
#: The one the PCCS serves later: 2026-06-24 to 2026-07-24.
B_START = dt.datetime(2026, 6, 24, tzinfo=dt.UTC)
B_END = dt.datetime(2026, 7, 24, tzinfo=dt.UTC)
LOG = "worker_manager.node.collateral_refresh"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.create()


@pytest.fixture(scope="module")
def bundle_a(pki: TestPki) -> CollateralBundle:
    return CollateralBundle.from_json(pki.collateral_json(), ca="platform")


@pytest.fixture(scope="module")
def json_b(pki: TestPki) -> str:
    return pki.collateral_json(start=B_START, end=B_END)


@pytest.fixture
def pccs(json_b: str) -> Iterator[FakePccs]:
    with fake_pccs(json_b) as server:
        yield server


class Setup:
    """A node trusting the test PKI whose home's collateral directory holds bundle A, and
    its refresher (not started: tests run rounds with :meth:`refresh_once`)."""

    def __init__(
        self, store: Store, pki: TestPki, folder: Path, bundle: CollateralBundle, pccs_url: str
    ) -> None:
        DirectoryCollateralStore(folder).add(bundle)
        self.folder = folder
        self.collateral = WatchedCollateralDirectory(folder)
        self.api = HostApi(SEED)
        self.clock = FixedClock(IN_WINDOW * 10**9)
        self.refresher = CollateralRefresher(
            store,
            self.clock,
            self.collateral,
            pccs_url=pccs_url,
            refresh_before_s=7 * DAY,
            check_interval_s=3600,
            warn_before_s=3 * DAY,
            fetch_timeout_s=10,
            root_ca_der=pki.root_der,
            first_round_delay_s=0.01,
        )
        examiner = Examiner(
            collateral=self.collateral, rims=MemoryRimStore(), test_root_ca_der=pki.root_der
        )
        Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=self.clock, api=self.api)
        self.node = make_node(
            store, self.clock, api=self.api, examiner=examiner, collateral_refresher=self.refresher
        )
        self.pki = pki

    def at(self, moment: dt.datetime) -> None:
        self.clock.advance(int(moment.timestamp()) - self.clock.now_ns() // 10**9)

    def held(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*-*/*.json"))

    def register_worker(self, ip: str = "10.0.0.1", **overrides: Any) -> str:
        quote = bound_quote(self.pki, self.node, self.api)
        self.set_policy(quote, **overrides)
        assert register(self.node, ip, quote)["attestation_status"] == "valid"
        return quote

    def set_policy(self, quote: str, **overrides: Any) -> None:
        allowed = policy(bytes.fromhex(quote), **overrides)
        ex(self.node, ADMIN, {"set_attestation_policy": {"policy": allowed}})

    def reattest(self, ip: str = "10.0.0.1") -> dict[str, Any]:
        report = bound_quote(self.pki, self.node, self.api)
        msg = {"set_worker_attestation": {"ip_address": ip, "attestation_report": report}}
        ex(self.node, OWNER, msg)
        return self.worker(ip)

    def worker(self, ip: str = "10.0.0.1") -> dict[str, Any]:
        return q(self.node, {"get_worker": {"ip_address": ip}})


@pytest.fixture
def setup(
    store: Store, pki: TestPki, bundle_a: CollateralBundle, pccs: FakePccs, tmp_path: Path
) -> Iterator[Setup]:
    made = Setup(store, pki, tmp_path / "collateral", bundle_a, pccs.url)
    yield made
    made.node.close()


def _attestation_reasons(worker: dict[str, Any]) -> list[str]:
    return [r for r in worker["not_served_because"] if r.startswith("attestation")]


def test_collateral_nearing_its_next_update_is_refreshed_and_no_verdict_lapses(
    setup: Setup, pccs: FakePccs, bundle_a: CollateralBundle, json_b: str
) -> None:
    """Two weeks before A's nextUpdate nothing is fetched; within ``refresh_before_s`` the
    fresh bundle comes from the PCCS into the home; after A ends the worker's verdict is
    still valid and served, and its re-attestation and re-verification are valid with B."""
    bundle_b = CollateralBundle.from_json(json_b, ca="platform")
    setup.register_worker()
    assert setup.worker()["attestation_verdict"]["collateral_sha256"] == bundle_a.sha256
    health = setup.node.collateral_health()
    assert health == CollateralHealth(
        at=IN_WINDOW,
        platforms=1,
        oldest_age_s=IN_WINDOW - int(WINDOW_START.timestamp()),
        next_update_in_s=A_END - IN_WINDOW,
        refresh_enabled=True,
    )

    result = setup.refresher.refresh_once()  # 16 days left: not due
    assert (result.refreshed, result.failed, pccs.paths) == ([], {}, [])

    setup.at(dt.datetime(2026, 6, 26, tzinfo=dt.UTC))  # 5 days left: due
    result = setup.refresher.refresh_once()
    assert [b.sha256 for b in result.refreshed] == [bundle_b.sha256]
    assert pccs.tcb_requests == 1
    assert any("fmspc=B0C06F000000" in p for p in pccs.paths)
    assert setup.held() == sorted([bundle_a.sha256, bundle_b.sha256])
    health = setup.node.collateral_health()
    assert health is not None
    now = int(dt.datetime(2026, 6, 26, tzinfo=dt.UTC).timestamp())
    assert (health.last_refresh_at, health.last_refresh_ok, health.last_refresh_error) == (
        now,
        True,
        None,
    )
    assert health.next_update_in_s == int(B_END.timestamp()) - now
    assert health.oldest_age_s == now - int(B_START.timestamp())  # B is the one used now
    setup.refresher.refresh_once()  # B ends in four weeks: nothing more to fetch
    assert pccs.tcb_requests == 1

    setup.at(dt.datetime(2026, 7, 2, tzinfo=dt.UTC))  # A has ended
    worker = setup.worker()
    assert (worker["attestation_status"], _attestation_reasons(worker)) == ("valid", [])
    worker = setup.reattest()
    assert (worker["attestation_status"], _attestation_reasons(worker)) == ("valid", [])
    assert worker["attestation_verdict"]["collateral_sha256"] == bundle_b.sha256
    result = data(ex(setup.node, ADMIN, {"reverify_workers": {"ip_addresses": ["10.0.0.1"]}}))
    assert result == {"verified": 1, "statuses": {"valid": 1}}


def test_a_pccs_that_is_down_keeps_the_last_good_bundle_warns_and_is_retried(
    setup: Setup, pccs: FakePccs, bundle_a: CollateralBundle, caplog: pytest.LogCaptureFixture
) -> None:
    """Two days before A ends the PCCS answers 503: A is kept (and still verifies), a
    warning says why, the next round within the backoff does not ask again but warns
    again, and once the backoff has passed the PCCS is asked again and the refresh lands."""
    setup.register_worker()
    pccs.down = True
    setup.at(dt.datetime(2026, 6, 29, tzinfo=dt.UTC))
    caplog.set_level(logging.WARNING, logger=LOG)

    result = setup.refresher.refresh_once()
    assert list(result.failed) == [("b0c06f000000", "platform")]
    assert "503" in result.failed["b0c06f000000", "platform"]
    assert setup.held() == [bundle_a.sha256]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "the last good bundle is kept, next try in 60s" in w and "503" in w for w in warnings
    )
    assert any("ends in 172800s" in w and "the last fetch failed" in w for w in warnings)
    health = setup.node.collateral_health()
    assert health is not None
    assert health.last_refresh_ok is False
    assert health.last_refresh_error is not None
    assert "503" in health.last_refresh_error
    assert setup.reattest()["attestation_status"] == "valid"  # with A, still good

    asked = len(pccs.paths)
    caplog.clear()
    result = setup.refresher.refresh_once()  # within the backoff: not asked again
    assert (result.postponed, len(pccs.paths)) == ([("b0c06f000000", "platform")], asked)
    assert any("ends in 172800s" in r.getMessage() for r in caplog.records)

    setup.clock.advance(61)  # the backoff has passed, the PCCS still down: it doubles
    result = setup.refresher.refresh_once()
    assert len(result.failed) == 1
    assert len(pccs.paths) > asked
    assert any("next try in 120s" in r.getMessage() for r in caplog.records)

    pccs.down = False
    setup.clock.advance(121)
    result = setup.refresher.refresh_once()
    assert len(result.refreshed) == 1
    assert len(setup.held()) == 2
    health = setup.node.collateral_health()
    assert health is not None
    assert (health.last_refresh_ok, health.last_refresh_error) == (True, None)


def _other_pki_bundle(pki: TestPki) -> str:
    return TestPki.create().collateral_json(start=B_START, end=B_END)


def _same_as_held(pki: TestPki) -> str:
    return pki.collateral_json()


def _not_json_tcb_info(pki: TestPki) -> str:
    layout = json.loads(pki.collateral_json(start=B_START, end=B_END))
    layout["tcb_info"] = "<html>not a TCB info</html>"
    return json.dumps(layout)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (_other_pki_bundle, "no quote of the platform verifies with it"),
        (_same_as_held, "no bundle newer than the one held"),
        (_not_json_tcb_info, "PCCS"),
    ],
    ids=["signed-by-another-root", "not-newer", "unparseable"],
)
def test_an_answer_that_is_not_a_usable_bundle_is_refused_and_the_last_good_kept(
    setup: Setup,
    pccs: FakePccs,
    pki: TestPki,
    bundle_a: CollateralBundle,
    answer: Any,
    why: str,
) -> None:
    setup.register_worker()
    pccs.serve(answer(pki))
    setup.at(dt.datetime(2026, 6, 26, tzinfo=dt.UTC))
    result = setup.refresher.refresh_once()
    assert result.refreshed == []
    (error,) = result.failed.values()
    assert why in error
    assert pccs.tcb_requests == 1
    assert setup.held() == [bundle_a.sha256]
    assert setup.reattest()["attestation_verdict"]["collateral_sha256"] == bundle_a.sha256


def test_without_a_pccs_url_nothing_is_fetched_and_the_end_is_warned(
    store: Store,
    pki: TestPki,
    bundle_a: CollateralBundle,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Air-gapped: no fetch, ever; once the imported bundle has ended, each round warns,
    and a re-attestation is refused as ``collateral_expired`` (what a refresh prevents)."""
    setup = Setup(store, pki, tmp_path / "collateral", bundle_a, "")
    try:
        quote = setup.register_worker()
        setup.set_policy(quote, registration_mode="reject")
        setup.at(dt.datetime(2026, 7, 2, tzinfo=dt.UTC))
        caplog.set_level(logging.WARNING, logger=LOG)
        result = setup.refresher.refresh_once()
        assert (result.refreshed, result.failed, result.postponed) == ([], {}, [])
        assert setup.held() == [bundle_a.sha256]
        (warning,) = [r.getMessage() for r in caplog.records]
        assert f"ended {DAY}s ago" in warning
        assert "no [collateral] pccs_url is set" in warning
        health = setup.node.collateral_health()
        assert health is not None
        assert (health.refresh_enabled, health.last_refresh_at) == (False, None)
        assert health.next_update_in_s == -DAY
        with pytest.raises(AttestationRefused) as refused:
            setup.reattest()
        assert "collateral_expired" in str(refused.value)
    finally:
        setup.node.close()


def test_the_refresher_thread_refreshes_on_its_own_and_stops(setup: Setup, pccs: FakePccs) -> None:
    setup.register_worker()
    setup.at(dt.datetime(2026, 6, 26, tzinfo=dt.UTC))
    setup.refresher.start()
    deadline = time.monotonic() + 30
    while len(setup.held()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    setup.refresher.stop()
    assert len(setup.held()) == 2
    assert not setup.refresher._thread.is_alive()


# the settings -------------------------------------------------------------------------

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_collateral_settings_reach_the_node_built_for_a_home(tmp_path: Path) -> None:
    from worker_manager.application.homes import load_settings
    from worker_manager.cli.main import app
    from worker_manager.node.bootstrap import build_node

    home = tmp_path / "home"
    result = runner.invoke(
        app, ["init", "--home", str(home), "--chain-id", "wm-c", "--admin", ADMIN]
    )
    assert result.exit_code == 0, result.stderr
    with (home / "config.toml").open("a") as config:
        config.write(
            '\n[collateral]\npccs_url = "https://pccs.example:8081"\nrefresh_before_s = 86400\n'
            "check_interval_s = 600\nwarn_before_s = 3600\n"
        )
    node = build_node(load_settings(home))
    try:
        refresher = node.collateral_refresher
        assert refresher is not None
        assert (
            refresher.pccs_url,
            refresher.refresh_before_s,
            refresher.check_interval_s,
            refresher.warn_before_s,
        ) == ("https://pccs.example:8081", 86400, 600, 3600)
        health = node.collateral_health()
        assert health is not None
        assert (health.platforms, health.oldest_age_s, health.next_update_in_s) == (0, None, None)
    finally:
        node.close()
        node.store.close()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (
            'pccs_url = "ftp://pccs"',
            "[collateral] pccs_url must be empty or an http:// or https:// URL",
        ),
        ("refresh_before_s = 59", "[collateral] refresh_before_s must be a whole number in"),
        ("check_interval_s = 0", "[collateral] check_interval_s must be a whole number in"),
        ("warn_before_s = -1", "[collateral] warn_before_s must be a whole number in"),
    ],
)
def test_bad_collateral_settings_are_refused(tmp_path: Path, line: str, error: str) -> None:
    from worker_manager.settings import Settings, SettingsError

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'chain_id = "wm-c"\n[collateral]\n{line}\n')
    with pytest.raises(SettingsError) as refused:
        Settings.load(home, {})
    assert error in str(refused.value)


def test_every_collateral_setting_is_documented() -> None:
    from worker_manager.settings_file import CollateralTable

    text = (DOCS / "configuration.md").read_text()
    for key in CollateralTable.model_fields:
        assert f"`collateral.{key}`" in text


def test_an_unreachable_pccs_is_a_failed_fetch(
    store: Store, pki: TestPki, bundle_a: CollateralBundle, tmp_path: Path
) -> None:
    with fake_pccs() as closed:
        url = closed.url  # nothing listens there once the block ends
    setup = Setup(store, pki, tmp_path / "collateral", bundle_a, url)
    try:
        setup.register_worker()
        setup.at(dt.datetime(2026, 6, 26, tzinfo=dt.UTC))
        result = setup.refresher.refresh_once()
        (error,) = result.failed.values()
        assert error.startswith(f"collateral_unavailable: PCCS {url}")
        assert setup.held() == [bundle_a.sha256]
    finally:
        setup.node.close()


def test_a_platform_no_registered_worker_is_on_is_not_fetched_for(
    setup: Setup, pccs: FakePccs, bundle_a: CollateralBundle
) -> None:
    setup.at(dt.datetime(2026, 6, 26, tzinfo=dt.UTC))
    result = setup.refresher.refresh_once()
    (error,) = result.failed.values()
    assert "no registered worker has a quote of this platform" in error
    assert (pccs.paths, setup.held()) == ([], [bundle_a.sha256])
