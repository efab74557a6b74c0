"""A single-file Django project configured in code (``WSGIApp /dj django_demo:application``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="mpmd-tests-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    TEMPLATES=[],
    DATABASES={},
    USE_TZ=True,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402 -- needs settings first
from django.http import (  # noqa: E402
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path, reverse  # noqa: E402


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        f"hello from django at {request.path} (script {request.META['SCRIPT_NAME']})",
        content_type="text/plain",
    )


def form(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    return HttpResponse(f"{request.POST['name']}|{','.join(request.POST.getlist('tag'))}")


def data(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body) if request.body else None
    return JsonResponse(
        {"method": request.method, "body": body, "url": reverse("data"), "host": request.get_host()}
    )


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def lines() -> Iterator[bytes]:
        for i in range(3):
            yield b"row %d\n" % i

    return StreamingHttpResponse(lines(), content_type="text/plain")


def file(request: HttpRequest) -> FileResponse:
    return FileResponse(open(request.GET["path"], "rb"))


urlpatterns = [
    path("hello/", hello),
    path("form/", form),
    path("data/", data, name="data"),
    path("stream/", stream),
    path("file/", file),
]

application = get_wsgi_application()
