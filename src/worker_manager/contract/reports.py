"""Liveliness answers, work reports, the epoch tick, and their queries."""

from collections.abc import Callable

from worker_manager.contract.auth import load_config, load_worker, require_owner
from worker_manager.contract.deps import Deps, Env, MessageInfo, QueryDeps
from worker_manager.contract.error import (
    InvalidField,
    InvalidSignature,
    ReportAlreadyFiled,
    StaleChallenge,
)
from worker_manager.contract.liveliness import (
    Status,
    digest,
    epoch_end,
    epoch_of,
    liveliness_sign_bytes,
    load_step,
    mark_up,
    status_of,
    work_sign_bytes,
)
from worker_manager.contract.msg import (
    DEFAULT_WORK_REPORTS_LIMIT,
    DEFAULT_WORK_TOTALS_LIMIT,
    MAX_USAGE_LINES,
    MAX_WORK_REPORTS_LIMIT,
    MAX_WORK_TOTALS_LIMIT,
    ChallengeAnswer,
    GetWorkReports,
    GetWorkTotals,
    ReportLiveliness,
    ReportWork,
    UsageItem,
    WorkReportAnswer,
    WorkReportsAnswer,
    WorkTotalAnswer,
    WorkTotalsAnswer,
)
from worker_manager.contract.response import Response
from worker_manager.contract.state import Config, UsageLine, Worker, WorkReport
from worker_manager.contract.validate import canonical_worker_address
from worker_manager.keys.address import address_from_public_key
from worker_manager.keys.secp256k1 import SignatureError, verify_compact

MAX_COUNTER = 2**53 - 1


def worker_key_address(public_key_hex: str) -> str:
    """The account address of a worker key (it may sign txs itself)."""
    return address_from_public_key(bytes.fromhex(public_key_hex))


def _signed_by_worker_key(worker: Worker, signature_hex: str | None, sign_bytes: bytes) -> None:
    """Check a worker-key signature (compact, hex) over sha256(``sign_bytes``)."""
    assert worker.worker_public_key is not None
    if not signature_hex:
        raise InvalidSignature(
            f"worker {worker.ip_address} has a worker key: the message must carry its signature"
        )
    try:
        signature = bytes.fromhex(signature_hex.removeprefix("0x"))
        valid = verify_compact(
            bytes.fromhex(worker.worker_public_key), signature, digest(sign_bytes)
        )
    except (ValueError, SignatureError) as exc:
        raise InvalidSignature(f"signature is malformed: {exc}") from exc
    if not valid:
        raise InvalidSignature(f"signature is not by worker {worker.ip_address}'s worker key")


def _authorize(
    worker: Worker, info: MessageInfo, signature: str | None, sign_bytes: Callable[[], bytes]
) -> None:
    """The worker key's word, or the owner's: the worker key either signed the tx
    itself (the sender is its address) or signed the message, which anyone may carry."""
    if worker.worker_public_key is None:
        require_owner(worker, info.sender)
    elif info.sender != worker_key_address(worker.worker_public_key) or signature:
        _signed_by_worker_key(worker, signature, sign_bytes())


def current_challenge(deps: Deps | QueryDeps, epoch: int) -> str:
    return deps.api.liveliness_challenge(epoch).hex()


