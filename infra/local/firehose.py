"""A local twin of Data Firehose for the landing's delivery streams (moto stores streams, delivers nothing).

What it does is what Firehose does with the configuration the stream holds (read back from moto, as
infra/landing_spec.py wrote it):
- EventBridge hands each matching event to its rule's stream target (moto 5.2.5 knows no Firehose
  target: `Rule.send_to_targets` is wrapped, every other target left to moto; a disabled rule
  delivers nothing, as in AWS);
- records are buffered per stream until the buffer holds `SizeInMBs` or is `IntervalInSeconds` old
  on the runtime's clock (a drain delivers whatever is buffered, as the interval would);
- each buffer goes to the processor Lambda in invocations of at most its `BufferSizeInMBs`; an
  invocation that fails is retried 3 times, then its records are processing failures;
- `Ok` records are grouped by their partition keys, converted to Parquet with the columns of the
  Glue table the stream names (Snappy) and put under the stream's `Prefix`, its expressions filled
  in; `Dropped` records are gone; `ProcessingFailed` ones are written as they came, with the error,
  under `ErrorOutputPrefix` (`processing-failed`).
https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html
https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
"""

from __future__ import annotations

import base64
import copy
import json
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenacity import Retrying, stop_after_attempt

from infra.local.clock import Clock

PROCESSING_FAILED = "The record was marked ProcessingFailed by the processor Lambda"
PROCESSING_FAILED = "The record was marked ProcessingFailed by the processor Lambda"
# Firehose retries a failed invocation of the processor three times by default.
INVOKE_ATTEMPTS = 4
_EXPRESSION = re.compile(r"!\{([a-zA-Z]+):([^}]*)\}")
# Java date patterns Firehose's `!{timestamp:...}` takes, as far as the landing uses them.
_JAVA_DATE = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
# Hive column types -> DuckDB's, for the Parquet conversion.
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


@dataclass
class StreamStats:
    """What one stream did: records in, per transformation result, objects and bytes written."""

    received: int = 0
    ok: int = 0
    dropped: int = 0
    failed: int = 0
    objects: int = 0
    bytes: int = 0
    invocations: int = 0


@dataclass
class _Buffer:
    records: list[tuple[str, bytes, float]] = field(default_factory=list)  # (record id, data, arrival)
    size: int = 0
    opened: float = 0.0


Invoke = Callable[[str, Any], Any]  # (logical function name, event) -> answer


