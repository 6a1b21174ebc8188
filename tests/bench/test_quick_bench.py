"""``python -m bench --quick`` runs every section end to end, as CI runs it: real nodes,
a bare Starlette app, etcd, wrk and a PostgreSQL server. Timings are not asserted
(they belong to the full run, bench/README.md); what is asserted is that every figure
was measured, every target judged, and the read paths answered without errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import PG_BIN, unavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _tools_or_skip() -> None:
    missing = [tool for tool in ("wrk", "etcd") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (apt-get install wrk etcd-server)"
        if os.environ.get("CI"):
            pytest.fail(f"the quick benchmark runs in CI, but {reason}")
        pytest.skip(reason)
    if not (PG_BIN / "initdb").exists():
        unavailable(f"no initdb in {PG_BIN}")


def test_the_quick_benchmark_measures_and_judges_everything(tmp_path: Path) -> None:
    _tools_or_skip()
    out = tmp_path / "results"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((out / "latest.json").read_text())

    references = results["references"]
    assert set(references) == {
        "bare_urls_get",
        "bare_query_post",
        "bare_query_encrypted",
        "bare_tx",
        "etcd_put",
        "etcd_range",
    }
    for name, reference in references.items():
        assert reference["requests"] > 0, name
        assert reference["non_2xx"] == 0, name

    reads = results["paths"]["reads"]
    assert reads["urls_per_answer"] > 0
    for path in ("urls_get", "query_post", "query_encrypted"):
        assert reads[path]["requests"] > 0, path
        assert reads[path]["non_2xx"] == 0, path  # a refused read would void the figure
        assert reads[path]["answer_bytes"] == references[f"bare_{path}"]["body_bytes"]
    for path in ("liveliness_known", "liveliness_new", "registration"):
        assert results["paths"][path]["committed"] > 0, path
    assert results["paths"]["liveliness_known"]["known_accounts"] is True
    assert results["paths"]["liveliness_new"]["known_accounts"] is False

    points = {(p["engine"], p["workers"]) for p in results["scale"]}
    assert points == {(e, n) for e in ("sqlite", "postgresql") for n in (100, 1000)}
    for point in results["scale"]:
        assert point["start_s"] > 0
        assert point["rss_mb"] > 0
        assert point["database_mb"] > 0
        assert point["non_2xx"] == 0

    for engine in ("sqlite", "postgresql"):
        run = results["dashboard"][engine]
        assert run["workers"] == 1000
        assert all(page["requests"] > 0 and page["p99_ms"] > 0 for page in run["pages"].values())

    judged = {row["name"]: row for row in results["targets"]}
    # 3 liveliness, 4 reads, 3 per engine on the scale curve, 1 per engine for the dashboard
    assert len(judged) == 15
    assert all(isinstance(row["met"], bool) for row in judged.values())
    table = (out / "latest.md").read_text()
    for name in judged:
        assert f"| {name} |" in table
    for chart in ("scale.png", "throughput.png"):
        assert (out / chart).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), chart
