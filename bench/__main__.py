"""Every figure of DESIGN section 9 beside its reference, measured in one run.

    python -m bench            # the full run: about 10 minutes on 2 cores
    python -m bench --quick    # every section at small sizes, under 2 minutes

It starts real ``worker-manager`` nodes in temporary homes (SQLite, and PostgreSQL
for the scale curve: the machine's own ``initdb``/``pg_ctl``), a bare Starlette app
serving the same bytes, and etcd (Debian's ``etcd-server``: one member, durable),
loads each with wrk (``apt-get install wrk``) from this machine, and writes
``latest.json``, ``latest.md`` (each ratio beside its target) and PNG charts to
``--out``. Absolute rates differ between machines; read the ratios.
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.postgres, for the PostgreSQL server

from bench import _dashboard, _reads, _references, _report, _scale, _writes  # noqa: E402

SECTIONS = ("references", "reads", "liveliness", "registration", "scale", "dashboard")


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, 1-second runs")
    parser.add_argument(
        "--out",
        type=Path,
        help="where results go (default bench/results, or bench/results/quick with --quick)",
    )
    parser.add_argument("--seconds", type=float, help="seconds per figure (default 10; quick 1)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--workers",
        type=int,
        help="workers for reads and liveliness (default 100,000; quick 1,000)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="node processes for liveliness (serve --workers N; default 2)",
    )
    parser.add_argument(
        "--scale",
        help="worker counts of the scale curve, comma-separated "
        "(default 100,1000,10000,100000; quick 100,1000)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); references always run",
    )
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (1.0 if args.quick else 10.0)
    args.workers = args.workers or (1000 if args.quick else 100_000)
    args.scale = [
        int(n)
        for n in (args.scale or ("100,1000" if args.quick else "100,1000,10000,100000")).split(",")
    ]
    args.out = args.out or ROOT / "bench" / "results" / ("quick" if args.quick else "")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wanted = set(args.only or SECTIONS) | {"references"}
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "command": shlex.join(
                ["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)]
            ),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine(),
            "quick": args.quick,
            "seconds": args.seconds,
            "connections": args.connections,
        },
        "references": {},
        "paths": {},
    }
    seconds, connections = args.seconds, args.connections

    def step(what: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {what}", flush=True)

    if "reads" in wanted:
        step(f"read paths at {args.workers:,} workers, each beside bare Starlette")
        reads, references = _reads.read_paths(
            args.workers, seconds, connections, rounds=1 if args.quick else 3
        )
        results["paths"]["reads"] = reads
        results["references"].update(references)
    if "liveliness" in wanted:
        for known in (True, False):
            step(f"liveliness, {'known' if known else 'new'} accounts, {args.workers:,} workers")
            run, reference = _writes.liveliness(
                args.workers,
                seconds,
                connections,
                known_accounts=known,
                processes=args.processes,
                with_reference=known,
            )
            results["paths"]["liveliness_known" if known else "liveliness_new"] = run
            if reference is not None:
                results["references"]["bare_tx"] = reference
    if "registration" in wanted:
        step("registration")
        results["paths"]["registration"] = _writes.registration(
            max(2000, int(seconds * 4000)), seconds, connections
        )
    if "scale" in wanted:
        step(f"scale curve at {args.scale}")
        results["scale"] = _scale.scale_curve(args.scale, seconds, connections)
    if "dashboard" in wanted:
        step(f"dashboard pages at {args.workers:,} workers")
        results["dashboard"] = _dashboard.dashboard(args.workers, 20 if args.quick else 200)
    step("etcd: durable puts and reads")
    results["references"].update(_references.etcd_runs(seconds, connections, value_bytes=100))
    results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
    written = _report.write(results, args.out)
    print((args.out / "latest.md").read_text())
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
