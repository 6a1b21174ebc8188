"""``worker-manager attestation``: verify quotes, manage collateral, RIMs and the policy,
and re-verify workers when the policy or the collateral changes."""

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from worker_manager.cli import inputs
from worker_manager.cli.client_calls import call
from worker_manager.cli.common import (
    EXIT_REFUSED,
    EXIT_USAGE,
    FromOption,
    HomeOption,
    NodeOption,
    Output,
    OutputOption,
    fail,
    keyring,
    load_key,
    node_url,
    print_fields,
    print_json,
    resolve_home,
    stderr,
    workflow,
)
from worker_manager.client import Client
from worker_manager.keys.keyring import KeyringError

app = typer.Typer(
    help="Verify attestation quotes; manage collateral, NVIDIA RIMs and the policy.",
    no_args_is_help=True,
)
collateral_app = typer.Typer(
    help="Intel collateral bundles in the node's home.", no_args_is_help=True
)
policy_app = typer.Typer(help="The contract's attestation policy.", no_args_is_help=True)
rim_app = typer.Typer(help="Signed NVIDIA driver RIMs in the node's home.", no_args_is_help=True)
app.add_typer(collateral_app, name="collateral")
app.add_typer(policy_app, name="policy")
app.add_typer(rim_app, name="rim")


def _report_text(path: Path) -> str:
    """A report file's text: hex, base64 or JSON as written, a binary quote as hex."""
    raw = inputs.read_bytes(path, "REPORT_FILE")
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return raw.hex()  # a binary quote


def _json_text(path: Path, name: str) -> str:
    """A JSON file's text, once the contract's JSON rules (depth, Unicode) accept it."""
    text = inputs.read_text(path, name)
    inputs.parse_json(text, f"{name} {path}")
    return text


