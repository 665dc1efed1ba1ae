"""The spans table: X-Ray documents (what workers send to golive dev's daemon address, and the segments the local
cloud makes for the gateway and each invocation), batched into DuckDB and flattened there, one row per span.

The callbacks only append (bytes as received, dicts as built). A background thread writes each batch as one
NDJSON file beside the store, and one INSERT ... SELECT parses the documents and unfolds their nested subsegments
in DuckDB (a recursive query), off the event loop and with the GIL released, as the collector does for lines."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from typing import Any

from golive.telemetry.store import Store

# A batch costs a fixed ~15 ms of DuckDB work whatever its size, and nothing waits for spans the way `golive logs
# --tail` waits for requests (readers of spans flush first): a batch a second at most, larger ones under load.
FLUSH_INTERVAL_S = 1.0
BUSY_SHARE = 0.02  # the writer works at most this share of the time ...
MAX_INTERVAL_S = 5.0  # ... and waits at most this long between batches
MAX_DEPTH = 32  # nested subsegments deeper than this are not unfolded (X-Ray documents are shallow)

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False, default=str).encode

# The fields of a span read in one JSON parse per node (json_extract_string with a list of paths)
_PATHS = ["$.id", "$.parent_id", "$.trace_id", "$.name", "$.type", "$.origin", "$.namespace", "$.start_time",
          "$.end_time", "$.http.response.status", "$.error", "$.fault", "$.throttle", "$.in_progress",
          "$.cause.exceptions[0].type", "$.cause.exceptions[0].message", "$.aws.operation", "$.aws.table_name",
          "$.annotations.table_name", "$.annotations.table", "$.http.request.url"]
_V = {path: index for index, path in enumerate(_PATHS, start=1)}


def _v(path: str) -> str:
    return f"v[{_V[path]}]"


_EPOCH_US = "make_timestamp((TRY_CAST({} AS DOUBLE) * 1000000)::BIGINT)"
_FLAG = "coalesce(TRY_CAST({} AS BOOLEAN), FALSE)"

# One document per line; a line that is not a JSON object (a stray datagram) is skipped. Top-level documents carry
# their trace id and parent; a nested subsegment takes its trace from the document and its parent from the node
# it is nested in.
SPANS_SQL = rf"""INSERT INTO spans
WITH RECURSIVE lines AS (
    SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(?)),
documents AS (
    SELECT line::JSON AS node FROM lines WHERE starts_with(line, '{{') AND json_valid(line)
        AND json_type(line) = 'OBJECT'),
tree(node, parent, trace, depth) AS (
    SELECT node, node->>'$.parent_id', node->>'$.trace_id', 0 FROM documents
    UNION ALL
    SELECT unnest(from_json(node->'$.subsegments', '["JSON"]')), node->>'$.id', trace, depth + 1
    FROM tree WHERE depth < {MAX_DEPTH} AND json_type(node, '$.subsegments') = 'ARRAY'),
fields AS (
    SELECT node, parent, trace, depth, json_extract_string(node, {_PATHS!r}) AS v FROM tree),
spans AS (
    SELECT *, CASE WHEN depth > 0 OR {_v("$.type")} = 'subsegment' THEN 'subsegment'
                   WHEN {_v("$.origin")} = 'AWS::ApiGateway::Stage' THEN 'gateway'
                   WHEN {_v("$.origin")} = 'AWS::Lambda::Function' THEN 'function'
                   ELSE 'segment' END AS kind
    FROM fields
    WHERE {_v("$.id")} IS NOT NULL AND TRY_CAST({_v("$.start_time")} AS DOUBLE) IS NOT NULL
        AND NOT {_FLAG.format(_v("$.in_progress"))})  -- an in-progress document is sent again once complete
SELECT {_EPOCH_US.format(_v("$.start_time"))}, coalesce(trace, {_v("$.trace_id")}), {_v("$.id")},
    CASE WHEN depth > 0 THEN parent ELSE {_v("$.parent_id")} END, {_v("$.name")}, kind,
    CASE WHEN kind <> 'subsegment' THEN {_v("$.origin")} END, {_v("$.namespace")},
    {_EPOCH_US.format(_v("$.end_time"))},
    round((TRY_CAST({_v("$.end_time")} AS DOUBLE) - TRY_CAST({_v("$.start_time")} AS DOUBLE)) * 1000, 3),
    TRY_CAST({_v("$.http.response.status")} AS SMALLINT),
    {_FLAG.format(_v("$.error"))}, {_FLAG.format(_v("$.fault"))}, {_FLAG.format(_v("$.throttle"))},
    nullif(concat_ws(': ', {_v("$.cause.exceptions[0].type")}, {_v("$.cause.exceptions[0].message")}), ''),
    -- X-Ray SDKs name an AWS call's service and put the operation in aws.operation; golive's tracer may name
    -- the call 'DynamoDB.GetItem' instead
    coalesce({_v("$.aws.operation")}, CASE WHEN {_v("$.namespace")} = 'aws' AND contains({_v("$.name")}, '.')
                                          THEN split_part({_v("$.name")}, '.', 2) END),
    coalesce({_v("$.aws.table_name")}, {_v("$.annotations.table_name")}, {_v("$.annotations.table")}),
    {_v("$.http.request.url")},
    (node->'$.annotations')::VARCHAR, (node->'$.metadata')::VARCHAR,
    json_merge_patch(node, '{{"subsegments": null}}')::VARCHAR
