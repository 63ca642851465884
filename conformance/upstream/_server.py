"""The reference upstream's routing: the control channel, authentication, and which answer each request gets.

Writing the answer lives in ``_writer`` (JSON, errors), ``_pacing`` (streams) and ``_replay`` (recordings)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from aiohttp import web

from ..core._errors import RECOVERY_MESSAGES, envelope
from ..core._exceptions import ScenarioError
from ..core._fixtures import RECORDINGS_DIR
from ..core._ids import request_id as new_request_id
from ..core._wire import split_betas
from . import _replay
from ._auth import authenticate, check_version
from ._cache import PromptCache
from ._config import UpstreamConfig
from ._directive import CID_HEADER, REPLAY_HEADER, Scenario, directive_values
from ._headers import response_headers
from ._journal import JournalEntry, UpstreamJournal
from ._model import answer, count_tokens
from ._pacing import stream
from ._problems import ApiError
from ._render import message_json, sse_events
from ._resources import StoredResources
from ._thinking import verify_history
from ._validate import check_beta_pairs, check_messages, check_model, parse_body
from ._writer import ResponseWriter, send_error, send_json

CONTROL_PREFIX = "/_conformance"
MODELS = (
    ("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
)


class UpstreamApp:
    """The aiohttp application behind ``ReferenceUpstream``; all state lives here."""

    def __init__(self, config: UpstreamConfig, journal: UpstreamJournal) -> None:
        self.config = config
        self.journal = journal
        self.cache = PromptCache(config.min_cacheable_tokens)
        self.rng = random.Random(config.seed)
        self.requests_remaining = 20000
        self.resources = StoredResources(self.rng, self._batch_message)
        self.app = web.Application(client_max_size=config.max_body_bytes * 2)
        self.app.router.add_route("GET", CONTROL_PREFIX + "/health", self.health)
        self.app.router.add_route("GET", CONTROL_PREFIX + "/journal", self.read_journal)
        self.app.router.add_route("DELETE", CONTROL_PREFIX + "/journal", self.clear_journal)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # -- control channel (not journaled) -------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "entries": len(self.journal)})

    async def read_journal(self, request: web.Request) -> web.Response:
        cid = request.query.get("cid")
        since_text = request.query.get("since", "0")
        if not since_text.isdigit():
            message = f"since: {since_text[:40]!r} is not a sequence number"
            return web.json_response(envelope("invalid_request_error", message, None), status=400)
        since = int(since_text)
        entries = [e.to_json() for e in self.journal.entries(cid) if e.seq > since]
        return web.json_response({"entries": entries})

    async def clear_journal(self, request: web.Request) -> web.Response:
        self.journal.clear()
        self.cache.clear()
        return web.json_response({"cleared": True})

    # -- the API ---------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        # A body over the limit is still read (up to twice the limit, the server's own cap) before the 413: answered
        # while the client still writes, the answer is lost to a reset.
        declared = request.content_length or 0
        body = b"" if declared > 2 * self.config.max_body_bytes else await request.read()
        too_large = max(declared, len(body)) > self.config.max_body_bytes
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):  # parse_body answers it in the API's shape
                parsed = None
        given = directive_values(parsed)
        # A request with no Messages body to carry the directive (a GET, a file upload) names what to replay and
        # its correlation id in a header or the query string.
        replay = request.headers.get(REPLAY_HEADER) or request.query.get("ec_replay")
        if replay and "replay" not in given:
            given = {**given, "replay": replay}
        cid = given.get("cid") or request.headers.get(CID_HEADER) or request.query.get("ec_cid")
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        entry = JournalEntry(
            seq=self.journal.next_seq(),
            cid=cid,
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            body=body,
            received_at=received_at,
            sni=getattr(ssl_object, "egress_sni", None),
            tls=ssl_object is not None,
            request_id=new_request_id(self.rng),
            scenario=dict(given),
        )
        self.journal.add(entry)
        accepts_gzip = self.config.gzip and "gzip" in request.headers.get("Accept-Encoding", "")
        writer = ResponseWriter(request, entry, accepts_gzip)
        try:
            if too_large:
                raise ApiError(413)
            try:
                scenario = Scenario.parse(given)
            except ScenarioError as exc:  # a harness bug or a hand-written directive: say which key, at once
                raise ApiError(400, str(exc)) from None
            if scenario.replay is not None:
                return await _replay.serve(writer, scenario.replay, (*self.config.recordings_dirs, RECORDINGS_DIR))
            return await self._route(request, parsed, body, scenario, writer)
        except ApiError as error:
            return await send_error(writer, error, self.config, self.rng, self.requests_remaining)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug in the upstream must still answer in the API's shape
            error = ApiError(500, f"reference upstream bug: {type(exc).__name__}: {exc}")
            return await send_error(writer, error, self.config, self.rng, self.requests_remaining)

    async def _route(
        self, request: web.Request, parsed: Any, body: bytes, scenario: Scenario, writer: ResponseWriter
    ) -> web.StreamResponse:
        path, method = request.path, request.method
        known = {
            ("POST", "/v1/messages"),
            ("POST", "/v1/messages/count_tokens"),
            ("GET", "/v1/models"),
        }
        is_model = method == "GET" and path.startswith("/v1/models/") and path.count("/") == 3
        resource = path.startswith(("/v1/files", "/v1/messages/batches"))
        if (method, path) not in known and not is_model and not resource:
            raise ApiError(404, "Not Found")
        headers = request.headers
        authenticate(
            headers.get("x-api-key"), headers.get("authorization"), headers.getall("anthropic-beta", []), self.config
        )
        check_version(headers.getall("anthropic-version", []), self.config)
        if resource:
            return await self._resource(request, body, writer)
        if path == "/v1/models":
            return await self._json(writer, self._model_page(request))
        if is_model:
            model_id = path.rsplit("/", 1)[1]
            for info in self._model_infos():
                if info["id"] == model_id:
                    return await self._json(writer, info)
            raise ApiError(404, f"model: {model_id}")
        parsed = parse_body(body)
        check_messages(parsed, needs_max_tokens=path == "/v1/messages")
        betas = frozenset(split_betas(headers.getall("anthropic-beta", [])))
        check_beta_pairs(parsed, betas)
        if scenario.wording is not None:
            raise ApiError(400, RECOVERY_MESSAGES[scenario.wording])
        if scenario.status is not None and scenario.status >= 400:
            raise self._scenario_error(scenario.status, scenario)
        check_model(parsed["model"])
        if path == "/v1/messages/count_tokens":
            return await self._json(writer, {"input_tokens": count_tokens(parsed)})
        verify_history(self.config.signing_key, parsed, betas)
        usage = self.cache.account(parsed)
        result = answer(parsed, scenario, self.config, usage, self.rng, betas)
        if scenario.delay > 0:  # a slow model: nothing is sent until the answer is ready
            await asyncio.sleep(scenario.delay)
        if parsed.get("stream") is True:
            headers = self._headers(writer, "text/event-stream; charset=utf-8", sse=True, scenario=scenario)
            return await stream(writer, headers, sse_events(result), scenario, self.rng)
        headers = self._headers(writer, "application/json", scenario=scenario)
        return await send_json(writer, headers, message_json(result))

    async def _resource(self, request: web.Request, body: bytes, writer: ResponseWriter) -> web.StreamResponse:
        """Files (upload, list, get, delete) and message batches (create, get, results)."""
        method, parts, store = request.method, request.path.strip("/").split("/")[1:], self.resources
        if parts[0] == "files":
            if len(parts) == 1 and method == "POST":
                return await self._json(writer, store.upload(body, request.headers.get("content-type", "")))
            if len(parts) == 1 and method == "GET":
                return await self._json(writer, store.file_page())
            if len(parts) == 2 and method == "GET":
                return await self._json(writer, store.file(parts[1]).meta)
            if len(parts) == 2 and method == "DELETE":
                return await self._json(writer, store.delete_file(parts[1]))
        elif len(parts) == 2 and method == "POST":
            return await self._json(writer, store.create_batch(parse_body(body)))
        elif len(parts) == 3 and method == "GET":
            return await self._json(writer, store.batch(parts[2]))
        elif len(parts) == 4 and parts[3] == "results" and method == "GET":
            writer.gzip = False
            return await writer.whole(200, self._headers(writer, "application/binary"), store.batch_results(parts[2]))
        raise ApiError(404, "Not Found")

    def _batch_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """The message one request of a batch gets, as a non-streaming answer would be."""
        check_messages(params, needs_max_tokens=True)
        check_model(params["model"])
        try:
            scenario = Scenario.parse(directive_values(params))
        except ScenarioError as exc:
            raise ApiError(400, str(exc)) from None
        result = answer(params, scenario, self.config, self.cache.account(params), self.rng, frozenset())
        return message_json(result)

    def _scenario_error(self, status: int, scenario: Scenario) -> ApiError:
        error = ApiError(status, should_retry=scenario.should_retry)
        error.omit_should_retry = scenario.has("should_retry") and scenario.should_retry is None
        if scenario.retry_after is not None:
            error.retry_after = scenario.retry_after
        elif not scenario.has("retry_after") and status == 429:
            error.retry_after = self.config.retry_after_seconds
        return error

    def _headers(self, writer: ResponseWriter, content_type: str, *, sse: bool = False,
                 scenario: Scenario | None = None) -> list[tuple[str, str]]:
        self.requests_remaining -= 1
        headers = response_headers(
            content_type=content_type,
            request_id=writer.entry.request_id or "",
            organization_id=self.config.organization_id,
            rng=self.rng,
            ratelimit=True,
            requests_remaining=self.requests_remaining,
            sse=sse,
        )
        if scenario is not None and scenario.retry_after is not None:
            headers.append(("retry-after", str(scenario.retry_after)))
        return headers

    async def _json(self, writer: ResponseWriter, payload: Any) -> web.StreamResponse:
        return await send_json(writer, self._headers(writer, "application/json"), payload)

    def _model_infos(self) -> list[dict[str, Any]]:
        return [{"type": "model", "id": i, "display_name": n, "created_at": c} for i, n, c in MODELS]

    def _model_page(self, request: web.Request) -> dict[str, Any]:
        infos = self._model_infos()
        text = request.query.get("limit", "20")
        if not text.isdigit() or not 1 <= int(text) <= 1000:
            raise ApiError(400, "limit: Input should be an integer between 1 and 1000")
        limit = int(text)
        page = infos[:limit]
        return {
            "data": page,
            "has_more": len(infos) > len(page),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
