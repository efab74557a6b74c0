"""Static files over real sockets: the default handler, mime, dir, alias, autoindex.

One shared server (``site``) serves a document tree built once; tests that
need a configuration of their own start one with the ``mpmd`` fixture. The
tree's FollowSymLinks is off (``Options Indexes`` replaces the default), so
the shared server also shows the symlink rules.
"""

from __future__ import annotations

import email.utils
import http.client
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serverproc import Server, run_server

StartServer = Callable[..., Server]
OLD = 1_600_000_000  # a fixed past mtime: ETags are strong, Last-Modified is known
SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT\n"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def request(
    server: Server,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.msg, resp.read())
    finally:
        conn.close()


def raw_status(server: Server, data: bytes) -> tuple[int, bytes]:
    reply = server.raw(data)
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
    return status, reply


def write(path: Path, data: bytes | str, mtime: int = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))
    return path


def build_tree(base: Path) -> tuple[Path, Path]:
    """A document root, an alias target and a secret beside them both."""
    www, ext = base / "www", base / "ext"
    write(base / "secret.txt", SECRET)
    write(www / "index.html", "<h1>home</h1>\n")
    write(www / "hello.txt", "hello, world\n")
    write(www / "style.css", "body{}\n")
    write(www / "data.unknownext", "?\n")
    write(www / "custom.cust", "custom\n")
    write(www / "notes.utf8", "utf8\n")
    write(www / "digits.txt", b"0123456789")
    write(www / "big.bin", bytes(range(256)) * 400)  # 102400 bytes: goes out by sendfile
    write(www / "hidden.txt", "hidden\n")
    write(www / "listing" / "b.txt", "bb\n", OLD + 10)
    write(www / "listing" / "a.txt", "a\n", OLD + 20)
    write(www / "listing" / "c-large.txt", "c" * 5000, OLD + 5)
    write(www / "listing" / "skip.bak", "backup\n")
    write(www / "listing" / "hidden.txt", "hidden\n")
    write(www / "listing" / '<b onclick="x()">.txt', "xss\n")
    write(www / "listing" / "a&b.txt", "amp\n")
    (www / "listing" / "zdir").mkdir()
    (www / "listing" / "adir").mkdir()
    write(www / "noindex" / "file.txt", "file\n")
    write(www / "private" / "index.html", "private\n")
    write(www / "denied-index" / "index.html", "denied\n")
    write(www / "multi" / "second.html", "second\n")
    write(www / "multi" / "third.html", "third\n")
    write(ext / "inside.txt", "from the alias target\n")
    write(ext / "m.txt", "matched\n")
    os.symlink(base / "secret.txt", www / "link-out.txt")
    os.symlink(www / "hello.txt", www / "link-in.txt")
    os.symlink(base, www / "linkdir")
    os.symlink(base / "secret.txt", www / "listing" / "link.txt")
    os.symlink(base / "secret.txt", ext / "link.txt")
    os.mkfifo(www / "fifo.txt")
    return www, ext


