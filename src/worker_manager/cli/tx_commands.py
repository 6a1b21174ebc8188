"""``worker-manager tx``: sign an execute message with a keyring key and send it.

Each command waits for the tx's block and prints its hash and height; a
refusal (by the node's checks or by the contract) exits with code 1 and says why.
Addresses, worker types, URLs and JSON are checked before the key is loaded
(exit code 2), so a typo never costs a sequence number.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from worker_manager.cli import inputs
from worker_manager.cli.client_calls import call, show_tx
from worker_manager.cli.common import (
    EXIT_USAGE,
    FromOption,
    HomeOption,
    NodeOption,
    Output,
    OutputOption,
    fail,
    load_key,
    node_url,
)
from worker_manager.client import Client, TxResult

app = typer.Typer(
    help="Sign and send execute messages (register and manage workers, admin actions).",
    no_args_is_help=True,
)

Ip = Annotated[str, typer.Argument(help="Worker address: host or IP, optional :port.")]
_BINARY_REPORT_HINT = (
    "; give the report as hex, base64 or a JSON envelope (for a binary quote: "
    "xxd -p quote.bin | tr -d '\\n' > quote.hex)"
)


def _send(
    home: Path | None, key_name: str, node: str | None, output: Output, msg: dict[str, Any]
) -> None:
    key = load_key(home, key_name)
    with Client(node_url(node), key=key) as client:
        result: TxResult = call(output, lambda: client.execute(msg))
    show_tx(result, output)


def _fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@app.command("register-worker")
def register_worker(
    ip_address: Ip,
    payment_wallet: Annotated[str, typer.Option("--wallet", help="secret1… owner of the worker.")],
    worker_type: Annotated[str, typer.Option("--type", help="Model served, e.g. llama3.3:70b.")],
    from_key: FromOption,
    report: Annotated[str | None, typer.Option(help="Attestation report text.")] = None,
    report_file: Annotated[
        Path | None, typer.Option(help="Read the attestation report from this file.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="The worker's URL (else the template).")] = None,
    worker_key: Annotated[str | None, typer.Option(help="Worker public key, hex.")] = None,
    capacity: Annotated[int | None, typer.Option(help="Relative capacity (default 1).")] = None,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Register a worker (admin, or anyone when registration is open).

    Example:

      worker-manager tx register-worker 10.0.0.1 --wallet secret1... --type llama3.3:70b \\
          --report-file quote.hex --from admin
    """
    if (report is None) == (report_file is None):
        fail(
            "give the attestation report with exactly one of --report or --report-file", EXIT_USAGE
        )
    inputs.worker(ip_address, "IP_ADDRESS")
    inputs.account(payment_wallet, "--wallet")
    inputs.model(worker_type, "--type")
    if url is not None:
        inputs.url(url, "--url")
    text = (
        report
        if report_file is None
        else inputs.read_text(report_file, "--report-file", hint=_BINARY_REPORT_HINT).strip()
    )
    body = _fields(
        ip_address=ip_address,
        payment_wallet=payment_wallet,
        attestation_report=text,
        worker_type=worker_type,
        url=url,
        worker_public_key=worker_key,
        capacity=capacity,
    )
    _send(home, from_key, node, output, {"register_worker": body})


