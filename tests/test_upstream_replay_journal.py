"""
Replay of recorded exchanges byte for byte, the journal (in-process and over HTTP), TLS with SNI, other endpoints.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import httpx
import pytest

from conformance.upstream import JournalEntry, ReferenceUpstream, _replay

from ._helpers import api_headers, message_body, new_cid, post

REPLAYABLE = [(n, r.index) for n in _replay.names() for r in _replay.load(n)]


@pytest.mark.parametrize(("name", "index"), REPLAYABLE, ids=[f"{n}[{i}]" for n, i in REPLAYABLE])
def test_replay_serves_the_recording_byte_for_byte(upstream, name, index):
    """
    replay=NAME:N answers with the recorded status, headers in order and case, and the recorded body bytes.
    """
    rec = _replay.load(name)[index]
    with httpx.Client() as client:
        with client.stream(
            "POST",
            upstream.base_url + "/v1/messages",
            headers=api_headers(),
            json=message_body(replay=f"{name}:{index}"),
        ) as response:
            wire = b"".join(response.iter_raw())  # the bytes as sent, gzip left as recorded
        raw_headers = [(k.decode(), v.decode()) for k, v in response.headers.raw]
    assert response.status_code == rec.status
    assert wire == rec.body
    assert [h for h in raw_headers if h[0].lower() not in ("content-length", "transfer-encoding", "server", "date")][
        : len(rec.headers)
    ] == [h for h in rec.headers if h[0].lower() not in ("server", "date")]


def test_unknown_recording_is_404(upstream):
    """
    replay of a name that does not exist is a clear 404.
    """
    response = post(upstream.base_url, message_body(replay="no-such-recording"))
    assert response.status_code == 404


def test_journal_keeps_raw_headers_in_order_and_case(upstream):
    """
    The journal records header names with their case and order, the raw body and the response chunks.
    """
    cid = new_cid()
    headers = [
        ("X-Mixed-Case", "1"),
        ("x-api-key", api_headers()["x-api-key"]),
        ("anthropic-version", "2023-06-01"),
        ("Anthropic-Beta", "a"),
        ("anthropic-beta", "b"),
        ("content-type", "application/json"),
    ]
    body = httpx.Request("POST", "http://x", json=message_body(cid=cid)).read()
    with httpx.Client() as client:
        response = client.post(upstream.base_url + "/v1/messages?beta=true", content=body, headers=headers)
    entry = upstream.journal.last(cid)
    names = [k for k, _ in entry.headers]
    assert names.index("X-Mixed-Case") < names.index("Anthropic-Beta") < names.index("anthropic-beta")
    assert entry.headers.get_all("anthropic-beta") == ["a", "b"]
    assert entry.body == body and entry.query == "beta=true" and entry.path == "/v1/messages"
    assert entry.response_body == response.content and entry.status == 200
    assert entry.request_id == response.headers["request-id"]


def test_journal_over_http(upstream):
    """
    GET /_conformance/journal?cid=ID returns the same entries as the in-process journal.
    """
    cid = new_cid()
    post(upstream.base_url, message_body(cid=cid, stream=True))
    with httpx.Client() as client:
        data = client.get(upstream.base_url + "/_conformance/journal", params={"cid": cid}).json()
    (entry,) = [JournalEntry.from_json(e) for e in data["entries"]]
    local = upstream.journal.last(cid)
    assert entry.body == local.body and entry.chunks == local.chunks and entry.headers == local.headers


def test_large_bodies_are_journaled_as_their_head_and_digests(upstream):
    """
    A body over 1 MiB is answered as the API would (200 up to 32 MiB, the API's 413 request_too_large above, read
    in full first so the client gets it rather than a reset) and journaled as its first 64 KiB with the length and
    digests of the whole, over HTTP too.
    """
    import hashlib

    from conformance.core._digest import json_sha256

    for size, status in ((3 << 20, 200), (33 << 20, 413)):
        cid = new_cid()
        body = message_body(cid=cid)
        body["messages"][0]["content"] += " " + "x" * size
        content = json.dumps(body).encode()
        answer = post(upstream.base_url, None, content=content)
        assert answer.status_code == status
        if status == 413:
            assert answer.json()["error"]["type"] == "request_too_large"
        with httpx.Client() as client:
            data = client.get(upstream.base_url + "/_conformance/journal", params={"cid": cid}).json()
        (entry,) = [JournalEntry.from_json(e) for e in data["entries"]]
        assert entry.body_truncated and entry.body == content[: 64 << 10]
        assert entry.body_length == len(content) and entry.body_sha256 == hashlib.sha256(content).hexdigest()
        assert entry.body_json_digest() == json_sha256(content)


def test_cid_without_body_comes_from_header_or_query(upstream):
    """
    For GET requests the correlation id comes from x-ec-cid or ?ec_cid=.
    """
    with httpx.Client() as client:
        client.get(upstream.base_url + "/v1/models", headers={**api_headers(), "x-ec-cid": "hdr1"})
        client.get(upstream.base_url + "/v1/models?ec_cid=qry1", headers=api_headers())
    assert upstream.journal.last("hdr1").path == "/v1/models"
    assert upstream.journal.last("qry1").query == "ec_cid=qry1"


def test_models_and_count_tokens(upstream):
    """
    /v1/models pages, /v1/models/{id} resolves, count_tokens answers input_tokens compactly.
    """
    with httpx.Client() as client:
        page = client.get(upstream.base_url + "/v1/models?limit=2", headers=api_headers()).json()
        one = client.get(upstream.base_url + f"/v1/models/{page['data'][0]['id']}", headers=api_headers()).json()
        missing = client.get(upstream.base_url + "/v1/models/claude-nope", headers=api_headers())
        body = message_body()
        del body["max_tokens"]
        count = client.post(upstream.base_url + "/v1/messages/count_tokens", json=body, headers=api_headers())
    assert page["has_more"] is True and len(page["data"]) == 2 and page["first_id"] == page["data"][0]["id"]
    assert one["type"] == "model"
    assert missing.status_code == 404
    assert count.content.startswith(b'{"input_tokens":') and count.json()["input_tokens"] > 0


def test_tls_serves_api_anthropic_com_and_journals_sni():
    """
    With TLS, a client that trusts the run's CA reaches https://api.anthropic.com and the journal holds the SNI.
    """
    with ReferenceUpstream(tls=True) as upstream:
        context = ssl.create_default_context(cafile=str(upstream.ca.ca_pem))
        transport = httpx.HTTPTransport(verify=context)
        cid = new_cid()
        # Connect to 127.0.0.1 while keeping Host, SNI and certificate check api.anthropic.com.
        with httpx.Client(transport=transport) as client:
            request = client.build_request(
                "POST",
                f"https://api.anthropic.com:{upstream.port}/v1/messages",
                json=message_body(cid=cid),
                headers=api_headers(),
            )
            request.extensions["sni_hostname"] = "api.anthropic.com"
            request.url = request.url.copy_with(host="127.0.0.1")
            request.headers["host"] = "api.anthropic.com"
            response = client.send(request)
        assert response.status_code == 200
        assert upstream.journal.last(cid).sni == "api.anthropic.com"


def test_standalone_prints_base_url_and_serves():
    """
    python -m conformance.upstream --port 0 prints its base URL and serves until terminated.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.upstream", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(base_url + "/_conformance/health").json()["status"] == "ok"
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_upstream_process_serves_journals_and_never_outlives_its_harness():
    """
    UpstreamProcess (the checklist's upstream, out of the harness's interpreter) serves HTTP and HTTPS as
    api.anthropic.com with one journal read over HTTP; its credentials never reach its command line; it exits when
    stopped and when the harness's end of its stdin closes.
    """
    from conformance.clients._observer import UpstreamObserver
    from conformance.paths import Credentials
    from conformance.upstream import UpstreamConfig, UpstreamProcess

    key = "sk-ant-api03-SENTINELprocess0000000000000000"
    upstream = UpstreamProcess(UpstreamConfig(api_keys={key})).start()
    try:
        assert key.encode() not in open(f"/proc/{upstream._process.pid}/cmdline", "rb").read()
        cid = new_cid()
        assert post(upstream.base_url, message_body(cid=cid), api_headers(**{"x-api-key": key})).status_code == 200
        context = ssl.create_default_context(cafile=str(upstream.ca_pem))
        with httpx.Client(transport=httpx.HTTPTransport(verify=context)) as client:
            request = client.build_request("POST", f"https://api.anthropic.com:{upstream.tls_port}/v1/messages",
                                           json=message_body(cid=cid), headers=api_headers(**{"x-api-key": key}))
            request.extensions["sni_hostname"] = "api.anthropic.com"
            request.url = request.url.copy_with(host="127.0.0.1")
            assert client.send(request).status_code == 200
        observer = UpstreamObserver("reference", upstream.base_url, Credentials(key, None),
                                    journal_url=upstream.journal_url)
        entries = observer.entries(cid)
        observer.close()
        assert [e.tls for e in entries] == [False, True] and entries[1].sni == "api.anthropic.com"
    finally:
        upstream.stop()
    assert upstream._process.returncode == 0 and upstream.ca_pem is not None and not upstream.ca_pem.exists()

    orphan = UpstreamProcess().start()
    try:
        orphan._process.stdin.close()  # what the kernel does when the harness is killed
        assert orphan._process.wait(10) == 0
    finally:
        orphan.stop()


