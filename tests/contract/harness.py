"""The contract on memory storage: handler tests in microseconds (cw-plus' first tier).

:class:`ContractHarness` calls ``instantiate``, ``execute``, ``query`` and ``sudo`` the
way a chain would, on :class:`~worker_manager.contract.testing.MemoryStorage`, with
a fixed clock and the real host functions: each execute is one block (the height
moves, the state rolls back on a refusal). It answers the few calls the contract
tests make of a node (``execute``, ``query``, ``tick``, ``clock``, ``identity``), so
the same tests read the same either way; what only a node does (signed txs,
blocks, caches, the tx log) is tested in ``tests/node`` against a real one.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from worker_manager import contract
from worker_manager.contract import (
    Api,
    BlockInfo,
    Coin,
    ContractInfo,
    Deps,
    Env,
    MessageInfo,
    QueryDeps,
)
from worker_manager.contract.attestation import reports_to_examine
from worker_manager.contract.msg import EpochTick, InstantiateMsg, parse_execute, parse_query
from worker_manager.contract.testing import MemoryStorage
from worker_manager.node import Examiner, ExecuteOutcome, FixedClock
from worker_manager.node.identity import ChainIdentity

Raw = bytes | str | Mapping[str, Any]


class ContractHarness:
    """The contract instantiated by ``admin`` on memory storage (see the module docstring)."""

    def __init__(
        self,
        clock: FixedClock,
        api: Api,
        *,
        chain_id: str,
        admin: str,
        examiner: Examiner | None = None,
    ) -> None:
        self.clock = clock
        self.api = api
        self.storage = MemoryStorage()
        self.examiner = examiner
        self.height = 1
        self.identity = ChainIdentity.new(chain_id, admin)
        contract.instantiate(
            Deps(self.storage, api), self._env(), MessageInfo(sender=admin), InstantiateMsg()
        )

    def _env(self) -> Env:
        return Env(
            block=BlockInfo(
                height=self.height, time_ns=self.clock.now_ns(), chain_id=self.identity.chain_id
            ),
            contract=ContractInfo(address=self.identity.contract_address),
        )

    def _evidence(self, msg: Any) -> tuple[tuple[str, str], ...]:
        if self.examiner is None or self.storage.load_attestation_policy() is None:
            return ()

        def stored_report(ip_address: str) -> str | None:
            worker = self.storage.get_worker(ip_address)
            return None if worker is None else worker.attestation_report

        now = self.clock.now_ns() // 1_000_000_000
        return self.examiner.evidence(reports_to_examine(msg, stored_report), now)

    def execute(self, sender: str, msg: Raw, funds: Sequence[Coin] = ()) -> ExecuteOutcome:
        """Run one execute as its own block; a refusal raises and changes nothing."""
        parsed = parse_execute(msg)
        self.height += 1
        info = MessageInfo(sender=sender, funds=tuple(funds), evidence=self._evidence(parsed))
        before = self.storage.snapshot()
        try:
            response = contract.execute(Deps(self.storage, self.api), self._env(), info, parsed)
        except BaseException:
            self.storage.restore(before)
            raise
        body = json.dumps([sender, msg if isinstance(msg, Mapping) else str(msg), self.height])
        return ExecuteOutcome(
            hash=hashlib.sha256(body.encode()).hexdigest().upper(),
            height=self.height,
            time_ns=self.clock.now_ns(),
            data=response.data,
            attributes=response.attributes,
        )

    def query(self, raw: Raw) -> bytes:
        """Answer a query at the current height (as a node answers it)."""
        return contract.query(QueryDeps(self.storage, self.api), self._env(), parse_query(raw))

    def tick(self) -> None:
        """The node's epoch tick (its one sudo message), as its own block."""
        self.height += 1
        contract.sudo(Deps(self.storage, self.api), self._env(), EpochTick())
