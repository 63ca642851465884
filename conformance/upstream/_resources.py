"""What a client creates on the API beyond a message: uploaded files (``/v1/files``) and message batches
(``/v1/messages/batches``), kept in memory and bounded, answered in the shapes of the SDK's types (reference doc
§8). A batch ends as soon as it is read back; its results are JSONL of ``{custom_id, result}``."""

from __future__ import annotations

import json
import random
import re
import string
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._problems import ApiError

MAX_KEPT = 256
"""Files and batches each; the oldest go first."""
API_ORIGIN = "https://api.anthropic.com"


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"


@dataclass
class StoredFile:
    meta: dict[str, Any]
    content: bytes


def uploaded_file(body: bytes, content_type: str) -> tuple[str, str, bytes]:
    """The ``file`` part of a multipart/form-data body: its filename, type and bytes; the API's 400 otherwise."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not content_type.startswith("multipart/form-data") or match is None:
        raise ApiError(400, "file: Field required")
    delimiter = b"--" + match.group(1).encode()
    for part in body.split(delimiter)[1:]:
        head, _, rest = part.partition(b"\r\n\r\n")
        if b'name="file"' not in head:
            continue
        filename = re.search(rb'filename="([^"]*)"', head)
        kind = re.search(rb"(?i)content-type:\s*([^\r\n]+)", head)
        return ((filename.group(1).decode(errors="replace") if filename else "upload"),
                (kind.group(1).decode(errors="replace").strip() if kind else "application/octet-stream"),
                rest[:-2] if rest.endswith(b"\r\n") else rest)
    raise ApiError(400, "file: Field required")


class StoredResources:
    """Files and batches by id; ``answer`` turns a batch request's ``params`` into the message it gets."""

    def __init__(self, rng: random.Random, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.rng = rng
        self.answer = answer
        self.files: OrderedDict[str, StoredFile] = OrderedDict()
        self.batches: OrderedDict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = OrderedDict()

    @staticmethod
    def _keep(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        while len(store) > MAX_KEPT:
            store.popitem(last=False)

    # -- files -------------------------------------------------------------------------------------------------

    def upload(self, body: bytes, content_type: str) -> dict[str, Any]:
        filename, kind, content = uploaded_file(body, content_type)
        meta = {"id": _id(self.rng, "file_011C"), "type": "file", "filename": filename, "mime_type": kind,
                "size_bytes": len(content), "created_at": _now(), "downloadable": False}
        self._keep(self.files, meta["id"], StoredFile(meta, content))
        return meta

    def file(self, file_id: str) -> StoredFile:
        if file_id not in self.files:
            raise ApiError(404, f"File not found: {file_id}")
        return self.files[file_id]

    def file_page(self) -> dict[str, Any]:
        data = [f.meta for f in reversed(self.files.values())]
        return {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}

    def delete_file(self, file_id: str) -> dict[str, Any]:
        self.file(file_id)
        del self.files[file_id]
        return {"id": file_id, "type": "file_deleted"}

    # -- batches -----------------------------------------------------------------------------------------------

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "requests: Field required")
        results = []
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str) \
                    or not isinstance(item.get("params"), dict):
                raise ApiError(400, f"requests.{i}: Input does not match the expected shape.")
            try:
                result = {"type": "succeeded", "message": self.answer(item["params"])}
            except ApiError as error:
                result = {"type": "errored", "error": {"type": "error", "error": {"type": error.error_type,
                                                                                   "message": error.message}}}
            results.append({"custom_id": item["custom_id"], "result": result})
        meta = {"id": _id(self.rng, "msgbatch_01"), "type": "message_batch", "processing_status": "in_progress",
                "request_counts": {"processing": len(results), "succeeded": 0, "errored": 0, "canceled": 0,
                                   "expired": 0},
                "ended_at": None, "created_at": _now(), "expires_at": _now(), "archived_at": None,
                "cancel_initiated_at": None, "results_url": None}
        self._keep(self.batches, meta["id"], (meta, results))
        return dict(meta)

    def batch(self, batch_id: str) -> dict[str, Any]:
        """The batch, ended from its first read on (a client polls until ``ended``)."""
        if batch_id not in self.batches:
            raise ApiError(404, f"Batch not found: {batch_id}")
        meta, results = self.batches[batch_id]
        if meta["processing_status"] != "ended":
            succeeded = sum(1 for r in results if r["result"]["type"] == "succeeded")
            meta.update(processing_status="ended", ended_at=_now(),
                        request_counts={"processing": 0, "succeeded": succeeded, "errored": len(results) - succeeded,
                                        "canceled": 0, "expired": 0},
                        results_url=f"{API_ORIGIN}/v1/messages/batches/{batch_id}/results")
        return dict(meta)

    def batch_results(self, batch_id: str) -> bytes:
        meta = self.batch(batch_id)
        return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n"
                        for r in self.batches[meta["id"]][1])
