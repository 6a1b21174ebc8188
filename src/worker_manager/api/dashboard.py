"""The operator's dashboard: server-rendered pages at ``/`` and ``/dashboard/*``.

Read-only (GET only), escaped everywhere (Jinja2 with autoescaping: worker types and
URLs are anyone's input), under a Content-Security-Policy that allows no inline script,
and refreshed by one small vendored script (``static/dashboard.js``). It can be turned
off (``[dashboard] enabled = false``): then none of these routes exist.

Who sees what (docs/dashboard.md): ``/`` shows aggregates only (counts by status and
type, models, height, tx rate, epoch, collateral age), which the public queries give
anyone. Every ``/dashboard/*`` page (the workers table with owners, one worker, blocks
and txs, config) needs the operator token: ``?token=`` once, which sets an HttpOnly
cookie and redirects to the same page without it. ``get_workers``, the full list with
owners, needs a subscriber proof in the contract; the table gives no more than that
to anyone without the token.
"""

import hmac
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from worker_manager.node import Node
from worker_manager.node.dashboard import STATUSES, DashboardReads

COOKIE = "wm_dashboard"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ATTESTATION_STATUSES = ("unchecked", "valid", "rejected", "unverified", "not_attested")
_HERE = Path(__file__).resolve().parent
#: Nothing inline, nothing from elsewhere; the page's own script and styles only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """``[dashboard]`` as the app needs it: the operator token and the refresh period."""

    token: str
    refresh_s: int = 10


def _utc(ns_or_s: int | None, *, seconds: bool = False) -> str:
    if ns_or_s is None:
        return "never"
    value = ns_or_s if seconds else ns_or_s / 1e9
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # every value is escaped unless a template says otherwise
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = _utc
    env.filters["utc_s"] = lambda s: _utc(s, seconds=True)
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


_TEMPLATES = _environment()
_STATIC = {path.name: path.read_bytes() for path in (_HERE / "static").iterdir() if path.is_file()}


def _reads(request: Request) -> DashboardReads:
    reads: DashboardReads = request.app.state.dashboard_reads
    return reads


def _options(request: Request) -> DashboardOptions:
    options: DashboardOptions = request.app.state.dashboard
    return options


def _authorised(request: Request) -> bool:
    token = _options(request).token
    cookie = request.cookies.get(COOKIE, "")
    return bool(token) and hmac.compare_digest(cookie.encode(), token.encode())


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    options = _options(request)
    body = _TEMPLATES.get_template(template).render(
        refresh_s=options.refresh_s,
        authorised=_authorised(request),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _token_step(request: Request) -> Response | None:
    """``?token=``: a redirect that sets the cookie (or a 401 for a wrong token)."""
    given = request.query_params.get("token")
    if given is None:
        return None
    token = _options(request).token
    if not (token and hmac.compare_digest(given.encode(), token.encode())):
        return _page(request, "locked.html", 401, wrong=True)
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
    answer = RedirectResponse(target, status_code=303, headers=HEADERS)
    answer.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return answer


def _gate(request: Request) -> Response | None:
    """The answer that stands in for a token-only page (None: go ahead)."""
    step = _token_step(request)
    if step is not None:
        return step
    if not _authorised(request):
        return _page(request, "locked.html", 401, wrong=False)
    return None


router = APIRouter(include_in_schema=False)


@router.get("/")
async def summary(request: Request) -> Response:
    step = _token_step(request)
    if step is not None:
        return step
    found = await run_in_threadpool(_reads(request).summary)
    return _page(request, "summary.html", summary=found, now_s=int(time.time()))


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("/dashboard/workers")
async def workers(request: Request) -> Response:
    gate = _gate(request)
    if gate is not None:
        return gate
    params = request.query_params
    limit_text = params.get("limit", "")
    limit = int(limit_text) if limit_text.isdigit() else PAGE_SIZE
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    filters = {
        "q": (params.get("q") or "").strip()[:300] or None,
        "status": _choice(params.get("status"), STATUSES),
        "type": (params.get("type") or None),
        "attestation": _choice(params.get("attestation"), ATTESTATION_STATUSES),
    }
    after = params.get("after") or None
    page = await run_in_threadpool(
        lambda: _reads(request).workers(
            after=after,
            limit=limit,
            prefix=filters["q"],
            worker_type=filters["type"],
            status=filters["status"],
            attestation=filters["attestation"],
        )
    )
    kept = {k: v for k, v in filters.items() if v}
    if limit != PAGE_SIZE:
        kept["limit"] = str(limit)
    next_url = None
    if page.next_after is not None:
        next_url = "/dashboard/workers?" + urlencode({**kept, "after": page.next_after})
    first_url = "/dashboard/workers" + (f"?{urlencode(kept)}" if kept else "")
    return _page(
        request,
        "workers.html",
        page=page,
        filters=filters,
        statuses=STATUSES,
        attestations=ATTESTATION_STATUSES,
        next_url=next_url,
        first_url=first_url if after else None,
        now_s=int(time.time()),
    )


def _bars(work: list[tuple[int, int]], width: int = 480, height: int = 120) -> list[dict[str, Any]]:
    """The work chart's bars: x, y, width and height in the SVG's units."""
    if not work:
        return []
    top = max(requests for _p, requests in work) or 1
    step = width / len(work)
    bars = []
    for i, (period, requests) in enumerate(work):
        h = math.ceil(requests / top * (height - 20))
        bars.append(
            {
                "x": round(i * step + 1, 1),
                "y": height - h,
                "w": round(max(step - 2, 1), 1),
                "h": h,
                "period": period,
                "requests": requests,
            }
        )
    return bars


@router.get("/dashboard/workers/{address:path}")
async def worker(request: Request, address: str) -> Response:
    gate = _gate(request)
    if gate is not None:
        return gate
    detail = await run_in_threadpool(_reads(request).worker, address)
    if detail is None:
        return _page(request, "missing.html", 404, address=address)
    return _page(request, "worker.html", detail=detail, bars=_bars(detail.work))


@router.get("/dashboard/blocks")
async def blocks(request: Request) -> Response:
    gate = _gate(request)
    if gate is not None:
        return gate
    view = await run_in_threadpool(_reads(request).blocks)
    return _page(request, "blocks.html", view=view)


@router.get("/dashboard/config")
async def config(request: Request) -> Response:
    gate = _gate(request)
    if gate is not None:
        return gate
    found, policy, collateral = await run_in_threadpool(_reads(request).config)
    return _page(request, "config.html", config=found, policy=policy, collateral=collateral)


@router.get("/dashboard/static/{name}")
async def static(name: str) -> Response:
    body = _STATIC.get(name)
    kind = _STATIC_TYPES.get(Path(name).suffix)
    if body is None or kind is None:
        return Response(b"not found\n", 404, media_type="text/plain")
    return Response(body, media_type=kind, headers={**HEADERS, "cache-control": "max-age=300"})


def install_dashboard(app: Any, node: Node, options: DashboardOptions) -> None:
    """Add the dashboard's routes to ``app`` (a FastAPI app serving ``node``)."""
    app.state.dashboard = options
    app.state.dashboard_reads = DashboardReads(node)
    app.include_router(router)
