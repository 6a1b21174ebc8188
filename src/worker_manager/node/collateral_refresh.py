"""The collateral refresher: fetches Intel collateral from a PCCS before the held bundles end.

The node examines reports with the bundles its home holds (``HOME/collateral``, read
through a :class:`~worker_manager.attestation.collateral_dir.WatchedCollateralDirectory`).
A bundle ends at its earliest ``nextUpdate``; after that, no report of its platform can
be examined ``valid`` any more. With a PCCS URL configured, this thread looks at the held
bundles on a schedule and, for each platform (FMSPC, CA) whose newest bundle ends within
``refresh_before_s`` (or has ended), fetches a fresh one and adds it to the directory, where
examinations find it at once (they use the newest valid bundle).

* **The quote to fetch with.** dcap-qvl's ``get_collateral`` needs a quote of the platform
  (it reads the FMSPC and CA from its PCK certificate). Bundles carry no quote, so the
  refresher reads the stored reports of the registered workers and uses one whose quote
  is of that platform, workers with a ``valid`` verdict first; the quote that last worked
  is remembered (in memory) for the next time. Nobody registered on a platform: nobody
  needs its bundle, and it is not fetched (the warning says so).
* **What is kept.** A fetched bundle is added only when it is for the same platform,
  ends later than every bundle held for it, and dcap-qvl verifies one of those workers'
  quotes with it (signatures, CRLs, window): an answer that is not a usable bundle is
  refused and the last good one kept. A failed fetch is tried again with backoff (one
  minute, doubling, at most ``check_interval_s``).
* **Warnings.** While a platform's newest bundle ends within ``warn_before_s`` (or has
  ended), every round logs a warning saying when and why no fresh one was obtained.
* **Stored verdicts.** Adding a bundle changes no verdict: verdicts are judged when a
  report is (registration, ``set_worker_attestation``, ``reverify_workers``), and a stored
  ``valid`` verdict is not aged by its collateral (only ``reattest_every_epochs`` ages it).
  Re-attestations after a refresh are examined with the fresh bundle, so they stay
  ``valid`` across the old one's ``nextUpdate``. The node never re-judges stored verdicts
  by itself (it cannot send an admin's ``reverify_workers``); after a refresh it logs that
  the admin may, to apply a TCB recovery the new bundle carries.

Time is the node's clock; :meth:`CollateralRefresher.refresh_once` is one round (what tests
call); :meth:`CollateralRefresher.health` is what ``/metrics`` and the dashboard show.
"""

import asyncio
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.collateral_dir import WatchedCollateralDirectory
from worker_manager.attestation.collateral_store import select_bundle
from worker_manager.attestation.dcap import verify_quote
from worker_manager.attestation.decode import decode_report
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.pccs import DEFAULT_TIMEOUT, fetch_collateral
from worker_manager.attestation.quote import parse_quote
from worker_manager.node.clock import Clock
from worker_manager.settings import (
    DEFAULT_COLLATERAL_CHECK_INTERVAL_S,
    DEFAULT_COLLATERAL_REFRESH_BEFORE_S,
    DEFAULT_COLLATERAL_WARN_BEFORE_S,
)
from worker_manager.store import Store

log = logging.getLogger(__name__)

#: A platform: (FMSPC, CA), as bundles are keyed.
Platform = tuple[str, str]
#: The first retry after a failed fetch; each further failure doubles it (at most the
#: check interval).
FIRST_RETRY_S = 60
#: Workers read per page when looking for a platform's quote.
PAGE = 1000
#: Quotes tried against a fetched bundle before it is refused.
MAX_CANDIDATES = 5
#: The first round waits this long after start (the node settles first).
FIRST_ROUND_DELAY_S = 1.0


@dataclass(frozen=True, slots=True)
class CollateralHealth:
    """The collateral a node holds, as of ``at`` (unix seconds of the node's clock).

    Per platform the *current* bundle is the one examinations use now (else, when none is
    valid, the one that ends last). ``oldest_age_s``: the largest ``at - valid_from`` of
    the current bundles; ``next_update_in_s``: the least time until a platform's newest
    bundle ends (negative once ended). Both None when no bundle is held.
    ``last_refresh_*``: the last round that fetched (None: none yet); ``ok`` is True when
    every platform due got a fresh bundle, else ``error`` says why not.
    """

    at: int
    platforms: int
    oldest_age_s: int | None
    next_update_in_s: int | None
    refresh_enabled: bool
    last_refresh_at: int | None = None
    last_refresh_ok: bool | None = None
    last_refresh_error: str | None = None


@dataclass
class _Attempts:
    """Failed fetches for one platform, and when to try again."""

    failures: int = 0
    retry_at: int = 0
    error: str = ""