def execute_report_liveliness(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: ReportLiveliness
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    load = 0 if msg.load is None else msg.load
    if not 0 <= load <= 100:
        raise InvalidField("load", f"must be a percentage from 0 to 100, got {load}")
    now_epoch = epoch_of(config, env.block.time)
    answered = msg.challenge.lower().removeprefix("0x")
    if answered == current_challenge(deps, now_epoch):
        epoch = now_epoch
    elif answered == current_challenge(deps, now_epoch - 1):
        epoch = now_epoch - 1
    else:
        raise StaleChallenge(worker.ip_address, now_epoch)
    _authorize(
        worker,
        info,
        msg.signature,
        lambda: liveliness_sign_bytes(
            chain_id=env.block.chain_id,
            contract=env.contract.address,
            ip_address=worker.ip_address,
            challenge=answered,
            load=load,
        ),
    )

    state = mark_up(deps.storage.load_liveliness(), now_epoch)
    if worker.last_seen_epoch is not None and worker.last_seen_epoch >= epoch:
        deps.storage.save_liveliness(state)
        return Response.of(
            "report_liveliness",
            {"ip_address": worker.ip_address, "epoch": epoch, "counted": False},
            ip_address=worker.ip_address,
            epoch=str(epoch),
            counted="false",
        )
    was_live = status_of(config, state, worker) is Status.LIVE
    updated = worker.with_changes(
        last_seen_index=state.up_index,
        last_seen_epoch=epoch,
        last_seen_time=env.block.time,
        load=load,
    )
    deps.storage.update_worker(worker.ip_address, updated)
    if not was_live or load_step(load) != load_step(worker.load):
        state = state.with_changes(serving_version=state.serving_version + 1)
    deps.storage.save_liveliness(state)
    return Response.of(
        "report_liveliness",
        {"ip_address": worker.ip_address, "epoch": epoch, "counted": True},
        ip_address=worker.ip_address,
        epoch=str(epoch),
        counted="true",
    )


def _usage(items: list[UsageItem]) -> tuple[UsageLine, ...]:
    if len(items) > MAX_USAGE_LINES:
        raise InvalidField("usage", f"at most {MAX_USAGE_LINES} lines per report, got {len(items)}")
    seen: set[str] = set()
    lines = []
    for number, item in enumerate(items):
        subscriber = item.subscriber.strip().lower()
        if not subscriber or len(subscriber) > 130:
            raise InvalidField(f"usage[{number}].subscriber", "must be 1-130 characters")
        if subscriber in seen:
            raise InvalidField(f"usage[{number}].subscriber", f"{subscriber} appears twice")
        seen.add(subscriber)
        for name in ("requests", "input_tokens", "output_tokens"):
            value = getattr(item, name)
            if not 0 <= value <= MAX_COUNTER:
                raise InvalidField(f"usage[{number}].{name}", f"must be 0 to {MAX_COUNTER}")
        lines.append(UsageLine(subscriber, item.requests, item.input_tokens, item.output_tokens))
    return tuple(sorted(lines, key=lambda line: line.subscriber))


def execute_report_work(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: ReportWork
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    usage = _usage(msg.usage)
    current = env.block.time // config.work_period_seconds
    if msg.period >= current:
        raise InvalidField(
            "period", f"period {msg.period} has not ended yet (the current period is {current})"
        )
    if msg.period < current - config.work_report_window_periods:
        raise InvalidField(
            "period",
            f"period {msg.period} is too old: reports are taken for "
            f"{config.work_report_window_periods} periods after they end",
        )
    _authorize(
        worker,
        info,
        msg.signature,
        lambda: work_sign_bytes(
            chain_id=env.block.chain_id,
            contract=env.contract.address,
            ip_address=worker.ip_address,
            period=msg.period,
            usage=[
                {
                    "subscriber": line.subscriber,
                    "requests": line.requests,
                    "input_tokens": line.input_tokens,
                    "output_tokens": line.output_tokens,
                }
                for line in usage
            ],
        ),
    )
    if deps.storage.has_work_report(worker.ip_address, msg.period):
        raise ReportAlreadyFiled(worker.ip_address, msg.period)
    deps.storage.insert_work_report(
        WorkReport(
            ip_address=worker.ip_address,
            period=msg.period,
            payment_wallet=worker.payment_wallet,
            usage=usage,
            reported_height=env.block.height,
            reported_time=env.block.time,
        )
    )
    return Response.of(
        "report_work",
        {"ip_address": worker.ip_address, "period": msg.period, "lines": len(usage)},
        ip_address=worker.ip_address,
        period=str(msg.period),
        requests=str(sum(line.requests for line in usage)),
    )


def sudo_epoch_tick(deps: Deps, env: Env) -> Response:
    """The node marks the current epoch as up (a repeat changes nothing)."""
    config = load_config(deps.storage)
    epoch = epoch_of(config, env.block.time)
    state = deps.storage.load_liveliness()
    ticked = mark_up(state, epoch)
    if ticked != state:
        deps.storage.save_liveliness(ticked)
    return Response.of(
        "epoch_tick",
        {"epoch": epoch, "up_index": ticked.up_index},
        epoch=str(epoch),
        up_index=str(ticked.up_index),
    )


def query_challenge(deps: QueryDeps, env: Env) -> ChallengeAnswer:
    config = load_config(deps.storage)
    epoch = epoch_of(config, env.block.time)
    return ChallengeAnswer(
        challenge=current_challenge(deps, epoch),
        epoch=epoch,
        # the previous epoch's challenge is still taken during the next epoch
        expires_at=epoch_end(config, epoch + 1),
        epoch_seconds=config.epoch_seconds,
    )


def _report_answer(report: WorkReport) -> WorkReportAnswer:
    return WorkReportAnswer(
        ip_address=report.ip_address,
        period=report.period,
        payment_wallet=report.payment_wallet,
        usage=[
            UsageItem(
                subscriber=line.subscriber,
                requests=line.requests,
                input_tokens=line.input_tokens,
                output_tokens=line.output_tokens,
            )
            for line in report.usage
        ],
        reported_height=report.reported_height,
        reported_time=report.reported_time,
    )


def query_work_reports(deps: QueryDeps, msg: GetWorkReports) -> WorkReportsAnswer:
    load_config(deps.storage)
    limit = msg.limit or DEFAULT_WORK_REPORTS_LIMIT
    if limit < 1:
        raise InvalidField("limit", f"must be at least 1, got {limit}")
    ip = canonical_worker_address(msg.ip_address) if msg.ip_address else None
    after = None
    if msg.start_after is not None:
        after = (
            msg.start_after.period,
            canonical_worker_address(msg.start_after.ip_address, "start_after.ip_address"),
        )
    reports = deps.storage.work_reports(
        ip_address=ip,
        period=msg.period,
        start_after=after,
        limit=min(limit, MAX_WORK_REPORTS_LIMIT),
    )
    return WorkReportsAnswer(reports=[_report_answer(r) for r in reports])


def query_work_totals(deps: QueryDeps, msg: GetWorkTotals) -> WorkTotalsAnswer:
    load_config(deps.storage)
    if (
        msg.from_period is not None
        and msg.to_period is not None
        and msg.from_period > msg.to_period
    ):
        raise InvalidField("from_period", "must not be after to_period")
    ip = canonical_worker_address(msg.ip_address) if msg.ip_address else None
    limit = DEFAULT_WORK_TOTALS_LIMIT if msg.limit is None else msg.limit
    if not 1 <= limit <= MAX_WORK_TOTALS_LIMIT:
        raise InvalidField("limit", f"must be 1 to {MAX_WORK_TOTALS_LIMIT}, got {limit}")
    after: str | int | None = msg.start_after
    if msg.by == "period" and msg.start_after is not None:
        if not (msg.start_after.isascii() and msg.start_after.isdigit()):
            raise InvalidField("start_after", "a period number, when totals are by period")
        after = int(msg.start_after)
    totals = deps.storage.work_totals(
        by=msg.by,
        from_period=msg.from_period,
        to_period=msg.to_period,
        ip_address=ip,
        subscriber=msg.subscriber.lower() if msg.subscriber else None,
        start_after=after,
        limit=limit + 1,
    )
    more = len(totals) > limit
    totals = totals[:limit]
    return WorkTotalsAnswer(
        by=msg.by,
        next_start_after=totals[-1].key if more else None,
        totals=[
            WorkTotalAnswer(
                key=t.key,
                lines=t.lines,
                requests=t.requests,
                input_tokens=t.input_tokens,
                output_tokens=t.output_tokens,
            )
            for t in totals
        ],
    )