def site_conf(www: Path, ext: Path) -> str:
    return f"""
LogLevel info
LoadModule autoindex_module mpmd.modules.autoindex
DocumentRoot {www}
<Directory {www}>
    Options Indexes
    IndexOptions FancyIndexing HTMLTable FoldersFirst
    IndexIgnore *.bak
</Directory>
<Directory {www}/noindex>
    Options None
</Directory>
<Directory {www}/private>
    Require all denied
</Directory>
<Files hidden.txt>
    Require all denied
</Files>
<Directory {www}/denied-index>
    <Files index.html>
        Require all denied
    </Files>
</Directory>
<Directory {www}/multi>
    DirectoryIndex first.html second.html third.html
</Directory>
AddType application/x-custom .cust
AddType text/plain .utf8
AddCharset UTF-8 .utf8
Alias /ext {ext}
AliasMatch ^/m/(\\w+)\\.txt$ {ext}/$1.txt
Redirect /old http://example.com/new
RedirectPermanent /perm /target
Redirect gone /gone
RedirectMatch 301 ^/rm/(.*)$ http://example.com/rm2/$1
<Location /loc>
    Redirect 307 http://example.com/there
</Location>
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_tree(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="module")
def site(tree: tuple[Path, Path], mpm: str | None) -> Iterator[Server]:
    www, ext = tree
    with run_server(www.parent / f"server-{mpm}", site_conf(www, ext), mpm=mpm) as server:
        yield server


# --------------------------------------------------------------------------
# Files, types and headers


def test_directory_url_serves_its_index_html(site: Server) -> None:
    reply = request(site, "/")
    assert reply.status == 200
    assert reply.body == b"<h1>home</h1>\n"
    assert reply.header("Content-Type") == "text/html"


def test_file_is_served_with_type_from_its_extension(site: Server) -> None:
    reply = request(site, "/style.css")
    assert reply.status == 200
    assert reply.header("Content-Type") == "text/css"
    assert reply.body == b"body{}\n"


def test_unknown_extension_is_sent_without_content_type(site: Server) -> None:
    reply = request(site, "/data.unknownext")
    assert reply.status == 200
    assert reply.header("Content-Type") is None


def test_add_type_sets_the_type_of_an_extension(site: Server) -> None:
    assert request(site, "/custom.cust").header("Content-Type") == "application/x-custom"


def test_add_charset_adds_the_charset_parameter(site: Server) -> None:
    assert request(site, "/notes.utf8").header("Content-Type") == "text/plain; charset=utf-8"


def test_add_default_charset_applies_to_text_files(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "a.txt", "a\n")
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nAddDefaultCharset UTF-8")
    assert request(server, "/a.txt").header("Content-Type") == "text/plain; charset=UTF-8"


def test_etag_is_hex_size_and_mtime_in_microseconds(site: Server) -> None:
    reply = request(site, "/digits.txt")
    assert reply.header("ETag") == f'"{10:x}-{OLD * 1_000_000:x}"'


def test_file_etag_none_sends_no_etag(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "a.txt", "a\n")
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nFileETag None")
    reply = request(server, "/a.txt")
    assert reply.status == 200
    assert reply.header("ETag") is None


def test_file_etag_inode_puts_the_inode_first(mpmd: StartServer, tmp_path: Path) -> None:
    path = write(tmp_path / "www" / "a.txt", "a\n")
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nFileETag INode MTime Size")
    st = path.stat()
    expected = f'"{st.st_ino:x}-{st.st_size:x}-{OLD * 1_000_000:x}"'
    assert request(server, "/a.txt").header("ETag") == expected


def test_last_modified_is_the_file_mtime(site: Server) -> None:
    reply = request(site, "/hello.txt")
    assert reply.header("Last-Modified") == email.utils.formatdate(OLD, usegmt=True)
    assert reply.header("Accept-Ranges") == "bytes"


def test_large_file_arrives_whole(site: Server, tree: tuple[Path, Path]) -> None:
    reply = request(site, "/big.bin")
    assert reply.status == 200
    assert reply.header("Content-Length") == "102400"
    assert reply.body == (tree[0] / "big.bin").read_bytes()


def test_enable_sendfile_off_still_sends_the_whole_file(mpmd: StartServer, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    write(tmp_path / "www" / "big.bin", data)
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nEnableSendfile Off")
    assert request(server, "/big.bin").body == data


def test_head_sends_the_headers_of_get_and_no_body(site: Server) -> None:
    conn = http.client.HTTPConnection(site.host, site.port, timeout=10)
    conn.request("HEAD", "/big.bin")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Length") == "102400"
    assert resp.read() == b""
    conn.request("GET", "/hello.txt")  # the connection is still in step
    assert conn.getresponse().read() == b"hello, world\n"
    conn.close()


# --------------------------------------------------------------------------
# Methods


def test_post_to_a_static_file_is_405_with_allow(site: Server) -> None:
    reply = request(site, "/hello.txt", "POST", body=b"x=1")
    assert reply.status == 405
    assert reply.header("Allow") == "GET,HEAD,POST,OPTIONS"


def test_delete_of_a_static_file_is_405(site: Server) -> None:
    assert request(site, "/hello.txt", "DELETE").status == 405


def test_options_on_a_static_file_lists_the_allowed_methods(site: Server) -> None:
    reply = request(site, "/hello.txt", "OPTIONS")
    assert reply.status == 200
    assert reply.header("Allow") == "GET,HEAD,POST,OPTIONS"


# --------------------------------------------------------------------------
# Conditional requests (RFC 9110 section 13)


def test_if_none_match_with_the_current_etag_is_304(site: Server) -> None:
    etag = request(site, "/hello.txt").header("ETag")
    assert etag is not None
    reply = request(site, "/hello.txt", headers={"If-None-Match": etag})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.header("ETag") == etag


def test_if_none_match_with_another_etag_is_200(site: Server) -> None:
    reply = request(site, "/hello.txt", headers={"If-None-Match": '"other"'})
    assert reply.status == 200


def test_if_modified_since_the_mtime_is_304(site: Server) -> None:
    since = email.utils.formatdate(OLD, usegmt=True)
    assert request(site, "/hello.txt", headers={"If-Modified-Since": since}).status == 304


def test_if_modified_since_before_the_mtime_is_200(site: Server) -> None:
    since = email.utils.formatdate(OLD - 60, usegmt=True)
    assert request(site, "/hello.txt", headers={"If-Modified-Since": since}).status == 200


def test_if_match_with_another_etag_is_412(site: Server) -> None:
    assert request(site, "/hello.txt", headers={"If-Match": '"nope"'}).status == 412


def test_if_unmodified_since_before_the_mtime_is_412(site: Server) -> None:
    since = email.utils.formatdate(OLD - 60, usegmt=True)
    assert request(site, "/hello.txt", headers={"If-Unmodified-Since": since}).status == 412


# --------------------------------------------------------------------------
# Ranges (RFC 9110 section 14)


def test_single_range_is_206_with_content_range(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=2-5"})
    assert reply.status == 206
    assert reply.header("Content-Range") == "bytes 2-5/10"
    assert reply.body == b"2345"


def test_suffix_range_is_the_end_of_the_file(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=-3"})
    assert reply.status == 206
    assert reply.body == b"789"


def test_range_of_a_large_file_is_sent_exactly(site: Server, tree: tuple[Path, Path]) -> None:
    reply = request(site, "/big.bin", headers={"Range": "bytes=1000-60999"})
    assert reply.status == 206
    assert reply.body == (tree[0] / "big.bin").read_bytes()[1000:61000]


def test_several_ranges_are_multipart_byteranges(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=0-1,5-6"})
    assert reply.status == 206
    ctype = reply.header("Content-Type") or ""
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = reply.body.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n"
    bodies = [p.split(b"\r\n\r\n", 1) for p in parts[1:-1]]
    assert [b"Content-Range: bytes 0-1/10" in head for head, _ in bodies] == [True, False]
    assert [data for _, data in bodies] == [b"01\r\n", b"56\r\n"]
    assert int(reply.header("Content-Length") or 0) == len(reply.body)


def test_overlapping_ranges_are_coalesced_into_one(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=0-4,2-6,0-"})
    assert reply.status == 206
    assert reply.header("Content-Range") == "bytes 0-9/10"
    assert reply.body == b"0123456789"


def test_unsatisfiable_range_is_416_with_the_size(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=50-60"})
    assert reply.status == 416
    assert reply.header("Content-Range") == "bytes */10"


def test_malformed_range_is_ignored(site: Server) -> None:
    reply = request(site, "/digits.txt", headers={"Range": "bytes=5-2"})
    assert reply.status == 200
    assert reply.body == b"0123456789"


def test_if_range_with_a_stale_etag_sends_the_whole_file(site: Server) -> None:
    headers = {"Range": "bytes=0-1", "If-Range": '"stale"'}
    reply = request(site, "/digits.txt", headers=headers)
    assert reply.status == 200
    assert reply.body == b"0123456789"


def test_if_range_with_the_current_etag_sends_the_range(site: Server) -> None:
    etag = request(site, "/digits.txt").header("ETag") or ""
    reply = request(site, "/digits.txt", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert reply.status == 206
    assert reply.body == b"01"


# --------------------------------------------------------------------------
# Not found, refused


def test_missing_file_is_404_logged_at_info(site: Server, tree: tuple[Path, Path]) -> None:
    assert request(site, "/no-such-file.txt").status == 404
    assert f"AH00128: File does not exist: {tree[0]}/no-such-file.txt" in site.log_text()


def test_trailing_slash_after_a_file_is_404(site: Server) -> None:
    assert request(site, "/hello.txt/").status == 404


def test_path_after_a_file_is_404(site: Server) -> None:
    assert request(site, "/hello.txt/more").status == 404


def test_require_all_denied_on_a_directory_is_403(site: Server) -> None:
    reply = request(site, "/private/index.html")
    assert reply.status == 403
    assert b"private" not in reply.body


def test_require_all_denied_on_files_is_403(site: Server) -> None:
    assert request(site, "/hidden.txt").status == 403


def test_fifo_is_refused_without_hanging(site: Server) -> None:
    assert request(site, "/fifo.txt").status == 403


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_403(mpmd: StartServer, tmp_path: Path) -> None:
    path = write(tmp_path / "www" / "locked.txt", "locked\n")
    path.chmod(0)
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}")
    assert request(server, "/locked.txt").status == 403


# --------------------------------------------------------------------------
# Directories: DirectorySlash, DirectoryIndex, FallbackResource


def test_directory_without_slash_redirects_and_keeps_the_query(site: Server) -> None:
    reply = request(site, "/listing?C=M;O=D", headers={"Host": "files.example:8080"})
    assert reply.status == 301
    assert reply.header("Location") == "http://files.example:8080/listing/?C=M;O=D"


def test_use_canonical_name_on_redirects_to_the_server_name(
    mpmd: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "www" / "dir").mkdir(parents=True)
    body = f"DocumentRoot {tmp_path / 'www'}\nServerName www.example.com:8080\nUseCanonicalName On"
    server = mpmd(body)
    reply = request(server, "/dir", headers={"Host": "other.example"})
    assert reply.status == 301
    assert reply.header("Location") == "http://www.example.com:8080/dir/"


def test_directory_slash_off_does_not_redirect(mpmd: StartServer, tmp_path: Path) -> None:
    (tmp_path / "www" / "dir").mkdir(parents=True)
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nDirectorySlash Off")
    assert request(server, "/dir").status == 403


def test_directory_without_index_and_indexes_is_403_logged(
    site: Server, tree: tuple[Path, Path]
) -> None:
    assert request(site, "/noindex/").status == 403
    assert (
        f"AH01276: Cannot serve directory {tree[0]}/noindex/: No matching DirectoryIndex "
        "(index.html) found, and server-generated directory index forbidden by Options directive"
    ) in site.log_text()


def test_first_existing_directory_index_name_is_served(site: Server) -> None:
    assert request(site, "/multi/").body == b"second\n"


def test_index_file_denied_by_require_is_403_not_a_listing(site: Server) -> None:
    reply = request(site, "/denied-index/")
    assert reply.status == 403
    assert b"Index of" not in reply.body


def test_directory_index_disabled_lists_the_directory(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "index.html", "home\n")
    server = mpmd(
        f"LoadModule autoindex_module x\nDocumentRoot {tmp_path / 'www'}\n"
        f"<Directory {tmp_path / 'www'}>\nOptions Indexes\nDirectoryIndex disabled\n</Directory>"
    )
    reply = request(server, "/")
    assert reply.status == 200
    assert b"Index of /" in reply.body


def test_fallback_resource_answers_for_missing_files(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "front.html", "front\n")
    write(tmp_path / "www" / "real.txt", "real\n")
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nFallbackResource /front.html")
    assert request(server, "/any/route").body == b"front\n"
    assert request(server, "/real.txt").body == b"real\n"


# --------------------------------------------------------------------------
# Autoindex


def listing(site: Server, query: str = "") -> str:
    reply = request(site, "/listing/" + query)
    assert reply.status == 200
    assert reply.header("Content-Type") == "text/html;charset=UTF-8"
    return reply.body.decode()


def names_in(page: str) -> list[str]:
    return re.findall(r'<td><a href="[^"]*">([^<]*)</a>', page)


def test_autoindex_lists_the_directory_with_parent_link_and_sizes(site: Server) -> None:
    page = listing(site)
    assert "<title>Index of /listing</title>" in page
    assert '<a href="/">Parent Directory</a>' in page
    assert '<td><a href="b.txt">b.txt</a>' in page
    assert '<td align="right">4.9K</td>' in page  # c-large.txt, apr_strfsize
    assert '<th><a href="?C=N;O=D">Name</a></th>' in page


def test_autoindex_puts_folders_first_and_sorts_by_name(site: Server) -> None:
    names = names_in(listing(site))
    assert names[:3] == ["Parent Directory", "adir/", "zdir/"]
    assert names.index("a&amp;b.txt") < names.index("a.txt") < names.index("b.txt")


def test_autoindex_sorts_by_size_descending(site: Server) -> None:
    names = names_in(listing(site, "?C=S;O=D"))
    files = [n for n in names if not n.endswith("/") and n != "Parent Directory"]
    assert files[0] == "c-large.txt"


def test_autoindex_sorts_by_date_ascending(site: Server) -> None:
    names = [
        n for n in names_in(listing(site, "?C=M;O=A")) if n in ("a.txt", "b.txt", "c-large.txt")
    ]
    assert names == ["c-large.txt", "b.txt", "a.txt"]


def test_autoindex_column_link_reverses_the_current_order(site: Server) -> None:
    assert '<a href="?C=S;O=A">Size</a>' in listing(site, "?C=S;O=D")


def test_autoindex_escapes_html_in_names(site: Server) -> None:
    page = listing(site)
    assert "<b " not in page
    assert "&lt;b onclick=&quot;x()&quot;&gt;.txt" in page
    assert 'href="%3Cb%20onclick=%22x()%22%3E.txt"' in page


def test_autoindex_leaves_out_ignored_names(site: Server) -> None:
    assert "skip.bak" not in listing(site)


def test_autoindex_leaves_out_files_require_denies(site: Server) -> None:
    assert "hidden.txt" not in listing(site)


def test_autoindex_leaves_out_links_the_options_forbid(site: Server) -> None:
    assert "link.txt" not in listing(site)


def own_listing(mpmd: StartServer, www: Path, directives: str) -> Server:
    return mpmd(
        f"LoadModule autoindex_module x\nDocumentRoot {www}\n"
        f"<Directory {www}>\nOptions Indexes\n{directives}\n</Directory>"
    )


def test_index_order_default_sets_the_order_without_a_query(
    mpmd: StartServer, tmp_path: Path
) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        write(tmp_path / "www" / name, name)
    server = own_listing(
        mpmd,
        tmp_path / "www",
        "IndexOptions FancyIndexing HTMLTable\nIndexOrderDefault Descending Name",
    )
    names = [n for n in names_in(request(server, "/").body.decode()) if n.endswith(".txt")]
    assert names == ["c.txt", "b.txt", "a.txt"]


def test_autoindex_without_fancy_indexing_is_a_plain_list(
    mpmd: StartServer, tmp_path: Path
) -> None:
    write(tmp_path / "www" / "a.txt", "a")
    server = own_listing(mpmd, tmp_path / "www", "IndexOptions None")
    page = request(server, "/").body.decode()
    assert '<ul><li><a href="a.txt"> a.txt</a></li>\n</ul>' in page


def test_autoindex_header_name_replaces_the_title_line(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "HEADER.html", "<p>Welcome</p>\n")
    server = own_listing(
        mpmd, tmp_path / "www", "IndexOptions FancyIndexing\nHeaderName HEADER.html"
    )
    page = request(server, "/").body.decode()
    assert "<p>Welcome</p>" in page
    assert "<h1>" not in page


def test_autoindex_head_has_no_body(site: Server) -> None:
    reply = request(site, "/listing/", "HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.header("Content-Type") == "text/html;charset=UTF-8"


def test_directory_index_may_name_a_url_path(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "www" / "front.html", "front\n")
    (tmp_path / "www" / "dir").mkdir()
    server = mpmd(f"DocumentRoot {tmp_path / 'www'}\nDirectoryIndex /front.html")
    assert request(server, "/dir/").body == b"front\n"


# --------------------------------------------------------------------------
# Alias and Redirect


def test_alias_serves_a_directory_outside_the_document_root(site: Server) -> None:
    reply = request(site, "/ext/inside.txt")
    assert reply.status == 200
    assert reply.body == b"from the alias target\n"


def test_alias_matches_whole_path_segments_only(site: Server) -> None:
    assert request(site, "/extinside.txt").status == 404


def test_alias_match_substitutes_the_captured_group(site: Server) -> None:
    assert request(site, "/m/m.txt").body == b"matched\n"


def test_redirect_appends_the_rest_of_the_path_and_the_query(site: Server) -> None:
    reply = request(site, "/old/page.html?x=1")
    assert reply.status == 302
    assert reply.header("Location") == "http://example.com/new/page.html?x=1"


def test_redirect_permanent_to_a_path_is_301_with_an_absolute_location(site: Server) -> None:
    reply = request(site, "/perm", headers={"Host": "www.example.org"})
    assert reply.status == 301
    assert reply.header("Location") == "http://www.example.org/target"


def test_redirect_gone_is_410(site: Server) -> None:
    assert request(site, "/gone/anything").status == 410


def test_redirect_match_substitutes_the_captured_group(site: Server) -> None:
    reply = request(site, "/rm/a/b")
    assert reply.status == 301
    assert reply.header("Location") == "http://example.com/rm2/a/b"


def test_redirect_inside_location_redirects_everything_below(site: Server) -> None:
    reply = request(site, "/loc/x")
    assert reply.status == 307
    assert reply.header("Location") == "http://example.com/there"


# --------------------------------------------------------------------------
# Nothing outside the DocumentRoot / Alias targets


TRAVERSALS = {
    "dot_dot": b"/../secret.txt",
    "dot_dot_deeper": b"/listing/../../secret.txt",
    "encoded_dots": b"/%2e%2e/secret.txt",
    "encoded_dots_and_slash": b"/%2e%2e%2fsecret.txt",
    "dots_then_encoded_slash": b"/..%2fsecret.txt",
    "encoded_nul": b"/hello.txt%00.html",
    "alias_dot_dot": b"/ext/../secret.txt",
    "alias_encoded_dots": b"/ext/%2e%2e/secret.txt",
}


@pytest.mark.parametrize("target", TRAVERSALS.values(), ids=list(TRAVERSALS))
def test_traversal_never_reaches_a_file_outside_the_root(site: Server, target: bytes) -> None:
    status, reply = raw_status(
        site, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status in (400, 403, 404)
    assert SECRET not in reply


def test_absolute_form_url_with_dot_dot_never_leaves_the_root(site: Server) -> None:
    status, reply = raw_status(
        site, b"GET http://x/a/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status in (400, 403, 404)
    assert SECRET not in reply


def test_encoded_slash_is_404(site: Server) -> None:
    status, _ = raw_status(
        site, b"GET /listing%2fa.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 404


def test_symlink_out_of_the_root_is_403_without_follow_symlinks(
    site: Server, tree: tuple[Path, Path]
) -> None:
    reply = request(site, "/link-out.txt")
    assert reply.status == 403
    assert SECRET not in reply.body
    assert (
        f"AH00037: Symbolic link not allowed or link target not accessible: {tree[0]}/link-out.txt"
        in (site.log_text())
    )


def test_symlink_inside_the_root_is_403_without_follow_symlinks(site: Server) -> None:
    assert request(site, "/link-in.txt").status == 403


def test_symlinked_directory_in_the_path_is_403_without_follow_symlinks(site: Server) -> None:
    reply = request(site, "/linkdir/secret.txt")
    assert reply.status == 403
    assert SECRET not in reply.body


def test_symlink_below_an_alias_target_is_403_without_follow_symlinks(
    mpmd: StartServer, tree: tuple[Path, Path]
) -> None:
    www, ext = tree
    server = mpmd(
        f"DocumentRoot {www}\nAlias /ext {ext}\n<Directory {ext}>\nOptions None\n</Directory>"
    )
    reply = request(server, "/ext/link.txt")
    assert reply.status == 403
    assert SECRET not in reply.body


def test_symlink_is_followed_with_follow_symlinks(
    mpmd: StartServer, tree: tuple[Path, Path]
) -> None:
    www, _ = tree
    server = mpmd(f"DocumentRoot {www}\n<Directory {www}>\nOptions FollowSymLinks\n</Directory>")
    assert request(server, "/link-out.txt").body == SECRET


def test_symlinks_if_owner_match_refuses_a_link_owned_by_another_user(
    mpmd: StartServer, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a link's owner needs root")
    www = tmp_path / "www"
    target = write(tmp_path / "target.txt", "target\n")
    os.makedirs(www)
    os.symlink(target, www / "foreign.txt")
    os.lchown(www / "foreign.txt", 12345, 12345)
    server = mpmd(
        f"DocumentRoot {www}\n<Directory {www}>\nOptions SymLinksIfOwnerMatch\n</Directory>"
    )
    assert request(server, "/foreign.txt").status == 403


def test_symlinks_if_owner_match_follows_a_link_with_the_same_owner(
    mpmd: StartServer, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    target = write(tmp_path / "target.txt", "target\n")
    os.makedirs(www)
    os.symlink(target, www / "own.txt")
    assert os.lstat(www / "own.txt").st_uid == os.stat(target).st_uid
    server = mpmd(
        f"DocumentRoot {www}\n<Directory {www}>\nOptions SymLinksIfOwnerMatch\n</Directory>"
    )
    assert request(server, "/own.txt").body == b"target\n"


def test_document_root_itself_may_be_a_symlink(mpmd: StartServer, tmp_path: Path) -> None:
    write(tmp_path / "real" / "a.txt", "a\n")
    os.symlink(tmp_path / "real", tmp_path / "www")
    server = mpmd(
        f"DocumentRoot {tmp_path / 'www'}\n<Directory {tmp_path / 'www'}>\nOptions None\n</Directory>"
    )
    assert request(server, "/a.txt").body == b"a\n"


def test_directory_section_with_non_ascii_path_applies_its_require(
    mpmd: StartServer, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    write(www / "café" / "secret.txt", "no\n")
    write(www / "open.txt", "yes\n")
    server = mpmd(
        f'DocumentRoot {www}\n<Directory "{www}/café">\n    Require all denied\n</Directory>'
    )
    assert request(server, "/open.txt").status == 200
    assert request(server, "/caf%C3%A9/secret.txt").status == 403
