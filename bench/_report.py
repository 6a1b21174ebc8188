"""What a run found: each ratio beside its target (DESIGN section 9, issue 13), written
as ``latest.json``, a Markdown table (``latest.md``) and PNG charts."""

import json
from pathlib import Path
from typing import Any

#: name, figure, reference, ratio, target, kind ("min": at least; "max": at most), met
Target = dict[str, Any]
TIMES = " \u00d7"


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


def _row(name: str, figure: float, reference: float, target: float, kind: str) -> Target:
    ratio = _ratio(figure, reference)
    met = ratio >= target if kind == "min" else ratio <= target
    return {
        "name": name,
        "figure": figure,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "kind": kind,
        "met": met,
    }


def _liveliness_rows(refs: dict[str, Any], paths: dict[str, Any]) -> list[Target]:
    rows: list[Target] = []
    if "bare_tx" not in refs:
        return rows
    bare_tx = refs["bare_tx"]["req_per_s"]
    for key, label, target in (
        ("liveliness_known", "signed report_liveliness committed, known accounts", 0.11),
        ("liveliness_new", "signed report_liveliness committed, new accounts", 0.055),
    ):
        if key in paths:
            run = paths[key]
            processes = run["node_processes"]
            row = _row(label, run["tx_per_s"], bare_tx, target, "min")
            row["figure_text"] = (
                f"{run['tx_per_s']:,.0f} tx/s ({run['workers']:,} workers, "
                f"{processes} node process{'es' if processes > 1 else ''})"
            )
            row["reference_text"] = f"bare Starlette {bare_tx:,.0f} req/s"
            rows.append(row)
    if "liveliness_known" in paths and "etcd_put" in refs:
        run, put = paths["liveliness_known"], refs["etcd_put"]["req_per_s"]
        row = _row("the same beside etcd's durable puts", run["tx_per_s"], put, 1.0, "min")
        row["figure_text"] = f"{run['tx_per_s']:,.0f} tx/s"
        row["reference_text"] = f"etcd put {put:,.0f}/s"
        rows.append(row)
    return rows


def _read_rows(refs: dict[str, Any], reads: dict[str, Any]) -> list[Target]:
    rows = []
    for key, label, target in (
        ("query_encrypted", "Secret-encrypted get_u_r_ls (/compute/v1beta1/query)", 0.4),
        ("urls_get", "GET /v1/urls", 0.8),
        ("query_post", "POST /v1/query get_u_r_ls", 0.8),
    ):
        run, bare = reads[key], refs[f"bare_{key}"]
        row = _row(f"{label}, req/s", run["req_per_s"], bare["req_per_s"], target, "min")
        row["figure_text"] = f"{run['req_per_s']:,.0f} req/s ({reads['workers']:,} workers)"
        row["reference_text"] = (
            f"bare Starlette (same requests, {bare['body_bytes']:,} B) {bare['req_per_s']:,.0f}/s"
        )
        rows.append(row)
    run, bare = reads["urls_get"], refs["bare_urls_get"]
    row = _row("GET /v1/urls, p99", run["p99_ms"], bare["p99_ms"], 3.0, "max")
    row["figure_text"] = f"{run['p99_ms']:.2f} ms"
    row["reference_text"] = f"bare Starlette {bare['p99_ms']:.2f} ms"
    rows.append(row)
    return rows


def _scale_rows(scale: list[dict[str, Any]]) -> list[Target]:
    rows = []
    for engine in ("sqlite", "postgresql"):
        points = sorted((p for p in scale if p["engine"] == engine), key=lambda p: p["workers"])
        if len(points) < 2:
            continue
        small, large = points[0], points[-1]
        at = f"{large['workers']:,} workers"
        row = _row(
            f"{engine}: p99 of GET /v1/urls at {at} / at {small['workers']:,}",
            large["p99_ms"],
            small["p99_ms"],
            2.0,
            "max",
        )
        row["figure_text"] = f"{large['p99_ms']:.2f} ms"
        row["reference_text"] = f"{small['p99_ms']:.2f} ms"
        rows.append(row)
        row = _row(f"{engine}: node RSS at {at}", large["rss_mb"], 300.0, 1.0, "max")
        row["figure_text"], row["reference_text"] = f"{large['rss_mb']:.0f} MB", "300 MB"
        rows.append(row)
        row = _row(f"{engine}: start at {at}", large["start_s"], 5.0, 1.0, "max")
        row["figure_text"], row["reference_text"] = f"{large['start_s']:.2f} s", "5 s"
        rows.append(row)
    return rows


def _dashboard_rows(dashboard: dict[str, Any]) -> list[Target]:
    """Per engine, the slowest page's p99 against 100 ms (issue 15)."""
    rows = []
    for engine, run in dashboard.items():
        name, page = max(run["pages"].items(), key=lambda item: item[1]["p99_ms"])
        row = _row(
            f"{engine}: dashboard pages' slowest p99 at {run['workers']:,} workers",
            page["p99_ms"],
            100.0,
            1.0,
            "max",
        )
        row["figure_text"] = f"{page['p99_ms']:.1f} ms ({name}; median {page['median_ms']:.1f})"
        row["reference_text"] = "100 ms"
        rows.append(row)
    return rows


