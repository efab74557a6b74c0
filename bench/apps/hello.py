"""The hello-world app every server in the benchmark serves.

`application` is the WSGI callable (mpmd, gunicorn, ...), `app` the ASGI one
(uvicorn). Both answer any request with the same 13-byte text/plain body and a
Content-Length, so every server sends the same bytes.
"""

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

BODY = b"Hello, World!"
CONTENT_LENGTH = str(len(BODY))

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Message = MutableMapping[str, Any]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", CONTENT_LENGTH)])
    return [BODY]


ASGI_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", CONTENT_LENGTH.encode())]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": ASGI_HEADERS})
        await send({"type": "http.response.body", "body": BODY})