FROM spans"""


class Spans:
    """Buffers trace documents and writes them to `store`'s spans table from a background thread; the local cloud's
    SpanSink (golive.local.xray)."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self._datagrams: list[bytes] = []
        self._segments: list[dict[str, Any]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cursor: Any = None
        self.rows_written = 0

    # -- the hot path: appends only (list.append is atomic) ---------------------------------------------------
    def on_datagram(self, body: bytes) -> None:
        self._datagrams.append(body)

    def on_segment(self, document: dict[str, Any]) -> None:
        self._segments.append(document)

    # -- the background thread --------------------------------------------------------------------------------
    def start(self) -> Spans:
        self._thread = threading.Thread(target=self._run, name="golive-spans", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Store what is still buffered, then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
        self.flush()

    def _run(self) -> None:
        interval = self.flush_interval
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                started = time.perf_counter()
                self.flush()
                took = time.perf_counter() - started
                interval = min(MAX_INTERVAL_S, max(self.flush_interval, took * (1 - BUSY_SHARE) / BUSY_SHARE))
            except Exception as exc:  # telemetry must never take the dev server down
                print(f"golive dev: span write failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def flush(self) -> int:
        """Store what arrived; returns the spans written."""
        with self._lock:
            datagrams, self._datagrams = self._datagrams, []
            segments, self._segments = self._segments, []
            if not (datagrams or segments):
                return 0
            if self._cursor is None:
                self._cursor = self.store.cursor()
            # one document per line: a raw newline in a document can only be whitespace between JSON tokens
            lines = [_encode(document) for document in segments]
            lines += [body.replace(b"\n", b" ").decode("utf-8", "replace") for body in datagrams]
            with self.store.staged(lines) as path:
                written = self.store.run(SPANS_SQL, [path], self._cursor)
            self.rows_written += written
            return written


def request_spans(cur: Any, trace_id: str, request_id: str | None, started: str,
                  window: tuple[int, int]) -> list[dict[str, Any]]:
    """The spans of one request's trace as a timeline: depth-first by start time, each with its depth and its
    offset from the request's start (`started`, ISO). When a client reused one trace id for several requests,
    only the spans beneath this request's gateway segment."""
    rows = cur.execute(
        """SELECT id, parent_id, name, kind, origin, namespace, ts AS start, end_ts AS "end", duration_ms,
                  status, error, fault, throttle, exception, operation, table_name, url, annotations, metadata,
                  document->>'$.aws.api_gateway.request_id' AS gateway_request_id,
                  epoch_us(ts) AS start_us
           FROM spans WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) AND trace_id = ?
           ORDER BY ts, id""", [*window, trace_id]).fetchall()
    names = [column[0] for column in cur.description]
    spans = [dict(zip(names, row, strict=True)) for row in rows]
    gateways = [span for span in spans if span["kind"] == "gateway"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {span["id"] for span in spans}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children.setdefault(parent, []).append(span)
    roots = children.get(None, [])
    if len(gateways) > 1:
        roots = [span for span in gateways if span["gateway_request_id"] == request_id]
    # the request starts when the gateway received it: its segment's start (the requests row keeps milliseconds)
    origin_us = min((span["start_us"] for span in roots), default=None)
    if origin_us is None:
        origin_us = dt.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() * 1_000_000
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(span: dict[str, Any], depth: int) -> None:
        if span["id"] in seen:  # a document sent twice, or a cycle: shown once
            return
        seen.add(span["id"])
        ordered.append(_span_record(span, depth, origin_us))
        for child in children.get(span["id"], []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return ordered


def _span_record(span: dict[str, Any], depth: int, origin_us: float) -> dict[str, Any]:
    from golive.telemetry.queries import jsonable  # queries imports this module: a top-level import would cycle

    record = {key: jsonable(value) for key, value in span.items()
              if key not in ("gateway_request_id", "start_us", "annotations", "metadata")}
    record["depth"] = depth
    record["offset_ms"] = round((span["start_us"] - origin_us) / 1000, 3)
    for key in ("annotations", "metadata"):
        try:
            record[key] = json.loads(span[key]) if span[key] else {}
        except ValueError:
            record[key] = {}
    return record
