"""
Recordings from any recorder: vcrpy, Ruby VCR, go-vcr and HAR read into the same interactions, and replayed
through a path whatever their endpoint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.core._cassettes import CassetteError, Recording, load, load_directory
from conformance.core._verdict import Verdict
from conformance.upstream import ReferenceUpstream, UpstreamConfig

from ._harness import check_through
from .faultproxy import FaultProxy

PLAIN = "dd-trace__json_tool_result_2024-06"
GZIP = "openllmetry__json_thinking_signature_gzip_2025-03"


def _as_ruby_vcr(rec: Recording) -> str:
    def body(data: bytes) -> dict:
        try:
            return {"encoding": "UTF-8", "string": data.decode()}
        except UnicodeDecodeError:
            return {"encoding": "ASCII-8BIT", "string": "BINARY"}  # replaced by a !binary node below

    response_headers: dict[str, list[str]] = {}
    for name, value in rec.headers:
        response_headers.setdefault(name, []).append(value)
    document = {"http_interactions": [{
        "request": {"method": rec.method.lower(), "uri": rec.uri, "body": body(rec.request_body),
                    "headers": rec.request_headers},
        "response": {"status": {"code": rec.status, "message": "OK"}, "headers": response_headers,
                     "body": body(rec.body)},
        "recorded_at": "Thu, 12 Jun 2025 15:39:40 GMT"}], "recorded_with": "VCR 6.3.1"}
    text = yaml.safe_dump(document, sort_keys=False)
    encoded = base64.b64encode(rec.body).decode()
    return text.replace("string: BINARY", f"string: !binary |-\n        {encoded}")


def _as_go_vcr(rec: Recording) -> str:
    response_headers: dict[str, list[str]] = {}
    for name, value in rec.headers:
        response_headers.setdefault(name, []).append(value)
    return yaml.safe_dump({"version": 2, "interactions": [{
        "id": 0,
        "request": {"proto": "HTTP/1.1", "body": rec.request_body.decode(), "form": {},
                    "headers": rec.request_headers, "url": rec.uri, "method": rec.method},
        "response": {"proto": "HTTP/2.0", "body": rec.decoded_body.decode(),
                     "headers": {k: v for k, v in response_headers.items() if k.lower() != "content-encoding"},
                     "status": f"{rec.status} OK", "code": rec.status, "duration": "1.2s"}}]}, sort_keys=False)


def _as_har(rec: Recording) -> str:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "mitmproxy", "version": "11"}, "entries": [{
        "request": {"method": rec.method, "url": rec.uri, "httpVersion": "HTTP/2.0",
                    "headers": [{"name": ":authority", "value": "api.anthropic.com"}]
                    + [{"name": k, "value": v} for k, vs in rec.request_headers.items() for v in vs],
                    "postData": {"mimeType": "application/json", "text": rec.request_body.decode()}},
        "response": {"status": rec.status, "statusText": "OK",
                     "headers": [{"name": k, "value": v} for k, v in rec.headers],
                     "content": {"size": len(rec.decoded_body), "mimeType": "application/json",
                                 "text": base64.b64encode(rec.decoded_body).decode(), "encoding": "base64"}}}]}})


WRITERS = {"ruby-vcr.yml": _as_ruby_vcr, "go-vcr.yaml": _as_go_vcr, "har.har": _as_har}


@pytest.mark.parametrize("name", [PLAIN, GZIP])
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_recorder_reads_into_the_same_interaction(tmp_path, name, kind):
    """
    The same exchange written by Ruby VCR (a gzip body as !binary), go-vcr or HAR (bodies decoded, pseudo-headers)
    loads as the vcrpy recording does: method, path, status, the response as a client parses it, headers.
    """
    (original,) = load(name)
    stem, suffix = kind.split(".")
    (tmp_path / f"{name}-{stem}.{suffix}").write_text(WRITERS[kind](original))
    (loaded,) = load(f"{name}-{stem}", tmp_path)
    assert (loaded.method, loaded.target, loaded.status) == (original.method, original.target, original.status)
    assert loaded.decoded_body == original.decoded_body
    assert json.loads(loaded.request_body) == json.loads(original.request_body)
    assert loaded.headers.get("request-id") == original.headers.get("request-id")
    assert not any(k.startswith(":") for k in loaded.request_headers)


@pytest.fixture
def other_endpoints(tmp_path: Path) -> Iterator[Path]:
    """A go-vcr cassette of endpoints beyond Messages (models, a file upload, a batch polled then its results)
    and one request to another host, beside a Ruby VCR one of Messages."""
    folder = tmp_path / "mine"
    folder.mkdir()
    boundary = "----egress"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n"
              f"Content-Type: text/plain\r\n\r\nsome notes\r\n--{boundary}--\r\n")

    def interaction(method: str, url: str, code: int, body: str, *, request: str = "", kind: str = "application/json"):
        return {"request": {"body": request, "form": {}, "headers": {"Content-Type": [kind],
                                                                      "Anthropic-Version": ["2023-06-01"]},
                            "url": url, "method": method},
                "response": {"body": body, "headers": {"Content-Type": ["application/json"],
                                                       "Request-Id": [f"req_{method}{code}"]},
                             "status": f"{code} OK", "code": code, "duration": "10ms"}}

    batch = {"id": "msgbatch_01", "type": "message_batch", "processing_status": "in_progress"}
    interactions = [
        interaction("GET", "https://api.anthropic.com/v1/models?limit=20", 200,
                    json.dumps({"data": [{"id": "claude-sonnet-4-5", "type": "model"}], "has_more": False})),
        interaction("POST", "https://api.anthropic.com/v1/files", 200,
                    json.dumps({"id": "file_01", "type": "file", "filename": "notes.txt", "size_bytes": 10}),
                    request=upload, kind=f"multipart/form-data; boundary={boundary}"),
        interaction("POST", "https://api.anthropic.com/v1/messages/batches", 200, json.dumps(batch),
                    request=json.dumps({"requests": [{"custom_id": "a", "params": {"model": "claude-sonnet-4-5",
                                        "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}}]})),
        interaction("GET", "https://api.anthropic.com/v1/messages/batches/msgbatch_01", 200,
                    json.dumps({**batch, "processing_status": "ended"})),
        interaction("GET", "https://api.anthropic.com/v1/messages/batches/msgbatch_01/results", 200,
                    '{"custom_id":"a","result":{"type":"succeeded"}}\n'),
        interaction("DELETE", "https://api.anthropic.com/v1/files/file_01", 200,
                    json.dumps({"id": "file_01", "type": "file_deleted"})),
        interaction("POST", "https://statsig.anthropic.com/v1/rgstr", 202, "{}"),
    ]
    (folder / "endpoints.yaml").write_text(yaml.safe_dump({"version": 2, "interactions": interactions}))
    (folder / "ruby.yml").write_text(_as_ruby_vcr(load(GZIP)[0]))
    yield folder


def test_every_endpoint_is_replayed_through_the_path_and_what_cannot_be_sent_is_counted(other_endpoints):
    """
    Through a transparent path every interaction comes back as recorded, a GET, a multipart upload and a batch's
    JSONL results included (the directive rides in a header and the query); the one recorded for another host is
    not sent and the result says so.
    """
    with ReferenceUpstream(UpstreamConfig(recordings_dirs=(other_endpoints,))) as upstream, \
            FaultProxy(upstream.base_url) as proxy:
        result = check_through(upstream, proxy.base_url, "replay.recorded-exchanges", recordings=other_endpoints)
        received = upstream.journal.entries()
    assert result.verdict is Verdict.PASS, result.message
    assert result.evidence["recorded_exchanges_sent"] == 7
    assert result.evidence["recorded_exchanges_not_sent"] == ["endpoints:6: recorded for statsig.anthropic.com"]
    upload = next(e for e in received if e.path == "/v1/files" and e.method == "POST")
    assert b"some notes" in upload.body and upload.headers.get("content-type").startswith("multipart/form-data")


def test_a_path_that_breaks_another_endpoint_is_named(other_endpoints):
    """
    A path that answers the Files API with its own 404 fails replay, naming the interaction.
    """
    with ReferenceUpstream(UpstreamConfig(recordings_dirs=(other_endpoints,))) as upstream, \
            FaultProxy(upstream.base_url, "block-path=/v1/files") as proxy:
        result = check_through(upstream, proxy.base_url, "replay.recorded-exchanges", recordings=other_endpoints)
    assert result.verdict is Verdict.FAIL
    assert "endpoints:1: status 404 (recorded 200)" in result.message


@pytest.mark.parametrize(("file", "content", "said"), [
    ("capture.har", "{}", "not a HAR file"),
    ("capture.json", "[1, 2]", "not a HAR file"),
    ("ruby.yml", "http_interactions: []\n", "no interactions"),
])
def test_a_file_in_no_known_format_is_one_line_naming_it(tmp_path, file, content, said):
    """
    A file that is none of the formats is a CassetteError naming the file and what is wrong.
    """
    (tmp_path / file).write_text(content)
    with pytest.raises(CassetteError) as caught:
        load_directory(tmp_path)
    assert file in str(caught.value) and said in str(caught.value)
