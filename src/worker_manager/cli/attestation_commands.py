"""``worker-manager attestation``: verify quotes, manage collateral, RIMs and the policy,
and re-verify workers when the policy or the collateral changes."""

import asyncio
import json
import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

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
    load_key,
    node_url,
    print_fields,
    print_json,
    resolve_home,
    stderr,
)
from worker_manager.client import Client
from worker_manager.home import ensure_home

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


def _home_dir(home: Path | None, sub: str) -> Path:
    target, _ = resolve_home(home)
    ensure_home(target)
    path = target / sub
    path.mkdir(exist_ok=True)
    return path


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


def _own_measurements_policy(report: str, worker_type: str) -> Any:
    """A policy that allows the quote's own measurements: verify the crypto and TCB only."""
    from worker_manager.attestation import AttestationPolicy, decode_report
    from worker_manager.attestation.policy import MeasurementSet, WorkerTypePolicy
    from worker_manager.attestation.quote import parse_quote

    quote = parse_quote(decode_report(report).quote)
    own = MeasurementSet(
        label="this quote",
        mrtd=quote.mrtd,
        rtmr0=quote.rtmr0,
        rtmr1=quote.rtmr1,
        rtmr2=quote.rtmr2,
        rtmr3=quote.rtmr3,
    )
    return AttestationPolicy(
        worker_types={worker_type: WorkerTypePolicy(measurements=(own,))},
        binding="none",
        require_fresh_challenge=False,
        gpu_require_driver_rim=False,
    )


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
    from worker_manager.attestation import (
        AttestationError,
        AttestationPolicy,
        CollateralBundle,
        DirectoryCollateralStore,
        MemoryCollateralStore,
        verify_attestation,
    )
    from worker_manager.attestation.nvidia.rim import MemoryRimStore
    from worker_manager.attestation.policy import PolicyError
    from worker_manager.node.bootstrap import COLLATERAL_DIR, RIMS_DIR

    report = _report_text(report_file)
    # read the home's bundles, but never write to the home: this is an offline check
    target, _ = resolve_home(home)
    home_bundles = target / COLLATERAL_DIR
    store = MemoryCollateralStore(
        list(DirectoryCollateralStore(home_bundles)) if home_bundles.is_dir() else ()
    )
    for path in collateral or []:
        try:
            store.add(CollateralBundle.from_json(_json_text(path, "--collateral")))
        except AttestationError as exc:
            fail(f"{path}: {exc}", EXIT_USAGE)
    try:
        policy = (
            AttestationPolicy.from_json(_json_text(policy_file, "--policy"))
            if policy_file
            else _own_measurements_policy(report, worker_type)
        )
    except PolicyError as exc:
        fail(f"policy: {exc}", EXIT_USAGE)
    except AttestationError as exc:
        fail(f"{report_file}: {exc}")
    rims = MemoryRimStore()
    for path in sorted((target / RIMS_DIR).glob("*.xml")):
        rims.add_xml(path.read_bytes())
    verdict = verify_attestation(
        report,
        collateral=store,
        now=at or int(time.time()),
        policy=policy,
        worker_type=worker_type,
        rims=rims,
    )
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
    from worker_manager.attestation import (
        AttestationError,
        CollateralBundle,
        DirectoryCollateralStore,
    )
    from worker_manager.node.bootstrap import COLLATERAL_DIR

    texts = [_json_text(path, "FILES") for path in files]  # all readable before any is kept
    store = DirectoryCollateralStore(_home_dir(home, COLLATERAL_DIR))
    for path, text in zip(files, texts, strict=True):
        try:
            bundle = CollateralBundle.from_json(text, ca=ca)
        except AttestationError as exc:
            fail(f"{path}: {exc}")
        store.add(bundle)
        stderr.print(
            f"imported {path.name}: FMSPC {bundle.fmspc} ({bundle.ca}), sha256 {bundle.sha256}"
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
    from worker_manager.attestation import AttestationError, DirectoryCollateralStore, decode_report
    from worker_manager.attestation.pccs import fetch_collateral
    from worker_manager.node.bootstrap import COLLATERAL_DIR

    report = _report_text(report_file)
    resolve_home(home)  # a home that cannot be one is refused before the fetch
    try:
        quote = decode_report(report).quote
        bundle = asyncio.run(fetch_collateral(pccs, quote))
    except (OSError, AttestationError) as exc:
        fail(str(exc))
    DirectoryCollateralStore(_home_dir(home, COLLATERAL_DIR)).add(bundle)
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
    from worker_manager.attestation import AttestationError
    from worker_manager.attestation.nvidia.rim import load_driver_rim
    from worker_manager.node.bootstrap import RIMS_DIR

    target = _home_dir(home, RIMS_DIR)
    for path in files:
        try:
            data = path.read_bytes()
            rim = load_driver_rim(data)
        except (OSError, AttestationError) as exc:
            fail(f"{path}: {exc}")
        (target / path.name).write_bytes(data)
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

    def page(client: Client, after: str | None) -> dict[str, Any]:
        found: dict[str, Any] = client.query(
            {"get_worker_addresses": {"start_after": after, "limit": 1000}}
        )
        return found

    def reverify_batch(client: Client, batch: list[str]) -> dict[str, Any]:
        result = client.execute({"reverify_workers": {"ip_addresses": batch}})
        statuses: dict[str, Any] = (result.data or {}).get("statuses", {})
        return statuses

    addresses = [inputs.worker(address, "--worker") for address in worker or []]
    with Client(node_url(node), key=load_key(home, from_key)) as client:
        if not addresses:
            after: str | None = None
            while True:
                found = call(output, partial(page, client, after))
                addresses.extend(found["addresses"])
                after = found["next_start_after"]
                if after is None:
                    break
        totals: dict[str, int] = {}
        for start in range(0, len(addresses), 200):
            statuses = call(output, partial(reverify_batch, client, addresses[start : start + 200]))
            for status, count in statuses.items():
                totals[status] = totals.get(status, 0) + count
    if output is Output.json:
        print_json({"verified": len(addresses), "statuses": totals})
    else:
        stderr.print(
            f"re-verified {len(addresses)} workers: "
            + ", ".join(f"{n} {s}" for s, n in sorted(totals.items()))
        )