@dataclass
class RoundResult:
    """What one round did (for tests and the log)."""

    refreshed: list[CollateralBundle] = field(default_factory=list)
    failed: dict[Platform, str] = field(default_factory=dict)
    postponed: list[Platform] = field(default_factory=list)


def _platforms(bundles: Iterable[CollateralBundle]) -> dict[Platform, list[CollateralBundle]]:
    found: dict[Platform, list[CollateralBundle]] = {}
    for bundle in bundles:
        found.setdefault((bundle.fmspc, bundle.ca), []).append(bundle)
    return found


def _current(bundles: list[CollateralBundle], now: int) -> CollateralBundle:
    try:
        return select_bundle(bundles, now)
    except AttestationError:
        return max(bundles, key=lambda b: b.valid_until)


class CollateralRefresher:
    """Keeps ``collateral``'s bundles fresh from ``pccs_url`` (see the module docstring).
    With no ``pccs_url`` it fetches nothing, and only warns."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        collateral: WatchedCollateralDirectory,
        *,
        pccs_url: str = "",
        refresh_before_s: int = DEFAULT_COLLATERAL_REFRESH_BEFORE_S,
        check_interval_s: int = DEFAULT_COLLATERAL_CHECK_INTERVAL_S,
        warn_before_s: int = DEFAULT_COLLATERAL_WARN_BEFORE_S,
        fetch_timeout_s: float = DEFAULT_TIMEOUT,
        root_ca_der: bytes | None = None,
        first_round_delay_s: float = FIRST_ROUND_DELAY_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self.collateral = collateral
        self.pccs_url = pccs_url.strip()
        self.refresh_before_s = refresh_before_s
        self.check_interval_s = check_interval_s
        self.warn_before_s = warn_before_s
        self.fetch_timeout_s = fetch_timeout_s
        #: A test PKI's root instead of Intel's (tests only; no setting exposes it).
        self._root_ca_der = root_ca_der
        self._first_round_delay_s = first_round_delay_s
        self._attempts: dict[Platform, _Attempts] = {}
        self._quotes: dict[Platform, bytes] = {}
        self._last: tuple[int, bool, str | None] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collateral-refresh", daemon=True)

    def _now(self) -> int:
        return self._clock.now_ns() // 1_000_000_000

    # what is held ---------------------------------------------------------------------

    def health(self) -> CollateralHealth:
        """The held collateral's age and time left, and the last refresh (cheap: a
        directory listing, the bundles parsed only when they changed)."""
        now = self._now()
        platforms = _platforms(self.collateral)
        ages = [now - _current(b, now).valid_from for b in platforms.values()]
        lefts = [max(x.valid_until for x in b) - now for b in platforms.values()]
        last = self._last
        return CollateralHealth(
            at=now,
            platforms=len(platforms),
            oldest_age_s=max(ages) if ages else None,
            next_update_in_s=min(lefts) if lefts else None,
            refresh_enabled=bool(self.pccs_url),
            last_refresh_at=None if last is None else last[0],
            last_refresh_ok=None if last is None else last[1],
            last_refresh_error=None if last is None else last[2],
        )

    # one round ------------------------------------------------------------------------

    def refresh_once(self) -> RoundResult:
        """Fetch a fresh bundle for each platform due (and not waiting out a backoff),
        then warn about each platform whose bundle ends soon with no fresh one."""
        with self._lock:
            return self._round()

    def _round(self) -> RoundResult:
        now = self._now()
        result = RoundResult()
        platforms = _platforms(self.collateral)
        ends = {key: max(b.valid_until for b in bundles) for key, bundles in platforms.items()}
        due = {key: end for key, end in ends.items() if end - now <= self.refresh_before_s}
        if self.pccs_url:
            for key, end in sorted(due.items()):
                attempts = self._attempts.get(key)
                if attempts is not None and now < attempts.retry_at:
                    result.postponed.append(key)
                    continue
                try:
                    bundle = self._refresh(key, end, platforms[key], now)
                except AttestationError as exc:
                    self._failed(key, str(exc), now)
                    result.failed[key] = str(exc)
                    continue
                self._attempts.pop(key, None)
                result.refreshed.append(bundle)
                log.info(
                    "collateral for FMSPC %s (%s CA) refreshed from %s: bundle %s valid "
                    "until %d (was %d); stored verdicts keep theirs until re-verified "
                    "(worker-manager attestation reverify --from admin)",
                    key[0],
                    key[1],
                    self.pccs_url,
                    bundle.sha256,
                    bundle.valid_until,
                    end,
                )
            if result.refreshed or result.failed:
                errors = "; ".join(f"{k[0]}-{k[1]}: {e}" for k, e in sorted(result.failed.items()))
                self._last = (now, not result.failed, errors or None)
        self._warn(ends, {(b.fmspc, b.ca) for b in result.refreshed}, now)
        return result

    def _failed(self, key: Platform, error: str, now: int) -> None:
        attempts = self._attempts.setdefault(key, _Attempts())
        attempts.failures += 1
        attempts.error = error
        wait = min(self.check_interval_s, FIRST_RETRY_S * 2 ** (attempts.failures - 1))
        attempts.retry_at = now + wait
        log.warning(
            "collateral refresh for FMSPC %s (%s CA) failed, the last good bundle is kept, "
            "next try in %ds: %s",
            key[0],
            key[1],
            wait,
            error,
        )

    def _warn(self, ends: dict[Platform, int], refreshed: set[Platform], now: int) -> None:
        for key, end in sorted(ends.items()):
            left = end - now
            if key in refreshed or left > self.warn_before_s:
                continue
            if not self.pccs_url:
                why = "no [collateral] pccs_url is set: import a fresh bundle"
            elif key in self._attempts:
                why = f"the last fetch failed: {self._attempts[key].error}"
            else:
                why = "no fresh bundle was obtained"
            when = f"ended {-left}s ago" if left <= 0 else f"ends in {left}s"
            log.warning(
                "collateral for FMSPC %s (%s CA) %s (at %d) and %s; reports of that "
                "platform examined after it ends are not valid",
                key[0],
                key[1],
                when,
                end,
                why,
            )

    # fetching -------------------------------------------------------------------------

    def _refresh(
        self, key: Platform, ends: int, held: list[CollateralBundle], now: int
    ) -> CollateralBundle:
        quotes = list(self._candidates(key))
        if not quotes:
            raise AttestationError(
                Reason.COLLATERAL_UNAVAILABLE,
                "no registered worker has a quote of this platform to fetch with",
            )
        bundle = asyncio.run(
            fetch_collateral(self.pccs_url, quotes[0], timeout=self.fetch_timeout_s)
        )
        if (bundle.fmspc, bundle.ca) != key:
            raise AttestationError(
                Reason.COLLATERAL_INVALID,
                f"the PCCS answered a bundle for FMSPC {bundle.fmspc} ({bundle.ca} CA)",
            )
        if bundle.valid_until <= ends or any(b.sha256 == bundle.sha256 for b in held):
            raise AttestationError(
                Reason.COLLATERAL_UNAVAILABLE,
                f"the PCCS has no bundle newer than the one held yet (its ends at "
                f"{bundle.valid_until}, the held one at {ends})",
            )
        at = max(now, bundle.valid_from)
        first_error: AttestationError | None = None
        for quote in quotes:
            try:
                verify_quote(quote, bundle, at, root_ca_der=self._root_ca_der)
            except AttestationError as exc:
                first_error = first_error or exc
                continue
            self._quotes[key] = quote
            self.collateral.add(bundle)
            return bundle
        assert first_error is not None
        raise AttestationError(
            Reason.COLLATERAL_INVALID,
            f"refused the PCCS's bundle {bundle.sha256}: no quote of the platform verifies "
            f"with it ({first_error})",
        )

    def _candidates(self, key: Platform) -> Iterator[bytes]:
        """Quotes of this platform to fetch and check with: the one that worked last, then
        registered workers' (``valid`` verdicts first), at most :data:`MAX_CANDIDATES`."""
        seen: list[bytes] = []
        remembered = self._quotes.get(key)
        if remembered is not None:
            seen.append(remembered)
        others: list[bytes] = []
        after: str | None = None
        while len(seen) < MAX_CANDIDATES:
            with self._store.read() as session:
                page = session.contract.list_workers(start_after=after, limit=PAGE)
            for worker in page.workers:
                quote = _platform_quote(worker.attestation_report, key)
                if quote is None or quote in seen or quote in others:
                    continue
                (seen if worker.attestation_status == "valid" else others).append(quote)
            if page.next_start_after is None:
                break
            after = page.next_start_after
        yield from (seen + others)[:MAX_CANDIDATES]

    # the thread -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.fetch_timeout_s + 10)

    def _next_wait(self) -> float:
        now = self._now()
        retries = [a.retry_at - now for a in self._attempts.values()]
        return float(max(1, min([self.check_interval_s, *retries])))

    def _run(self) -> None:
        wait = self._first_round_delay_s
        while not self._stop.wait(wait):
            try:
                self.refresh_once()
            except Exception:
                log.exception("collateral refresh round failed")
            wait = self._next_wait()


def _platform_quote(report: str, key: Platform) -> bytes | None:
    """The quote in ``report`` if it is a TDX quote of this platform (else None)."""
    if not report.strip():
        return None
    try:
        quote = parse_quote(decode_report(report).quote)
    except AttestationError:
        return None
    return quote.raw if (quote.fmspc, quote.ca) == key else None
