"""A small real Flask application for the framework tests (``WSGIApp /flask flask_demo:app``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, redirect, request, send_file, stream_with_context, url_for
from werkzeug.wrappers import Response as BaseResponse

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "flask index"


@app.get("/user/<name>")
def user(name: str) -> dict[str, Any]:
    return {"name": name, "url": url_for("user", name=name), "script_root": request.script_root}


@app.get("/item/<int:item_id>")
def item(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "type": type(item_id).__name__}


@app.post("/json")
def json_echo() -> dict[str, Any]:
    data = request.get_json()
    return {"received": data, "keys": sorted(data)}


@app.post("/upload")
def upload() -> dict[str, Any]:
    f = request.files["file"]
    content = f.read()
    return {
        "field": request.form["title"],
        "filename": f.filename,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


@app.get("/go")
def go() -> BaseResponse:
    return redirect(url_for("user", name="redirected"))


@app.get("/missing")
def missing() -> str:
    abort(404)


@app.get("/file")
def file() -> Response:
    return send_file(request.args["path"], mimetype="application/octet-stream")


@app.get("/stream")
def stream() -> Response:
    count = int(request.args.get("n", "3"))

    def generate() -> Iterator[str]:
        for i in range(count):
            yield f"part {i} of {request.path}\n"

    return Response(stream_with_context(generate()), mimetype="text/plain")