@app.command()
def verify(
    report_file: Annotated[
        Path,
        typer.Argument(help="The attestation report: hex, base64, binary quote, or JSON envelope."),
    ],
    collateral: Annotated[
        list[Path] | None,
        typer.Option("--collateral", help="Collateral bundle file(s), dcap-qvl JSON layout."),
    ] = None,
    at: Annotated[int | None, typer.Option(help="Verify at this Unix time (default: now).")] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Policy JSON (default: check crypto and TCB, allow its measurements)."
        ),
    ] = None,
    worker_type: Annotated[str, typer.Option(help="Worker type the policy is read for.")] = "any",
    home: HomeOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify an attestation report offline and print a readable verdict.

    Collateral comes from --collateral files and the home's collateral store.
    Exit code 0 when the verdict is valid, 1 otherwise.

    Example:

      worker-manager attestation verify quote.hex --collateral coll.json --at 1751328000
    """
    from worker_manager.application.attestation import OfflineCheck, verify_report

    report = _report_text(report_file)
    target, _ = resolve_home(home)  # read, never written: this is an offline check
    check = OfflineCheck(
        collateral_texts=[(str(p), _json_text(p, "--collateral")) for p in collateral or []],
        policy_text=_json_text(policy_file, "--policy") if policy_file else None,
        worker_type=worker_type,
    )
    with workflow():
        verdict = verify_report(target, report, check, now=at or int(time.time()))
    if json_output:
        print_json(json.loads(verdict.to_json()))
    else:
        shown = {
            k: v
            for k, v in json.loads(verdict.to_json()).items()
            if v not in (None, [], "") and k not in ("gpu", "verdict_version")
        }
        print_fields(f"verdict: {verdict.status.value}", shown)
        if verdict.gpu is not None:
            print_fields("gpu", json.loads(json.dumps(verdict.gpu, default=lambda o: o.__dict__)))
    if not verdict.is_valid:
        raise typer.Exit(EXIT_REFUSED)


@collateral_app.command("import")
def collateral_import(
    files: Annotated[list[Path], typer.Argument(help="Bundle files (dcap-qvl JSON layout).")],
    ca: Annotated[str | None, typer.Option(help="platform or processor, if not inferable.")] = None,
    home: HomeOption = None,
) -> None:
    """Import collateral bundles into the home, for offline verification.

    Example:

      worker-manager attestation collateral import tdx_collateral.json --home ~/wm
    """
    from worker_manager.application.attestation import import_collateral

    texts = [(path.name, _json_text(path, "FILES")) for path in files]
    target, _ = resolve_home(home)
    with workflow():
        for (name, _text), bundle in zip(
            texts, import_collateral(target, texts, ca=ca), strict=True
        ):
            stderr.print(
                f"imported {name}: FMSPC {bundle.fmspc} ({bundle.ca}), sha256 {bundle.sha256}"
            )


@collateral_app.command("fetch")
def collateral_fetch(
    report_file: Annotated[Path, typer.Argument(help="A quote of the platform to fetch for.")],
    pccs: Annotated[str, typer.Option(help="PCCS (or Intel PCS) base URL.")],
    home: HomeOption = None,
) -> None:
    """Fetch the collateral bundle for a quote's platform from a PCCS into the home.

    Example:

      worker-manager attestation collateral fetch quote.hex --pccs https://pccs.example:8081
    """
    from worker_manager.application.attestation import fetch_collateral_into

    report = _report_text(report_file)
    target, _ = resolve_home(home)  # a home that cannot be one is refused before the fetch
    with workflow():
        bundle = fetch_collateral_into(target, report, pccs)
    stderr.print(f"fetched FMSPC {bundle.fmspc} ({bundle.ca}), sha256 {bundle.sha256}")


@rim_app.command("import")
def rim_import(
    files: Annotated[list[Path], typer.Argument(help="Signed NVIDIA driver RIM XML files.")],
    home: HomeOption = None,
) -> None:
    """Import signed NVIDIA driver RIMs (checked first) into the home.

    Example:

      worker-manager attestation rim import NV_GPU_DRIVER_GH100_550.144.03.xml
    """
    from worker_manager.application.attestation import import_rim

    target, _ = resolve_home(home)
    for path in files:
        data = inputs.read_bytes(path, "FILES")
        with workflow():
            rim = import_rim(target, path.name, data)
        stderr.print(f"imported {path.name}: driver {rim.version}")


@policy_app.command("set")
def policy_set(
    policy_file: Annotated[
        Path, typer.Argument(help="Policy JSON (see docs/attestation.md); 'none' clears it.")
    ],
    from_key: FromOption,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Set the contract's attestation policy (admin). Then run: attestation reverify.

    Example:

      worker-manager attestation policy set policy.json --from admin
    """
    if str(policy_file) == "none":
        policy = None
    else:
        policy = inputs.parse_json(inputs.read_text(policy_file, "POLICY_FILE"), str(policy_file))
    msg = inputs.check_message({"set_attestation_policy": {"policy": policy}})
    with Client(node_url(node), key=load_key(home, from_key)) as client:
        result = call(output, lambda: client.execute(msg))
    stderr.print(f"policy {'set' if policy else 'cleared'} at height {result.height}")


@policy_app.command("show")
def policy_show(node: NodeOption = None) -> None:
    """Print the contract's attestation policy (null when none is set).

    Example:

      worker-manager attestation policy show
    """
    with Client(node_url(node)) as client:
        print_json(call(Output.json, lambda: client.query({"get_attestation_policy": {}})))


