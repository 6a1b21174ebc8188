"""``worker-manager query``: read the contract and the node (no key needed, except a
subscriber key to sign get_workers' proof)."""

import csv
import dataclasses
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from worker_manager.cli import inputs
from worker_manager.cli.client_calls import call
from worker_manager.cli.common import (
    EXIT_USAGE,
    HomeOption,
    NodeOption,
    Output,
    OutputOption,
    fail,
    load_key,
    node_url,
    print_fields,
    print_json,
    stdout,
)
from worker_manager.client import Client, Workers, make_permit

app = typer.Typer(
    help="Read workers, models, URLs, config, transactions and accounts.",
    no_args_is_help=True,
)


def _client(node: str | None) -> Client:
    return Client(node_url(node))


def _print_list(title: str, items: list[str], output: Output, key: str) -> None:
    if output is Output.json:
        print_json({key: items})
        return
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column()
    for item in items:
        table.add_row(item)
    stdout.print(table)


@app.command()
def models(node: NodeOption = None, output: OutputOption = Output.table) -> None:
    """The models served by at least one worker.

    Example:

      worker-manager query models --node http://127.0.0.1:1317
    """
    with _client(node) as client:
        _print_list("models", call(output, client.models), output, "models")


@app.command()
def urls(
    model: Annotated[str | None, typer.Option(help="Only workers serving this model.")] = None,
    subscriber: Annotated[
        str | None, typer.Option(help="Order as assigned to this subscriber (public key, hex).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """URLs of the live workers serving a model, in assignment order.

    Example:

      worker-manager query urls --model llama3.3:70b --subscriber 02ab...
    """
    with _client(node) as client:
        found = call(output, lambda: client.urls(model, subscriber=subscriber, limit=limit))
    _print_list(f"urls for {model or 'all models'}", found, output, "urls")


@app.command()
def endpoints(
    model: Annotated[str | None, typer.Option(help="Only workers serving this model.")] = None,
    subscriber: Annotated[
        str | None, typer.Option(help="Order as assigned to this subscriber (public key, hex).")
    ] = None,
    evidence: Annotated[
        bool,
        typer.Option("--evidence", help="Include each worker's attestation report (JSON output)."),
    ] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """The served workers' URLs with the TLS fingerprints to pin, in assignment order.

    The node checks that each endpoint serves the certificate bound into its quote;
    "pin" is the SHA-256 of that certificate's key (SubjectPublicKeyInfo), or of the
    whole certificate when the quote binds the certificate. "-": nothing to pin (the
    quote binds no certificate, or the endpoint was not checked yet).

    Example:

      worker-manager query endpoints --model llama3.3:70b --output json
    """
    with _client(node) as client:
        found = call(
            output,
            lambda: client.endpoints(model, subscriber=subscriber, evidence=evidence, limit=limit),
        )
    if output is Output.json:
        print_json({"endpoints": [dataclasses.asdict(e) for e in found]})
        return
    table = Table("url", "type", "attestation", "pin", title="endpoints", title_justify="left")
    for endpoint in found:
        pin = endpoint.pin
        status = endpoint.attestation.status if endpoint.attestation else "-"
        table.add_row(
            endpoint.url,
            endpoint.worker_type,
            status,
            f"{pin.kind}:{pin.sha256}" if pin else "-",
        )
    stdout.print(table)


def _worker_row(worker: dict[str, Any]) -> list[str]:
    return [worker["ip_address"], worker["worker_type"], worker["payment_wallet"], worker["url"]]


@app.command()
def workers(
    subscriber: Annotated[
        str | None, typer.Option(help="Keyring key that signs the subscriber proof.")
    ] = None,
    signature: Annotated[str | None, typer.Option(help="A ready proof's signature, hex.")] = None,
    subscriber_public_key: Annotated[
        str | None, typer.Option(help="A ready proof's public key, hex.")
    ] = None,
    proof_time: Annotated[
        int | None, typer.Option(help="A ready time-bound proof's time (unix seconds).")
    ] = None,
    legacy_proof: Annotated[
        bool,
        typer.Option(
            "--legacy-proof",
            help="Sign the original contract's replayable proof instead of a time-bound one.",
        ),
    ] = False,
    permit_name: Annotated[
        str | None,
        typer.Option(
            help="Ask with a SNIP-24 permit of this name, signed by --subscriber "
            "(revocable with tx revoke-permit)."
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only workers this wallet owns.")] = None,
    start_after: Annotated[str | None, typer.Option(help="Page after this address.")] = None,
    limit: Annotated[int | None, typer.Option(help="Page size (max 500).")] = None,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Every worker (one page), for a subscriber that proves its key.

    With --subscriber the proof is time-bound: it names this node's chain and
    contract and the current time, so it cannot be replayed later or elsewhere.
    With --permit-name too, --subscriber signs a SNIP-24 query permit of that name
    for this chain and contract instead (permission "workers"), as Keplr would.

    Example:

      worker-manager query workers --subscriber my-subscriber-key
      worker-manager query workers --subscriber my-subscriber-key --permit-name laptop
    """
    if subscriber is None and (signature is None or subscriber_public_key is None):
        fail("give --subscriber KEY, or --signature and --subscriber-public-key", EXIT_USAGE)
    if permit_name is not None:
        inputs.permit_name(permit_name, "--permit-name")
        if subscriber is None:
            fail("--permit-name needs --subscriber KEY to sign the permit", EXIT_USAGE)
    key = load_key(home, subscriber) if subscriber else None
    with _client(node) as client:

        def ask() -> Workers:
            permit = None
            if permit_name is not None and key is not None:
                info = client.info()
                permit = make_permit(key, permit_name, [info.contract_address], info.chain_id)
            return client.workers(
                subscriber_key=key,
                signature=signature,
                subscriber_public_key=subscriber_public_key,
                proof_time=proof_time,
                legacy_proof=legacy_proof,
                address=owner,
                start_after=start_after,
                limit=limit,
                permit=permit,
            )

        page = call(output, ask)
    data = page.model_dump()
    if output is Output.json:
        print_json(data)
        return
    table = Table("address", "type", "owner", "url", title="workers", title_justify="left")
    for worker in data["workers"]:
        table.add_row(*_worker_row(worker))
    stdout.print(table)
    if data["next_start_after"]:
        stdout.print(f"more: --start-after {data['next_start_after']}")


@app.command()
def worker(
    ip_address: Annotated[str, typer.Argument(help="The worker's address.")],
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """One worker.

    Example:

      worker-manager query worker 10.0.0.1
    """
    with _client(node) as client:
        found = call(output, lambda: client.worker(ip_address)).model_dump()
    if output is Output.json:
        print_json(found)
    else:
        found["attestation_report"] = f"{len(found['attestation_report'])} characters"
        print_fields(f"worker {ip_address}", found)


@app.command()
def config(node: NodeOption = None, output: OutputOption = Output.table) -> None:
    """The contract's settings and admin.

    Example:

      worker-manager query config --output json
    """
    with _client(node) as client:
        data = call(output, client.config).model_dump()
    if output is Output.json:
        print_json(data)
    else:
        print_fields("config", data)


@app.command()
def subscribers(
    start_after: Annotated[str | None, typer.Option(help="Page after this key.")] = None,
    limit: Annotated[int | None, typer.Option(help="Page size.")] = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """The subscriber list.

    Example:

      worker-manager query subscribers
    """
    with _client(node) as client:
        found = call(output, lambda: client.subscribers(start_after=start_after, limit=limit))
    _print_list("subscribers", [s.public_key for s in found], output, "subscribers")


@app.command()
def tx(
    txhash: Annotated[str, typer.Argument(help="The tx hash (hex).")],
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """What a committed tx did: sender, messages, result or error, events.

    Example:

      worker-manager query tx 6F1C...E2
    """
    with _client(node) as client:
        found = call(output, lambda: client.tx(txhash))
    result = found.result
    data = {
        "txhash": result.txhash,
        "height": result.height,
        "sender": found.sender,
        "sequence": found.sequence,
        "messages": found.messages,
        "code": result.code,
        "error": result.error,
        "log": result.log,
        "data": result.data,
        "events": result.events,
        "gas_wanted": result.gas_wanted,
        "gas_used": result.gas_used,
        "fee": found.fee,
        "memo": found.memo,
        "time": result.time,
    }
    if output is Output.json:
        print_json(data)
        return
    for name in ("messages", "data", "events", "fee"):
        data[name] = json.dumps(data[name])
    print_fields("transaction", data)


@app.command()
def account(
    address: Annotated[str, typer.Argument(help="secret1… address.")],
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """An account's number and next sequence.

    Example:

      worker-manager query account secret1...
    """
    with _client(node) as client:
        found = call(output, lambda: client.account(address))
    data = {
        "address": found.address,
        "account_number": found.account_number,
        "sequence": found.sequence,
        "public_key": found.public_key,
    }
    if output is Output.json:
        print_json(data)
    else:
        print_fields("account", data)


@app.command()
def block(
    height: Annotated[str, typer.Argument(help="A height, or latest.")] = "latest",
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """A committed block and its txs.

    Example:

      worker-manager query block latest
    """
    with _client(node) as client:
        data = call(output, lambda: client.block(height))
    if output is Output.json:
        print_json(data)
    else:
        print_fields(f"block {data['height']}", {**data, "txs": len(data["txs"])})


@app.command()
def raw(
    message: Annotated[str, typer.Argument(help="Any query message as JSON.")],
    node: NodeOption = None,
    output: OutputOption = Output.json,
) -> None:
    """Run any query message and print its JSON answer.

    Example:

      worker-manager query raw '{"get_u_r_ls": {"model": "llama3.3:70b"}}'
    """
    msg = inputs.parse_json(message)
    with _client(node) as client:
        print_json(call(output, lambda: client.query(msg)))


@app.command()
def challenge(node: NodeOption = None, output: OutputOption = Output.table) -> None:
    """This epoch's liveliness challenge, and when it expires.

    Example:

      worker-manager query challenge -o json
    """
    with _client(node) as client:
        data = call(output, client.liveliness_challenge).model_dump()
    if output is Output.json:
        print_json(data)
    else:
        print_fields("liveliness challenge", data)


class WorkBy(StrEnum):
    worker = "worker"
    subscriber = "subscriber"
    period = "period"
    wallet = "wallet"
    reports = "reports"


class Format(StrEnum):
    csv = "csv"
    json = "json"


_TOTAL_FIELDS = ("key", "lines", "requests", "input_tokens", "output_tokens")
_REPORT_FIELDS = (
    "period",
    "ip_address",
    "payment_wallet",
    "subscriber",
    "requests",
    "input_tokens",
    "output_tokens",
    "reported_height",
)


@app.command()
def work(
    by: Annotated[
        WorkBy,
        typer.Option(
            help="Sum per worker, subscriber, period or wallet; or list every report line."
        ),
    ] = WorkBy.worker,
    export_format: Annotated[Format, typer.Option("--format", help="csv or json.")] = Format.csv,
    from_period: Annotated[int | None, typer.Option(help="First period (inclusive).")] = None,
    to_period: Annotated[int | None, typer.Option(help="Last period (inclusive).")] = None,
    worker_address: Annotated[str | None, typer.Option("--worker", help="One worker.")] = None,
    subscriber: Annotated[str | None, typer.Option(help="One subscriber.")] = None,
    node: NodeOption = None,
) -> None:
    """Export reported work (for the rewards step), summed or line by line.

    Example:

      worker-manager query work --by wallet --from-period 493674 --format csv > rewards.csv
    """
    output = Output.json if export_format is Format.json else Output.table
    with _client(node) as client:
        if by is WorkBy.reports:
            found = call(output, lambda: client.work_reports(ip_address=worker_address))
            reports = [r.model_dump() for r in found]
            rows = [
                {
                    **{
                        k: r[k]
                        for k in ("period", "ip_address", "payment_wallet", "reported_height")
                    },
                    **line,
                }
                for r in reports
                if (from_period is None or r["period"] >= from_period)
                and (to_period is None or r["period"] <= to_period)
                for line in r["usage"]
                if subscriber is None or line["subscriber"] == subscriber.lower()
            ]
            fields: tuple[str, ...] = _REPORT_FIELDS
        else:
            totals = call(
                output,
                lambda: client.work_totals(
                    by.value,
                    from_period=from_period,
                    to_period=to_period,
                    ip_address=worker_address,
                    subscriber=subscriber,
                ),
            )
            rows = [t.model_dump() for t in totals]
            fields = _TOTAL_FIELDS
    if export_format is Format.json:
        print_json(rows)
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
