"""wrk, the load generator (Debian's ``wrk``), run and read."""

import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return binary


def _ms(report: str, label: str) -> float:
    match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {label}% latency in wrk's report:\n{report}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    script: str | None = None,
    args: tuple[str, ...] = (),
) -> dict[str, float]:
    """Requests per second, p50/p99 latency (ms) and non-2xx answers of one wrk run.

    ``script`` names a Lua file in this directory; ``args`` are passed to it."""
    command = [wrk_binary(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if script is not None:
        command += ["-s", str(HERE / script)]
    report = subprocess.run(
        [*command, url, "--", *args], check=True, capture_output=True, text=True
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    total = re.search(r"(\d+) requests in", report)
    if rate is None or total is None:
        raise RuntimeError(f"wrk's report has no rate:\n{report}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    return {
        "req_per_s": round(float(rate.group(1)), 1),
        "requests": int(total.group(1)),
        "p50_ms": _ms(report, "50"),
        "p99_ms": _ms(report, "99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }
