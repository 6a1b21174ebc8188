"""HTTPS clients that talk only to the TLS key (or certificate) an endpoint is pinned to.

A worker's TLS certificate is self-signed and bound into its attestation quote
(``report_data[0:32]`` is the SHA-256 of its key, or of the whole certificate), so no
certificate authority vouches for it: the pin is the trust. The clients made here turn
the CA chain and hostname checks off and compare, right after each TLS handshake and
before any request is sent, the SHA-256 of what the server presented with the pin; a
server presenting anything else is dropped with :class:`PinMismatch`.

The check sits in the ``ssl`` layer itself: the context's ``sslsocket_class`` (what
httpx's sync transport wraps sockets with) and ``sslobject_class`` (what anyio, under
httpx's async transport, wraps its memory BIOs with) are subclasses whose
``do_handshake`` checks the pin once the handshake completes.
"""

import hashlib
import hmac
import ssl
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from worker_manager.client._exceptions import NotPinnable, PinMismatch
from worker_manager.client._types import Endpoint, Pin

#: httpx arguments that would replace the pinned TLS setup, so they are refused.
_REFUSED = ("verify", "transport", "mounts")


def _seen(pin: Pin, der: bytes | None) -> str | None:
    """The SHA-256 (hex) of ``der`` in ``pin``'s form; None if there is nothing to hash."""
    if der is None:
        return None
    if pin.kind == "certificate":
        return hashlib.sha256(der).hexdigest()
    try:
        key = x509.load_der_x509_certificate(der).public_key()
        spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, UnsupportedAlgorithm):  # unreadable: simply not the pinned one
        return None
    return hashlib.sha256(spki).hexdigest()


def check_pin(pin: Pin, der: bytes | None) -> None:
    """Raise :class:`PinMismatch` unless the DER certificate ``der`` matches ``pin``."""
    seen = _seen(pin, der)
    if seen is None or not hmac.compare_digest(seen, pin.sha256):
        raise PinMismatch(pin.kind, pin.sha256, seen)


class _PinnedSocket(ssl.SSLSocket):
    """A TLS socket that checks its context's pin once the handshake completes."""

    _pin: Pin

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        try:
            check_pin(self._pin, self.getpeercert(binary_form=True))
        except PinMismatch:
            self.close()
            raise


class _PinnedObject(ssl.SSLObject):
    """A TLS object (memory BIOs, for asyncio and anyio) that checks its pin once the
    handshake completes; raising there keeps the client's last handshake message unsent."""

    _pin: Pin

    def do_handshake(self) -> None:
        super().do_handshake()
        check_pin(self._pin, self.getpeercert(binary_form=True))


def pinned_ssl_context(pin: Pin) -> ssl.SSLContext:
    """A client ``SSLContext`` (TLS 1.2 or later) that accepts only servers matching
    ``pin``; CA chain and hostname checks are off (the pin replaces them)."""
    if pin.kind not in ("spki", "certificate") or len(pin.sha256) != 64:
        raise NotPinnable(f"not a pin: {pin!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    class PinnedSSLSocket(_PinnedSocket):
        _pin = pin

    class PinnedSSLObject(_PinnedObject):
        _pin = pin

    context.sslsocket_class = PinnedSSLSocket
    context.sslobject_class = PinnedSSLObject
    return context


def _pin_of(endpoint: Endpoint | Pin) -> Pin:
    if isinstance(endpoint, Pin):
        return endpoint
    pin = endpoint.pin
    if pin is None:
        raise NotPinnable(
            f"{endpoint.url} is not pinnable: "
            + (
                "its quote binds no TLS certificate"
                if endpoint.tls_binding is None
                else "the node has not seen it serve the certificate bound into its quote"
            )
        )
    return pin


def _refuse_plain(request: httpx.Request) -> None:
    """A request hook: every request, redirects included, goes over pinned TLS or not at all."""
    if request.url.scheme != "https":
        raise NotPinnable(f"a pinned client sends only https requests, not {request.url}")


async def _refuse_plain_async(request: httpx.Request) -> None:
    _refuse_plain(request)


def _arguments(
    endpoint: Endpoint | Pin, httpx_kwargs: dict[str, Any], *, asynchronous: bool
) -> dict[str, Any]:
    refused = sorted(k for k in _REFUSED if k in httpx_kwargs)
    if refused:
        raise TypeError(f"a pinned client sets its own TLS checks; do not pass {refused}")
    arguments = dict(httpx_kwargs)
    if isinstance(endpoint, Endpoint):
        arguments.setdefault("base_url", endpoint.url)
    arguments["verify"] = pinned_ssl_context(_pin_of(endpoint))
    hooks = dict(arguments.get("event_hooks") or {})
    refuse = _refuse_plain_async if asynchronous else _refuse_plain
    hooks["request"] = [refuse, *hooks.get("request", [])]
    arguments["event_hooks"] = hooks
    return arguments


def _mismatch_in(error: BaseException) -> PinMismatch | None:
    """The :class:`PinMismatch` behind a transport error (httpx wraps it), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, PinMismatch):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class _PinnedClient(httpx.Client):
    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        try:
            return super().send(request, **kwargs)
        except httpx.TransportError as exc:
            mismatch = _mismatch_in(exc)
            if mismatch is None:
                raise
            raise PinMismatch(mismatch.kind, mismatch.expected, mismatch.seen) from exc


class _PinnedAsyncClient(httpx.AsyncClient):
    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        try:
            return await super().send(request, **kwargs)
        except httpx.TransportError as exc:
            mismatch = _mismatch_in(exc)
            if mismatch is None:
                raise
            raise PinMismatch(mismatch.kind, mismatch.expected, mismatch.seen) from exc


def pinned_client(endpoint: Endpoint | Pin, **httpx_kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` that talks only to a server presenting ``endpoint``'s pin.

    The pin is :attr:`Endpoint.pin`: the SHA-256 of the TLS key (SPKI) the node saw the
    endpoint serve, or of its whole certificate when that is what the quote binds.
    **CA chain and hostname checks are off**: workers serve self-signed certificates
    bound into their attestation quotes, so the pin is the only trust. Check the pin
    first with :func:`verify_endpoint` to trust the quote rather than the registry.

    A server presenting another key or certificate is dropped right after the TLS
    handshake, before any request is sent, with :class:`PinMismatch`; a plain
    ``http://`` request (a redirect to one too) raises :class:`NotPinnable`, as does an
    endpoint without a pin.
    ``base_url`` defaults to the endpoint's URL; other keyword arguments go to
    ``httpx.Client`` (``verify``, ``transport`` and ``mounts`` are refused: they would
    replace the pinned TLS checks). Example::

        endpoint = client.endpoints("llama3")[0]
        with pinned_client(endpoint, timeout=30) as http:
            http.post("/v1/chat/completions", json=request)
    """
    return _PinnedClient(**_arguments(endpoint, httpx_kwargs, asynchronous=False))


def pinned_async_client(endpoint: Endpoint | Pin, **httpx_kwargs: Any) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` twin of :func:`pinned_client` (same pin, same checks:
    **CA chain and hostname checks are off**; the pin is the trust)."""
    return _PinnedAsyncClient(**_arguments(endpoint, httpx_kwargs, asynchronous=True))
