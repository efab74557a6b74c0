"""/metrics on a running server: Prometheus text whose counts are every child's, read by Prometheus's parser."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.serverproc import run_server
from tests.statusclient import fetch, load, status_conf


def scrape(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def test_metrics_count_every_request_of_every_child(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        served = load(server, clients=6, each=8)
        assert len(served) >= 2, f"one child served everything: {served}"
        for _ in range(5):
            assert fetch(server, "/missing.txt").status == 404
        assert fetch(server, "/metrics", method="POST").status == 405
        status = fetch(server, "/server-status?json")
        before = json.loads(status.body)["totals"]
        reply = fetch(server, "/metrics")
        assert reply.status == 200
        assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        m = scrape(reply.text)

        requests = {labels[0][1]: v for labels, v in m["mpmd_http_requests_total"].items()}
        # 48 from the app and the ?json request; 5 not found and one POST refused
        assert requests == {"1xx": 0, "2xx": 49, "3xx": 0, "4xx": 6, "5xx": 0, "other": 0}
        assert m["mpmd_http_request_duration_seconds_count"][()] == 55
        buckets = m["mpmd_http_request_duration_seconds_bucket"]
        assert buckets[(("le", "+Inf"),)] == 55
        # the app sleeps 50 ms: none of its 48 requests is in a bucket below that
        assert buckets[(("le", "0.025"),)] <= 55 - 48
        assert buckets[(("le", "10.0"),)] == 55
        assert m["mpmd_http_request_duration_seconds_sum"][()] >= 48 * 0.05
        # the ?json request's body is counted after its own answer was made
        assert m["mpmd_http_response_body_bytes_total"][()] == before["bytes"] + len(status.body)

        processes = {labels[0][1]: v for labels, v in m["mpmd_processes"].items()}
        assert processes["running"] >= 3
        workers = {labels[0][1]: v for labels, v in m["mpmd_workers"].items()}
        assert workers["busy"] >= 1  # this scrape
        ((labels, value),) = m["mpmd_info"].items()
        assert dict(labels)["mpm"] == "prefork" and value == 1


def test_a_scrape_is_refused_to_an_address_the_rules_leave_out(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        assert fetch(server, "/metrics", source="127.0.0.2").status == 403
        assert fetch(server, "/metrics", source="127.0.0.1").status == 200