def test_files_and_batches_are_kept_and_answered(upstream):
    """
    The upstream keeps an uploaded file (multipart, bytes as sent) and answers get, list and delete; a batch is
    created in progress, ends when read back, and its results are JSONL, one line per request.
    """
    with httpx.Client(timeout=30) as client:
        plain = {k: v for k, v in api_headers().items() if k.lower() != "content-type"}  # httpx writes multipart's
        upload = client.post(upstream.base_url + "/v1/files", headers=plain,
                             files={"file": ("notes.bin", bytes(range(256)), "application/octet-stream")})
        assert upload.status_code == 200 and upload.json()["size_bytes"] == 256
        file_id = upload.json()["id"]
        assert client.get(f"{upstream.base_url}/v1/files/{file_id}", headers=api_headers()).json() == upload.json()
        assert file_id in [f["id"] for f in client.get(upstream.base_url + "/v1/files", headers=api_headers()).json()
                           ["data"]]
        assert client.delete(f"{upstream.base_url}/v1/files/{file_id}", headers=api_headers()).json()["type"] == \
            "file_deleted"
        assert client.get(f"{upstream.base_url}/v1/files/{file_id}", headers=api_headers()).status_code == 404
        requests = [{"custom_id": f"r{i}", "params": message_body()} for i in range(3)]
        created = client.post(upstream.base_url + "/v1/messages/batches", headers=api_headers(),
                              json={"requests": requests}).json()
        assert created["processing_status"] == "in_progress"
        polled = client.get(f"{upstream.base_url}/v1/messages/batches/{created['id']}", headers=api_headers()).json()
        assert polled["processing_status"] == "ended" and polled["request_counts"]["succeeded"] == 3
        results = client.get(f"{upstream.base_url}/v1/messages/batches/{created['id']}/results",
                             headers=api_headers())
    lines = [json.loads(line) for line in results.content.splitlines()]
    assert [line["custom_id"] for line in lines] == ["r0", "r1", "r2"]
    assert all(line["result"]["message"]["type"] == "message" for line in lines)
