"""The bundled demo application, mounted at /hello by the embedded default configuration."""


def application(environ, start_response):
    name = environ.get("QUERY_STRING", "").partition("name=")[2] or "World"
    body = f"Hello, {name}!\n".encode("utf-8", "replace")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]
