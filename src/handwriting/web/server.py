"""Serving the app with uvicorn, with the limits a server open to strangers needs.

uvicorn closes idle keep-alive connections, but not a connection that never sends a whole
request: 1,100 silent sockets used to lock everyone out, and a client sending its headers a
byte at a time held its connection for ever. ``Protocol`` adds a deadline for each request's
headers (the app bounds the body itself). It also turns Nagle's algorithm off on every
connection, as asyncio does in one process but uvicorn's worker processes did not: there, an
answer written in two pieces waited for the client's delayed ACK, 40 ms a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import MODEL_ENV

HEADER_TIMEOUT_S = 10.0  # from connecting, or from the last answer, to a request's last header
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 2048  # open connections (and requests) per process; uvicorn answers 503 past it


class Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with TCP_NODELAY and a deadline for each request's headers."""

    header_timeout_s = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in: the app times the body
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:  # waiting for the next request on this connection
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def connection_limit(wanted: int = MAX_CONNECTIONS) -> int:
    """How many connections a process may hold open: ``wanted``, within the open-file limit,
    which is first raised as far as the system allows (it is often 1,024 by default, and
    every connection takes one). Idle connections then cannot lock other clients out; what
    they could make the server hold is bounded by the app's budgets, not by this number."""
    try:
        import resource
    except ImportError:  # not a Unix
        return min(wanted, 512)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = wanted + 64  # the model, logs, sockets being accepted
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            target = want if hard == resource.RLIM_INFINITY else min(want, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return wanted if soft == resource.RLIM_INFINITY else max(16, min(wanted, soft - 64))


def serve(app: Starlette, host: str, port: int, workers: int = 1, model: str | None = None) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM (in-flight requests are finished first). With
    ``workers`` > 1, that many processes each build their own app with ``model``."""
    limits = dict(
        log_level="warning",
        http=Protocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=connection_limit(),
        host=host,
        port=port,
    )
    if workers == 1:
        uvicorn.run(app, **limits)  # type: ignore[arg-type]
        return
    os.environ[MODEL_ENV] = os.path.abspath(model) if model else ""
    uvicorn.run("handwriting.web.app:app_from_env", factory=True, workers=workers, **limits)  # type: ignore[arg-type]
