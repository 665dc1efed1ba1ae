"""The ceiling: a bare ASGI app for uvicorn answering GET /hello with the same JSON, no gateway and no Lambda."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

BODY = b'{"ok": true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
NOT_FOUND = b'{"message": "Not Found"}'


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
              send: Callable[[dict], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":  # nothing to set up; answer so uvicorn does not log a warning
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] == "GET" and scope["path"] == "/hello":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
        return
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(NOT_FOUND))]})
    await send({"type": "http.response.body", "body": NOT_FOUND})