class LocalFirehose:
    """The delivery streams of one local runtime: `accept` from EventBridge, `flush` to S3."""

    def __init__(
        self,
        *,
        firehose: Any,
        glue: Any,
        s3: Any,
        invoke: Invoke,
        functions_by_arn: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self._firehose = firehose
        self._glue = glue
        self._s3 = s3
        self._invoke = invoke
        self._functions = dict(functions_by_arn)
        self._clock = clock
        self._lock = threading.Lock()
        self._buffers: dict[str, _Buffer] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        self._columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.stats: dict[str, StreamStats] = {}

    # --- in ------------------------------------------------------------------------------------

    def accept(self, stream_arn: str, event: Mapping[str, Any]) -> None:
        """One record for the stream: the EventBridge event as JSON, as EventBridge sends it."""
        name = stream_arn.rpartition("/")[2]
        data = json.dumps(event, separators=(",", ":")).encode()
        with self._lock:
            buffer = self._buffers.setdefault(name, _Buffer())
            if not buffer.records:
                buffer.opened = self._clock.time()
            buffer.records.append((uuid.uuid4().hex, data, self._clock.time()))
            buffer.size += len(data)
            self.stats.setdefault(name, StreamStats()).received += 1

    # --- out -----------------------------------------------------------------------------------

    def flush(self, *, force: bool = False) -> int:
        """Deliver every buffer that is full or old enough (every buffer with `force`); records delivered."""
        due: list[tuple[str, _Buffer]] = []
        with self._lock:
            for name, buffer in list(self._buffers.items()):
                if not buffer.records:
                    continue
                hints = self._config(name)["BufferingHints"]
                full = buffer.size >= int(hints["SizeInMBs"]) * 1024 * 1024
                old = self._clock.time() - buffer.opened >= int(hints["IntervalInSeconds"])
                if force or full or old:
                    due.append((name, buffer))
                    self._buffers[name] = _Buffer()
        for name, buffer in due:
            self._deliver(name, buffer.records)
        return sum(len(buffer.records) for _, buffer in due)

    def pending(self) -> int:
        """Records buffered, not yet delivered."""
        with self._lock:
            return sum(len(b.records) for b in self._buffers.values())

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:
            described = self._firehose.describe_delivery_stream(DeliveryStreamName=name)
            destination = described["DeliveryStreamDescription"]["Destinations"][0]
            self._configs[name] = destination["ExtendedS3DestinationDescription"]
        return self._configs[name]

    def _deliver(self, name: str, records: list[tuple[str, bytes, float]]) -> None:
        config = self._config(name)
        processor = config["ProcessingConfiguration"]["Processors"][0]
        parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
        function = self._functions[parameters["LambdaArn"]]
        limit = int(parameters.get("BufferSizeInMBs", "3")) * 1024 * 1024
        stats = self.stats.setdefault(name, StreamStats())
        rows: dict[str, list[str]] = {}
        failures: list[dict[str, Any]] = []
        for chunk in _chunks(records, limit):
            answers, error = self._transform(name, function, chunk, stats)
            by_id = {record_id: (data, arrival) for record_id, data, arrival in chunk}
            if answers is None:
                failures += [
                    _failure(data, arrival, "Lambda.InvokeFailed", error) for data, arrival in by_id.values()
                ]
                continue
            for answer in answers:
                data, arrival = by_id[answer["recordId"]]
                if answer["result"] == "Ok":
                    keys = answer.get("metadata", {}).get("partitionKeys", {})
                    prefix = _fill(config["Prefix"], keys=keys, error_type="", at=arrival)
                    rows.setdefault(prefix, []).append(base64.b64decode(answer["data"]).decode())
                    stats.ok += 1
                elif answer["result"] == "Dropped":
                    stats.dropped += 1
                else:
                    # Firehose says only that the processor failed the record (why is in its logs).
                    failures.append(_failure(data, arrival, "Lambda.ProcessingFailed", PROCESSING_FAILED))
        for prefix, lines in rows.items():
            self._put_parquet(name, config, prefix, lines, stats)
        if failures:
            stats.failed += len(failures)
            prefix = _fill(
                config["ErrorOutputPrefix"], keys={}, error_type="processing-failed", at=self._clock.time()
            )
            body = "".join(json.dumps(f) + "\n" for f in failures).encode()
            self._put(config, f"{prefix}{_object_name(name, self._clock.time())}", body, stats)

    def _transform(
        self, name: str, function: str, chunk: list[tuple[str, bytes, float]], stats: StreamStats
    ) -> tuple[list[dict[str, Any]] | None, str]:
        request: dict[str, Any] = {
            "invocationId": uuid.uuid4().hex,
            "deliveryStreamArn": f"arn:aws:firehose:local:000000000000:deliverystream/{name}",
            "region": "local",
            "records": [
                {
                    "recordId": record_id,
                    "approximateArrivalTimestamp": int(arrival * 1000),
                    "data": base64.b64encode(data).decode(),
                }
                for record_id, data, arrival in chunk
            ],
        }
        expected = sorted(r["recordId"] for r in request["records"])

        def attempt() -> list[dict[str, Any]]:
            stats.invocations += 1
            answers = list(self._invoke(function, request)["records"])
            if sorted(a.get("recordId") for a in answers) != expected:
                # Firehose's contract: one answer per record, same ids; otherwise the batch failed.
                raise ValueError("the processor's answer does not name every record once")
            return answers

        try:
            # Firehose retries a failed invocation (no wait asked of the twin: its clock is virtual).
            for retry in Retrying(stop=stop_after_attempt(INVOKE_ATTEMPTS), reraise=True):
                with retry:
                    return attempt(), ""
        except Exception as exc:  # any failed invocation is one to Firehose
            return None, f"{type(exc).__name__}: {exc}"
        raise AssertionError("unreachable: Retrying either returns or raises")

    def _columns_of(self, config: dict[str, Any]) -> list[tuple[str, str]]:
        schema = config["DataFormatConversionConfiguration"]["SchemaConfiguration"]
        key = (schema["DatabaseName"], schema["TableName"])
        if key not in self._columns:
            table = self._glue.get_table(DatabaseName=key[0], Name=key[1])["Table"]
            self._columns[key] = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        return self._columns[key]

    def _put_parquet(
        self, name: str, config: dict[str, Any], prefix: str, lines: list[str], stats: StreamStats
    ) -> None:
        import duckdb  # the local runtime's Parquet writer (a dev dependency, never in a Lambda)

        columns = ", ".join(f"{json.dumps(c)}: '{_duckdb_type(t)}'" for c, t in self._columns_of(config))
        compression = config["DataFormatConversionConfiguration"]["OutputFormatConfiguration"]["Serializer"][
            "ParquetSerDe"
        ].get("Compression", "SNAPPY")
        with tempfile.TemporaryDirectory() as scratch:
            source, target = Path(scratch) / "rows.json", Path(scratch) / "rows.parquet"
            source.write_text("\n".join(lines) + "\n", encoding="utf-8")
            connection = duckdb.connect(":memory:")
            try:
                connection.execute(
                    # Column names and types come from the Glue table; paths from this process.
                    f"COPY (SELECT * FROM read_json('{source}', format = 'newline_delimited',"  # noqa: S608
                    f" columns = {{{columns}}})) TO '{target}'"
                    f" (FORMAT parquet, COMPRESSION {compression.lower()})"
                )
            finally:
                connection.close()
            body = target.read_bytes()
        key = f"{prefix}{_object_name(name, self._clock.time())}{config.get('FileExtension', '')}"
        self._put(config, key, body, stats)

    def _put(self, config: dict[str, Any], key: str, body: bytes, stats: StreamStats) -> None:
        bucket = config["BucketARN"].removeprefix("arn:aws:s3:::")
        self._s3.put_object(Bucket=bucket, Key=key, Body=body)
        stats.objects += 1
        stats.bytes += len(body)


def _duckdb_type(hive: str) -> str:
    if hive.startswith("decimal("):
        return hive.upper().replace(" ", "")
    return _DUCKDB_TYPES[hive]


def _chunks(records: list[tuple[str, bytes, float]], limit: int) -> list[list[tuple[str, bytes, float]]]:
    chunks: list[list[tuple[str, bytes, float]]] = [[]]
    size = 0
    for record in records:
        if chunks[-1] and size + len(record[1]) > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(record)
        size += len(record[1])
    return chunks


def _failure(data: bytes, arrival: float, code: str, message: str) -> dict[str, Any]:
    # The shape Firehose writes a processing failure in (the record's raw data base64, with why).
    return {
        "attemptsMade": INVOKE_ATTEMPTS,
        "arrivalTimestamp": int(arrival * 1000),
        "errorCode": code,
        "errorMessage": message,
        "rawData": base64.b64encode(data).decode(),
    }


def _object_name(stream: str, at: float) -> str:
    # Firehose names objects <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>.
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return f"{stream}-1-{stamp}-{uuid.uuid4()}"


def _fill(template: str, *, keys: Mapping[str, str], error_type: str, at: float) -> str:
    def value(match: re.Match[str]) -> str:
        namespace, argument = match.group(1), match.group(2)
        if namespace == "partitionKeyFromLambda":
            if argument not in keys:
                raise ValueError(f"the processor gave no partition key {argument!r}")
            return keys[argument]
        if namespace == "timestamp":
            pattern = argument
            for java, python in _JAVA_DATE:
                pattern = pattern.replace(java, python)
            return datetime.fromtimestamp(at, UTC).strftime(pattern)
        if namespace == "firehose" and argument == "error-output-type":
            return error_type
        if namespace == "firehose" and argument == "random-string":
            return uuid.uuid4().hex[:11]
        raise ValueError(f"unsupported prefix expression !{{{namespace}:{argument}}}")

    return _EXPRESSION.sub(value, template)


# --- EventBridge's Firehose targets ------------------------------------------------------------------

_active: LocalFirehose | None = None
_original: Any = None
_install_lock = threading.Lock()


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    # A disabled rule delivers nothing in AWS; moto 5.2.5 delivers regardless.
    if getattr(self, "state", "ENABLED") != "ENABLED":
        return
    # moto refuses a target it does not know: it gets a copy of the rule without the Firehose ones.
    streams = [t for t in self.targets if ":firehose:" in t["Arn"]]
    if len(streams) < len(self.targets):
        others = copy.copy(self)
        others.targets = [t for t in self.targets if ":firehose:" not in t["Arn"]]
        _original(others, original_event, transform_input)
    twin = _active
    if not streams or twin is None or not self.event_pattern.matches_event(original_event):
        return
    for target in streams:
        twin.accept(target["Arn"], original_event)


def install(twin: LocalFirehose | None = None) -> None:
    """Let moto's rules have Firehose targets; with `twin`, hand it what they receive (until uninstall).

    Without a twin (resources provisioned, no runtime delivering) events for a stream are not kept,
    as a stream whose processor cannot run would keep none either.
    """
    global _active, _original
    from moto.events import models

    with _install_lock:
        if _original is None:
            _original = models.Rule.send_to_targets
            setattr(models.Rule, "send_to_targets", _send_to_targets)  # noqa: B010
        if twin is not None:
            _active = twin


def uninstall() -> None:
    """Restore moto's own delivery to targets."""
    global _active, _original
    from moto.events import models

    with _install_lock:
        if _original is not None:
            setattr(models.Rule, "send_to_targets", _original)  # noqa: B010
            _original = None
        _active = None
