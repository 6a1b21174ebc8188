"""Entry points: ``instantiate``, ``execute`` and ``query``, dispatching as a table."""

from typing import assert_never

from worker_manager.contract import (
    admin,
    attestation,
    endpoints,
    permit,
    queries,
    reports,
    workers,
)
from worker_manager.contract.auth import load_config
from worker_manager.contract.deps import Deps, Env, MessageInfo, QueryDeps
from worker_manager.contract.error import AlreadyInstantiated, Paused
from worker_manager.contract.msg import (
    AcceptAdmin,
    AddSubscriber,
    CancelAdminProposal,
    EpochTick,
    ExecuteMsg,
    GetAttestationPolicy,
    GetConfig,
    GetEndpoints,
    GetLivelinessChallenge,
    GetModels,
    GetSubscribers,
    GetUrls,
    GetWorker,
    GetWorkerAddresses,
    GetWorkers,
    GetWorkReports,
    GetWorkTotals,
    InstantiateMsg,
    Pause,
    ProposeAdmin,
    QueryAnswer,
    QueryMsg,
    RecordEndpointChecks,
    RegisterWorker,
    RemoveSubscriber,
    RemoveWorker,
    ReportLiveliness,
    ReportWork,
    ReverifyWorkers,
    RevokePermit,
    SetAttestationPolicy,
    SetConfig,
    SetWorkerAddress,
    SetWorkerAttestation,
    SetWorkerPaused,
    SetWorkerType,
    SetWorkerUrl,
    SetWorkerWallet,
    SudoMsg,
    Unpause,
    WithPermit,
    runs_while_paused,
)
from worker_manager.contract.response import Response
from worker_manager.contract.state import Config
from worker_manager.contract.validate import canonical_address

CONTRACT_NAME = "crates.io:secret-ai-worker-manager"
CONTRACT_VERSION = "0.1.0"


def instantiate(deps: Deps, env: Env, info: MessageInfo, msg: InstantiateMsg) -> Response:
    """Create the contract with the sender as admin. Refused if it already exists."""
    if deps.storage.load_config() is not None:
        raise AlreadyInstantiated()
    sender = canonical_address("sender", info.sender)
    changes = admin.config_changes(
        registration_mode=msg.registration_mode,
        url_template_value=msg.url_template,
        max_attestation_report_bytes=msg.max_attestation_report_bytes,
        require_listed_subscribers=msg.require_listed_subscribers,
        legacy_proofs=msg.legacy_proofs,
        numbers={name: getattr(msg, name) for name in admin.NUMBER_RANGES},
    )
    config = Config(admin=sender).with_changes(**changes)
    deps.storage.save_config(config)
    return Response.of(
        "instantiate",
        {"admin": sender, "contract_address": env.contract.address},
        admin=sender,
        contract_name=CONTRACT_NAME,
        contract_version=CONTRACT_VERSION,
    )


def execute(deps: Deps, env: Env, info: MessageInfo, msg: ExecuteMsg) -> Response:
    """Run one execute message for an authenticated sender.

    As on a chain, ``info.sender`` is trusted: the node derived it from a verified
    signature (or checked it, for trusted in-process calls)."""
    config = load_config(deps.storage)
    if config.paused and not runs_while_paused(msg):
        raise Paused()
    match msg:
        case RegisterWorker():
            return workers.execute_register_worker(deps, env, info, config, msg)
        case SetWorkerWallet():
            return workers.execute_set_worker_wallet(deps, env, info, config, msg)
        case SetWorkerAddress():
            return workers.execute_set_worker_address(deps, env, info, msg)
        case SetWorkerType():
            return workers.execute_set_worker_type(deps, env, info, msg)
        case SetWorkerUrl():
            return workers.execute_set_worker_url(deps, env, info, msg)
        case RemoveWorker():
            return workers.execute_remove_worker(deps, info, config, msg)
        case SetWorkerPaused():
            return workers.execute_set_worker_paused(deps, env, info, msg)
        case SetWorkerAttestation():
            return attestation.execute_set_worker_attestation(deps, env, info, config, msg)
        case SetAttestationPolicy():
            return attestation.execute_set_attestation_policy(deps, info, config, msg)
        case ReverifyWorkers():
            return attestation.execute_reverify_workers(deps, env, info, config, msg)
        case ReportLiveliness():
            return reports.execute_report_liveliness(deps, env, info, config, msg)
        case ReportWork():
            return reports.execute_report_work(deps, env, info, config, msg)
        case ProposeAdmin():
            return admin.execute_propose_admin(deps, info, config, msg)
        case AcceptAdmin():
            return admin.execute_accept_admin(deps, info, config, msg)
        case CancelAdminProposal():
            return admin.execute_cancel_admin_proposal(deps, info, config, msg)
        case AddSubscriber():
            return admin.execute_add_subscriber(deps, env, info, config, msg)
        case RemoveSubscriber():
            return admin.execute_remove_subscriber(deps, info, config, msg)
        case SetConfig():
            return admin.execute_set_config(deps, info, config, msg)
        case Pause():
            return admin.execute_pause(deps, info, config, paused=True)
        case Unpause():
            return admin.execute_pause(deps, info, config, paused=False)
        case RevokePermit():
            return permit.execute_revoke_permit(deps, env, info, msg)
        case _:
            assert_never(msg)


def sudo(deps: Deps, env: Env, msg: SudoMsg) -> Response:
    """Run a message only the node itself sends (CosmWasm's ``sudo``)."""
    match msg:
        case EpochTick():
            return reports.sudo_epoch_tick(deps, env)
        case RecordEndpointChecks():
            return endpoints.sudo_record_endpoint_checks(deps, env, msg)
        case _:
            assert_never(msg)


def query_answer(deps: QueryDeps, env: Env, msg: QueryMsg) -> QueryAnswer:
    """Answer one query as a typed value (``query`` serialises it)."""
    match msg:
        case GetWorkers():
            return queries.query_workers(deps, env, msg)
        case GetWorker():
            return queries.query_worker(deps, msg)
        case GetModels():
            return queries.query_models(deps)
        case GetUrls():
            return queries.query_urls(deps, msg)
        case GetEndpoints():
            return endpoints.query_endpoints(deps, msg)
        case GetConfig():
            return queries.query_config(deps)
        case GetSubscribers():
            return queries.query_subscribers(deps, msg)
        case GetLivelinessChallenge():
            return reports.query_challenge(deps, env)
        case GetAttestationPolicy():
            return attestation.query_attestation_policy(deps)
        case GetWorkerAddresses():
            return attestation.query_worker_addresses(deps, msg)
        case GetWorkReports():
            return reports.query_work_reports(deps, msg)
        case GetWorkTotals():
            return reports.query_work_totals(deps, msg)
        case WithPermit():
            return permit.query_with_permit(deps, env, msg)
        case _:
            assert_never(msg)


def query(deps: QueryDeps, env: Env, msg: QueryMsg) -> bytes:
    """Answer one query as compact JSON bytes, the way a contract returns ``Binary``."""
    return query_answer(deps, env, msg).model_dump_json().encode()