def targets(results: dict[str, Any]) -> list[Target]:
    """Every target with the figure, its reference and whether it was met."""
    refs, paths = results["references"], results["paths"]
    rows = _liveliness_rows(refs, paths)
    if "reads" in paths:
        rows += _read_rows(refs, paths["reads"])
    rows += _scale_rows(results.get("scale", []))
    return rows + _dashboard_rows(results.get("dashboard", {}))


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Benchmark results ({'quick' if meta['quick'] else 'full'} run)",
        "",
        f"`{meta['command']}` on {meta['date']}, {meta['machine']}. Every ratio is to a",
        "reference measured in the same run (wrk, "
        f"{meta['connections']} connections, {meta['seconds']} s per figure).",
        "",
        "| figure | node | reference | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["targets"]:
        sign = "≥" if row["kind"] == "min" else "≤"
        lines.append(
            f"| {row['name']} | {row['figure_text']} | {row['reference_text']} | "
            f"{row['ratio']:.3f}{TIMES} | {sign} {row['target']}{TIMES} | "
            f"{'yes' if row['met'] else '**no**'} |"
        )
    refs = results["references"]
    lines += [
        "",
        "## References",
        "",
        "| reference | req/s | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for name, run in refs.items():
        lines.append(
            f"| {name} | {run['req_per_s']:,.0f} | {run['p50_ms']:.2f} | {run['p99_ms']:.2f} |"
        )
    reads = results["paths"].get("reads")
    if reads:
        lines += [
            "",
            f"## Read paths at {reads['workers']:,} workers (SQLite)",
            "",
            "| path | req/s | p50 ms | p99 ms | answer bytes |",
            "|---|---|---|---|---|",
        ]
        for key in ("urls_get", "query_post", "query_encrypted"):
            run = reads[key]
            lines.append(
                f"| {key} | {run['req_per_s']:,.0f} | {run['p50_ms']:.2f} | "
                f"{run['p99_ms']:.2f} | {run['answer_bytes']:,} |"
            )
    writes = [(k, v) for k, v in results["paths"].items() if k != "reads"]
    if writes:
        lines += [
            "",
            "## Write paths (SQLite)",
            "",
            "| path | committed tx/s | committed | accepted req/s | accept p99 ms |",
            "|---|---|---|---|---|",
        ]
        for key, run in writes:
            lines.append(
                f"| {key} | {run['tx_per_s']:,.0f} | {run['committed']:,} | "
                f"{run['accepted']['req_per_s']:,.0f} | {run['accepted']['p99_ms']:.2f} |"
            )
    if results.get("scale"):
        lines += [
            "",
            "## Scale curve (GET /v1/urls, 1,000 subscribers)",
            "",
            "| engine | workers | start s | RSS MB | database MB | req/s | p50 ms | p99 ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in results["scale"]:
            lines.append(
                f"| {p['engine']} | {p['workers']:,} | {p['start_s']:.2f} | {p['rss_mb']:.0f} | "
                f"{p['database_mb']:.1f} | {p['req_per_s']:,.0f} | {p['p50_ms']:.2f} | "
                f"{p['p99_ms']:.2f} |"
            )
    for engine, run in results.get("dashboard", {}).items():
        lines += [
            "",
            f"## Dashboard pages at {run['workers']:,} workers ({engine}, one request at a time)",
            "",
            "| page | median ms | p99 ms | max ms | bytes |",
            "|---|---|---|---|---|",
        ]
        for name, page in run["pages"].items():
            lines.append(
                f"| {name} | {page['median_ms']:.2f} | {page['p99_ms']:.2f} | "
                f"{page['max_ms']:.2f} | {page['bytes']:,} |"
            )
    lines += [
        "",
        "Charts: `scale.png` (latency, memory and start against workers), "
        "`throughput.png` (each path beside its references).",
        "",
    ]
    return "\n".join(lines)


def charts(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    scale = results.get("scale", [])
    if scale:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for engine, style in (("sqlite", "o-"), ("postgresql", "s--")):
            points = sorted((p for p in scale if p["engine"] == engine), key=lambda p: p["workers"])
            xs = [p["workers"] for p in points]
            axes[0].plot(xs, [p["p50_ms"] for p in points], style, label=f"{engine} p50")
            axes[0].plot(xs, [p["p99_ms"] for p in points], style, label=f"{engine} p99", alpha=0.6)
            axes[1].plot(xs, [p["rss_mb"] for p in points], style, label=engine)
            axes[2].plot(xs, [p["start_s"] for p in points], style, label=engine)
        for ax, title, ylabel in (
            (axes[0], "GET /v1/urls latency", "ms"),
            (axes[1], "node resident memory", "MB"),
            (axes[2], "start (serve to first answer)", "s"),
        ):
            ax.set_xscale("log")
            ax.set_xlabel("workers")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        axes[1].axhline(300, color="red", linewidth=0.8, linestyle=":")
        axes[2].axhline(5, color="red", linewidth=0.8, linestyle=":")
        fig.tight_layout()
        path = out / "scale.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    bars: list[tuple[str, float, str]] = []
    for name, run in results["references"].items():
        bars.append((name, run["req_per_s"], "#999999"))
    reads = results["paths"].get("reads", {})
    for key in ("urls_get", "query_post", "query_encrypted"):
        if key in reads:
            bars.append((key, reads[key]["req_per_s"], "#1f77b4"))
    for key, run in results["paths"].items():
        if key != "reads":
            bars.append((f"{key} (committed)", run["tx_per_s"], "#2ca02c"))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(bars) + 1.2))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(
        "per second (log scale): grey = references, blue = node reads, green = node writes"
    )
    ax.set_title("Throughput beside the references, one run")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / "throughput.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written


def write(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(markdown(results))
    return [out / "latest.json", out / "latest.md", *charts(results, out)]