@app.command("set-worker-wallet")
def set_worker_wallet(
    ip_address: Ip,
    payment_wallet: Annotated[str, typer.Argument(help="The new owner, secret1….")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Hand a worker you own to another payment wallet.

    Example:

      worker-manager tx set-worker-wallet 10.0.0.1 secret1... --from operator
    """
    inputs.worker(ip_address, "IP_ADDRESS")
    inputs.account(payment_wallet, "PAYMENT_WALLET")
    msg = {"set_worker_wallet": {"ip_address": ip_address, "payment_wallet": payment_wallet}}
    _send(home, from_key, node, output, msg)


@app.command("set-worker-address")
def set_worker_address(
    old_ip_address: Annotated[str, typer.Argument(help="The worker's current address.")],
    new_ip_address: Annotated[str, typer.Argument(help="Its new, free address.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Move a worker you own to a free address.

    Example:

      worker-manager tx set-worker-address 10.0.0.1 10.0.0.2 --from operator
    """
    inputs.worker(old_ip_address, "OLD_IP_ADDRESS")
    inputs.worker(new_ip_address, "NEW_IP_ADDRESS")
    msg = {
        "set_worker_address": {"old_ip_address": old_ip_address, "new_ip_address": new_ip_address}
    }
    _send(home, from_key, node, output, msg)


@app.command("set-worker-type")
def set_worker_type(
    ip_address: Ip,
    worker_type: Annotated[str, typer.Argument(help="The model it serves now.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Change the model a worker you own serves.

    Example:

      worker-manager tx set-worker-type 10.0.0.1 deepseek-r1:70b --from operator
    """
    inputs.worker(ip_address, "IP_ADDRESS")
    inputs.model(worker_type, "WORKER_TYPE")
    msg = {"set_worker_type": {"ip_address": ip_address, "worker_type": worker_type}}
    _send(home, from_key, node, output, msg)


@app.command("set-worker-url")
def set_worker_url(
    ip_address: Ip,
    from_key: FromOption,
    url: Annotated[str | None, typer.Argument(help="The new URL; omit with --clear.")] = None,
    clear: Annotated[bool, typer.Option(help="Use the config's URL template again.")] = False,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Set the URL of a worker you own (or --clear it).

    Example:

      worker-manager tx set-worker-url 10.0.0.1 https://gpu1.example.com:21434 --from operator
    """
    if (url is None) == (not clear):
        fail("give a URL, or --clear", EXIT_USAGE)
    inputs.worker(ip_address, "IP_ADDRESS")
    if url is not None:
        inputs.url(url, "URL")
    _send(home, from_key, node, output, {"set_worker_url": {"ip_address": ip_address, "url": url}})


@app.command("remove-worker")
def remove_worker(
    ip_address: Ip,
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Remove a worker (its owner, or the admin).

    Example:

      worker-manager tx remove-worker 10.0.0.1 --from operator
    """
    inputs.worker(ip_address, "IP_ADDRESS")
    _send(home, from_key, node, output, {"remove_worker": {"ip_address": ip_address}})


@app.command("set-worker-paused")
def set_worker_paused(
    ip_address: Ip,
    from_key: FromOption,
    paused: Annotated[
        bool, typer.Option("--paused/--resume", help="Take it out of service, or put it back.")
    ] = True,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Take a worker you own out of service (maintenance), or --resume it.

    Example:

      worker-manager tx set-worker-paused 10.0.0.1 --paused --from operator
    """
    inputs.worker(ip_address, "IP_ADDRESS")
    msg = {"set_worker_paused": {"ip_address": ip_address, "paused": paused}}
    _send(home, from_key, node, output, msg)


@app.command("propose-admin")
def propose_admin(
    new_admin: Annotated[str, typer.Argument(help="secret1… that will accept the role.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Offer the admin role; it moves when the new account runs accept-admin.

    Example:

      worker-manager tx propose-admin secret1... --from admin
    """
    inputs.account(new_admin, "NEW_ADMIN")
    _send(home, from_key, node, output, {"propose_admin": {"new_admin": new_admin}})


@app.command("accept-admin")
def accept_admin(
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Take the admin role proposed to your account.

    Example:

      worker-manager tx accept-admin --from new-admin
    """
    _send(home, from_key, node, output, {"accept_admin": {}})


@app.command("cancel-admin-proposal")
def cancel_admin_proposal(
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Withdraw an open admin proposal.

    Example:

      worker-manager tx cancel-admin-proposal --from admin
    """
    _send(home, from_key, node, output, {"cancel_admin_proposal": {}})


@app.command("add-subscriber")
def add_subscriber(
    public_key: Annotated[str, typer.Argument(help="Subscriber public key, hex (33 bytes).")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Put a subscriber key on the list.

    Example:

      worker-manager tx add-subscriber 02ab... --from admin
    """
    _send(home, from_key, node, output, {"add_subscriber": {"public_key": public_key}})


@app.command("remove-subscriber")
def remove_subscriber(
    public_key: Annotated[str, typer.Argument(help="Subscriber public key, hex.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Take a subscriber key off the list.

    Example:

      worker-manager tx remove-subscriber 02ab... --from admin
    """
    _send(home, from_key, node, output, {"remove_subscriber": {"public_key": public_key}})


@app.command("set-config")
def set_config(
    from_key: FromOption,
    registration_mode: Annotated[
        str | None, typer.Option(help="Who may register: admin or open.")
    ] = None,
    url_template: Annotated[str | None, typer.Option(help="e.g. https://{host}:21434")] = None,
    max_attestation_report_bytes: Annotated[
        int | None, typer.Option(help="Cap on attestation reports.")
    ] = None,
    require_listed_subscribers: Annotated[
        bool | None,
        typer.Option(
            "--require-listed-subscribers/--any-subscriber",
            help="Whether get_workers answers listed subscribers only.",
        ),
    ] = None,
    epoch_seconds: Annotated[
        int | None, typer.Option(help="Liveliness epoch length in seconds.")
    ] = None,
    grace_epochs: Annotated[
        int | None, typer.Option(help="Epochs a worker may miss and still be served.")
    ] = None,
    offline_after_epochs: Annotated[
        int | None, typer.Option(help="Missed epochs after which a worker shows offline.")
    ] = None,
    work_period_seconds: Annotated[
        int | None, typer.Option(help="Work-report period length in seconds.")
    ] = None,
    work_report_window_periods: Annotated[
        int | None, typer.Option(help="How many past periods may still be reported.")
    ] = None,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Change contract settings; the ones you omit stay as they are.

    Example:

      worker-manager tx set-config --url-template 'https://{host}:21434' --from admin

      worker-manager tx set-config --epoch-seconds 30 --work-period-seconds 600 --from admin
    """
    body = _fields(
        registration_mode=registration_mode,
        url_template=url_template,
        max_attestation_report_bytes=max_attestation_report_bytes,
        require_listed_subscribers=require_listed_subscribers,
        epoch_seconds=epoch_seconds,
        grace_epochs=grace_epochs,
        offline_after_epochs=offline_after_epochs,
        work_period_seconds=work_period_seconds,
        work_report_window_periods=work_report_window_periods,
    )
    _send(home, from_key, node, output, {"set_config": body})


@app.command()
def pause(
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Stop every non-admin execute until unpause.

    Example:

      worker-manager tx pause --from admin
    """
    _send(home, from_key, node, output, {"pause": {}})


@app.command()
def unpause(
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Resume after pause.

    Example:

      worker-manager tx unpause --from admin
    """
    _send(home, from_key, node, output, {"unpause": {}})


@app.command("revoke-permit")
def revoke_permit(
    permit_name: Annotated[str, typer.Argument(help="The name of the permits to revoke.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Revoke your SNIP-24 query permits of this name (signed by the --from key).

    From the next block on, a permit of that name signed by that key is refused;
    other accounts' permits of the same name are not affected.

    Example:

      worker-manager tx revoke-permit laptop --from my-subscriber-key
    """
    inputs.permit_name(permit_name, "permit name")
    _send(home, from_key, node, output, {"revoke_permit": {"permit_name": permit_name}})


@app.command()
def execute(
    message: Annotated[str, typer.Argument(help="Any execute message as JSON.")],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Send any execute message, given as JSON.

    Example:

      worker-manager tx execute '{"remove_worker": {"ip_address": "10.0.0.1"}}' --from admin
    """
    msg = inputs.parse_json(message)
    if not isinstance(msg, dict):
        fail('the message must be a JSON object like {"pause": {}}', EXIT_USAGE)
    _send(home, from_key, node, output, msg)