@app.command("report-data")
def report_data(
    payment_wallet: Annotated[
        str, typer.Option("--wallet", help="secret1… the worker registers as its owner.")
    ],
    worker_key: Annotated[
        str,
        typer.Option(help="The worker key: its public key (33 bytes, hex) or a keyring name."),
    ],
    certificate: Annotated[
        Path | None,
        typer.Option(help="Bind this TLS certificate's key too (PEM or DER file): v2."),
    ] = None,
    certificate_from_url: Annotated[
        str | None,
        typer.Option(help="Bind the key of the certificate this https URL serves (v2)."),
    ] = None,
    gpu: Annotated[
        bool,
        typer.Option("--gpu", help="The quote goes with GPU evidence (second half: its nonce)."),
    ] = False,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """The 64 report_data bytes (hex) a worker's TD puts in its quote (worker_key binding).

    They commit to the node's chain id, the worker key, the payment wallet and this
    epoch's liveliness challenge (read from the node), and with --certificate or
    --certificate-from-url to that TLS certificate's key, so the node checks and
    pins the worker's endpoint (binding worker_key:tls). Ask the TD for the quote at
    once: under require_fresh_challenge a quote is good for about two epochs.

    Example:

      worker-manager attestation report-data --wallet secret1... --worker-key worker1
        --certificate-from-url https://10.0.0.1:21434
    """
    from worker_manager.agent.registration import served_certificate
    from worker_manager.attestation import WorkerKeyBinding, expected_report_data
    from worker_manager.attestation.binding import tls_spki_sha256
    from worker_manager.attestation.errors import AttestationError

    if certificate is not None and certificate_from_url is not None:
        fail("give --certificate or --certificate-from-url, not both", EXIT_USAGE)
    wallet = inputs.account(payment_wallet, "--wallet")
    public_key = _worker_public_key(home, worker_key)
    tls_key = None
    try:
        if certificate is not None:
            tls_key = tls_spki_sha256(inputs.read_bytes(certificate, "--certificate"))
        elif certificate_from_url is not None:
            pem = served_certificate(certificate_from_url)
            tls_key = tls_spki_sha256(pem.encode())
    except (AttestationError, OSError, ValueError) as exc:
        fail(f"cannot read the TLS certificate: {exc}", EXIT_USAGE)
    with Client(node_url(node)) as client:
        info = call(output, client.info)
        challenge = call(output, client.liveliness_challenge)
    try:
        binding = WorkerKeyBinding(
            chain_id=info.chain_id,
            worker_pubkey=public_key,
            payment_wallet=wallet,
            challenge=bytes.fromhex(challenge.challenge),
            tls_spki_sha256=tls_key,
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    data = expected_report_data(binding, gpu=gpu).hex()
    found = {
        "report_data": data,
        "binding": "worker_key" if tls_key is None else "worker_key:tls",
        "challenge": challenge.challenge,
        "epoch": challenge.epoch,
        "expires_at": challenge.expires_at,
    }
    if output is Output.json:
        print_json(found)
    else:
        sys.stdout.write(data + "\n")


def _worker_public_key(home: Path | None, given: str) -> bytes:
    """33 bytes from hex, or the public key of that keyring key (no passphrase needed)."""
    if len(given) == 66:
        try:
            return bytes.fromhex(given)
        except ValueError:
            pass
    try:
        return keyring(home).show(given).public_key
    except KeyringError as exc:
        fail(f"--worker-key {given}: not a 33-byte public key in hex, nor a key: {exc}", EXIT_USAGE)


@app.command()
def reverify(
    from_key: FromOption,
    worker: Annotated[list[str] | None, typer.Option(help="Only these workers.")] = None,
    home: HomeOption = None,
    node: NodeOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Verify workers' reports again under the current policy and collateral (admin).

    Every worker by default, 200 per transaction; each verdict is recorded.

    Example:

      worker-manager attestation reverify --from admin
    """

    from worker_manager.application.attestation import reverify_workers

    addresses = [inputs.worker(address, "--worker") for address in worker or []]
    with Client(node_url(node), key=load_key(home, from_key)) as client:
        count, totals = call(output, lambda: reverify_workers(client, addresses or None))
    if output is Output.json:
        print_json({"verified": count, "statuses": totals})
    else:
        stderr.print(
            f"re-verified {count} workers: "
            + ", ".join(f"{n} {s}" for s, n in sorted(totals.items()))
        )
