"""The HTTP connections under the app: uvicorn's h11 protocol, with a deadline for each request's head.

uvicorn closes a keep-alive connection that stays idle, but not one that sends part of a request line
or headers and then stalls: such connections would be held for as long as their clients like
(slowloris). Here a connection must deliver a whole request head within ``header_timeout`` seconds of
being opened, or of its previous answer; otherwise it gets a JSON 408 and is closed. A body that
stalls is :class:`segpress.server.limits.UploadGuard`'s to refuse.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def protocol_with_header_timeout(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head takes over ``header_timeout`` seconds."""
    body = json.dumps({
        "detail": f"the request line and headers took longer than {header_timeout:g} s",
        "code": "request_timeout",
    }).encode()
    answer = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n".encode()
        + b"connection: close\r\n\r\n"
        + body
    )

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # the head is in (or the connection is over)
                self._disarm()

        def on_response_complete(self) -> None:
            self._arm()  # before the next cycle starts: a pipelined request already in disarms it again
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._head_overdue)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _head_overdue(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                # h11 cannot answer a request it has not seen: the answer goes out as raw bytes.
                self.transport.write(answer)
                self.transport.close()

    return HeaderDeadlineProtocol
