"""The ledger: accounts, blocks and the transaction log, inside the caller's transaction.

These are the node's records (the contract never sees them): they make
signatures replay-proof (account sequences), let anyone look a transaction up
by hash, and let the whole contract state be rebuilt from height 1.
"""

from collections.abc import Iterator

from sqlalchemy import Connection, RowMapping, bindparam, func, insert, select, update

from worker_manager.store.tables import accounts, blocks, txs
from worker_manager.tx.records import AccountRecord, BlockRecord, TxRecord

__all__ = ["AccountRecord", "BlockRecord", "Ledger", "TxRecord"]


def _tx(row: RowMapping) -> TxRecord:
    return TxRecord(
        hash=row["hash"],
        height=row["height"],
        tx_index=row["tx_index"],
        kind=row["kind"],
        sender=row["sender"],
        sequence=row["sequence"],
        tx_bytes=row["tx_bytes"],
        messages=row["messages"],
        code=row["code"],
        codespace=row["codespace"],
        error=row["error"],
        log=row["log"],
        data=row["data"],
        events=row["events"],
        gas_wanted=row["gas_wanted"],
        gas_used=row["gas_used"],
        fee=row["fee"],
        memo=row["memo"],
        time_ns=row["time_ns"],
        failed_msg_index=row["failed_msg_index"],
        inputs=row["inputs"],
    )


class Ledger:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    # accounts -------------------------------------------------------------

    def get_account(self, address: str) -> AccountRecord | None:
        row = (
            self._conn.execute(select(accounts).where(accounts.c.address == address))
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        return AccountRecord(
            address=row["address"],
            account_number=row["account_number"],
            sequence=row["sequence"],
            public_key=row["public_key"],
            first_height=row["first_height"],
        )

    def save_account(self, account: AccountRecord) -> None:
        values = {
            "account_number": account.account_number,
            "sequence": account.sequence,
            "public_key": account.public_key,
            "first_height": account.first_height,
        }
        updated = self._conn.execute(
            update(accounts).where(accounts.c.address == account.address).values(**values)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(accounts).values(address=account.address, **values))

    def all_sequences(self) -> dict[str, int]:
        """Every account's sequence (the node loads them once at start)."""
        rows = self._conn.execute(select(accounts.c.address, accounts.c.sequence))
        return {str(address): int(sequence) for address, sequence in rows}

    def get_accounts(self, addresses: list[str]) -> dict[str, AccountRecord]:
        """Many accounts in a few queries (a block's signers)."""
        found: dict[str, AccountRecord] = {}
        for start in range(0, len(addresses), 500):
            chunk = addresses[start : start + 500]
            for row in (
                self._conn.execute(select(accounts).where(accounts.c.address.in_(chunk)))
                .mappings()
                .all()
            ):
                found[row["address"]] = AccountRecord(
                    address=row["address"],
                    account_number=row["account_number"],
                    sequence=row["sequence"],
                    public_key=row["public_key"],
                    first_height=row["first_height"],
                )
        return found

    def save_accounts(self, *, updated: list[AccountRecord], added: list[AccountRecord]) -> None:
        """Write many accounts at once (the block's sequence changes)."""
        if updated:
            self._conn.execute(
                update(accounts)
                .where(accounts.c.address == bindparam("key"))
                .values(
                    sequence=bindparam("sequence"),
                    public_key=bindparam("public_key"),
                ),
                [
                    {"key": a.address, "sequence": a.sequence, "public_key": a.public_key}
                    for a in updated
                ],
            )
        if added:
            self._conn.execute(
                insert(accounts),
                [
                    {
                        "address": a.address,
                        "account_number": a.account_number,
                        "sequence": a.sequence,
                        "public_key": a.public_key,
                        "first_height": a.first_height,
                    }
                    for a in added
                ],
            )

    # blocks and txs -------------------------------------------------------

    def insert_block(self, block: BlockRecord) -> None:
        self._conn.execute(
            insert(blocks).values(
                height=block.height,
                time_ns=block.time_ns,
                tx_count=block.tx_count,
                hash=block.hash,
            )
        )

    def insert_txs(self, records: list[TxRecord]) -> None:
        if records:
            self._conn.execute(insert(txs), [_values(r) for r in records])

    def get_block(self, height: int) -> BlockRecord | None:
        row = (
            self._conn.execute(select(blocks).where(blocks.c.height == height))
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        return BlockRecord(row["height"], row["time_ns"], row["tx_count"], row["hash"])

    def latest_block(self) -> BlockRecord | None:
        height = self._conn.execute(select(func.max(blocks.c.height))).scalar_one_or_none()
        return None if height is None else self.get_block(int(height))

    def senders_between(self, after: int, up_to: int) -> list[str]:
        """The signers of the txs in blocks ``after`` (excluded) to ``up_to``: whose
        sequences moved there (another node's blocks, which this node learns of)."""
        query = (
            select(txs.c.sender)
            .where(txs.c.height > after, txs.c.height <= up_to, txs.c.sequence.is_not(None))
            .distinct()
        )
        return [str(sender) for sender in self._conn.execute(query).scalars()]

    def get_txs(self, tx_hashes: list[str]) -> dict[str, TxRecord]:
        """The recorded txs among ``tx_hashes`` (another node may have committed them)."""
        if not tx_hashes:
            return {}
        query = select(txs).where(txs.c.hash.in_(sorted({h.upper() for h in tx_hashes})))
        rows = self._conn.execute(query).mappings().all()
        return {r.hash: r for r in (_tx(row) for row in rows)}

    def get_tx(self, tx_hash: str) -> TxRecord | None:
        row = (
            self._conn.execute(select(txs).where(txs.c.hash == tx_hash.upper()))
            .mappings()
            .one_or_none()
        )
        return None if row is None else _tx(row)

    def block_txs(self, height: int) -> list[TxRecord]:
        query = select(txs).where(txs.c.height == height).order_by(txs.c.tx_index)
        return [_tx(r) for r in self._conn.execute(query).mappings()]

    def iter_txs(self, *, from_height: int = 1, batch: int = 1000) -> Iterator[TxRecord]:
        """Every transaction in commit order, read in batches (for replays and exports)."""
        last = (from_height, -1)
        while True:
            query = (
                select(txs)
                .where(
                    (txs.c.height > last[0])
                    | ((txs.c.height == last[0]) & (txs.c.tx_index > last[1]))
                )
                .order_by(txs.c.height, txs.c.tx_index)
                .limit(batch)
            )
            rows = [_tx(r) for r in self._conn.execute(query).mappings()]
            if not rows:
                return
            yield from rows
            last = (rows[-1].height, rows[-1].tx_index)


def _values(record: TxRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in TxRecord.__slots__}
