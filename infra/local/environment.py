"""The whole landscape on one machine: local runtime + a sandbox of each of its systems on loopback.

Used by `close2cash demo`, `close2cash local up`, the flow tests and `make bench`. The sandboxes'
connection settings go into the connections secret (moto's Secrets Manager), exactly where a real
deployment keeps the real vendors' credentials; the hub cannot tell the difference.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from werkzeug.serving import BaseWSGIServer, make_server

from infra.local.authorizer import token_sha256
from infra.local.clock import Clock
from infra.local.moto_patches import timers_due
from infra.local.runtime import LocalRuntime
from infra.local.sandboxes.productive import ProductiveSandbox
from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from infra.local.sandboxes.salesforce import SalesforceSandbox
from infra.local.sandboxes.twin import Hub, Twin
from infra.local.token_file import SecretFileMirror, read_tokens_file, tokens_file_for
from infra.wiring import APPROVERS as APPROVERS_POOL
from infra.wiring import (
    CONNECTIONS,
    DELIVERY_OPS,
    OAUTH_TOKENS,
    WIRING,
    with_sweep_interval,
)
from shared import bootstrap
from shared.aws import secrets as connection_secrets
from shared.domain.models import SystemName
from shared.domain.systems import SYSTEMS, Intake
from shared.governance.landscape import Landscape
from shared.governance.loader import load_landscape

LOOPBACK = "127.0.0.1"
QUIET_SECONDS = 0.2
# How long nothing must run, after virtual time jumped, before it may jump again (the gap between
# one Step Functions state's Lambda task and the next is a few milliseconds).
STILL_SECONDS = 0.03
APPROVERS = ("ops@northwind.example", "finance@northwind.example")
DEFAULT_LANDSCAPE = Path(__file__).resolve().parents[1] / "landscapes" / "demo.toml"


def landscape_systems(landscape: Landscape) -> list[SystemName]:
    """The landscape's systems that close2cash has a connector (and so a sandbox) for."""
    return [system.name for system in landscape.systems if SYSTEMS[system.name].built]


def serve_wsgi(app: Any, host: str = LOOPBACK, port: int = 0) -> tuple[str, BaseWSGIServer]:
    """Serve a WSGI app on loopback in a daemon thread; returns its base URL and the server."""
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name=f"wsgi:{server.server_port}", daemon=True).start()
    return f"http://{host}:{server.server_port}", server


@dataclass
class SettleReport:
    """What one `settle` did: notices delivered by the sandboxes and messages the workers handled."""

    rounds: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class LocalEnvironment:
    """Local runtime + a sandbox of each system of the landscape, wired to each other."""

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        secrets_file: Path | None = None,
        landscape: Path = DEFAULT_LANDSCAPE,
        sweep_minutes: int | None = None,
    ) -> None:
        self.host = host
        # The catch-up sweep's interval, as `cdk deploy -c account_sweep_minutes=N` sets it in AWS.
        self.wiring = with_sweep_interval(WIRING, sweep_minutes) if sweep_minutes else WIRING
        self.secrets_file = secrets_file
        # With real vendors, rotated OAuth tokens are kept beside the secrets file between runs
        # (infra/local/token_file.py); the sandboxes start afresh each time, so theirs are not.
        self.tokens_file = tokens_file_for(secrets_file, OAUTH_TOKENS.name) if secrets_file else None
        self._token_mirror: SecretFileMirror | None = None
        # Refuse to start on an invalid landscape: LandscapeInvalid lists every problem.
        self.landscape_file = landscape.resolve()
        self.landscape = load_landscape(self.landscape_file)
        self._saved_landscape_env: str | None = None
        # One time for everything: the runtime (Step Functions waits, SQS visibility, schedules) and
        # the vendors' twins (rate windows, token expiry, modstamps, change feeds, webhook retries)
        # read this clock, so `pass_time` moves the whole landscape on together, as real days would.
        self.clock = Clock(fast_forward=True)
        # A twin of each system the landscape connects, set up as the firm did its real one: the
        # records its mapping tables point at exist there.
        self.twins: dict[SystemName, Twin] = {
            name: self._twin(name) for name in landscape_systems(self.landscape)
        }
        for twin in self.twins.values():
            twin.seed(self.landscape)
        # One token per approver (the local user pool, infra/local/authorizer.py); the connections
        # secret holds only their SHA-256. The first is the demo's approver.
        self.approver_tokens = {name: secrets.token_urlsafe(24) for name in APPROVERS}
        self.approver = APPROVERS[0]
        self.approver_token = self.approver_tokens[self.approver]
        self.urls: dict[str, str] = {}
        self.api_url = ""
        self._servers: list[BaseWSGIServer] = []
        self.runtime: LocalRuntime | None = None
        self._inbox = ""

    @property
    def salesforce_intake(self) -> Intake | None:
        """How the landscape has Salesforce deliver its changes (None: Salesforce is not connected)."""
        system = self.landscape.system(SystemName.SALESFORCE)
        return system.chosen_intake if system is not None else None

    def _twin(self, system: SystemName) -> Twin:
        """`infra/local/sandboxes/<system>/twin.py`'s twin, on the environment's clock."""
        module = importlib.import_module(f"infra.local.sandboxes.{system.value}.twin")
        return cast(Twin, module.local_twin(self.clock.now))

    def sandbox(self, system: SystemName) -> Any:
        """The sandbox of `system` (KeyError when the landscape does not connect it)."""
        return self.twins[system].sandbox

    # The sandboxes the demo, the bench and the flow tests drive by name.
    @property
    def salesforce(self) -> SalesforceSandbox:
        return cast(SalesforceSandbox, self.sandbox(SystemName.SALESFORCE))

    @property
    def productive(self) -> ProductiveSandbox:
        return cast(ProductiveSandbox, self.sandbox(SystemName.PRODUCTIVE))

    @property
    def quickbooks(self) -> QuickBooksSandbox:
        return cast(QuickBooksSandbox, self.sandbox(SystemName.QUICKBOOKS))

    def connections(self) -> dict[str, Any]:
        """The connections secret: sandboxes by default, or the operator's file for real vendors."""
        if self.secrets_file is not None:
            value = json.loads(self.secrets_file.read_text())
            if not isinstance(value, dict):
                raise ValueError(f"{self.secrets_file}: expected a JSON object keyed by system name")
            return value
        return {
            **{name.value: twin.connection(self.urls[name.value]) for name, twin in self.twins.items()},
            APPROVERS_POOL.name: {name: token_sha256(token) for name, token in self.approver_tokens.items()},
        }

    def start(self) -> LocalEnvironment:
        # Request lines from moto's and the sandboxes' servers say nothing a user needs.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # What the CDK stack sets on every function (infra/cdk), for the in-process handlers.
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "close2cash")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "close2cash")
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon on this machine
        # In AWS the file ships inside the code asset (infra/cdk); here the handlers read it in place.
        self._saved_landscape_env = os.environ.get("LANDSCAPE_FILE")
        os.environ["LANDSCAPE_FILE"] = str(self.landscape_file)
        for name, twin in self.twins.items():
            url, server = serve_wsgi(twin.sandbox, self.host)
            self.urls[name.value] = url
            self._servers.append(server)
        connections = self.connections()
        tokens = read_tokens_file(self.tokens_file) if self.tokens_file else {}
        self.runtime = LocalRuntime(
            self.wiring,
            secrets={CONNECTIONS.name: connections, OAUTH_TOKENS.name: tokens},
            host=self.host,
            clock=self.clock,
            # A vendor's partner event source (Event Relay's for a CDC channel), associated with a bus.
            partner_bus_names=dict(
                source for twin in self.twins.values() if (source := twin.partner_event_source())
            ),
        )
        self.runtime.start()
        if self.tokens_file is not None:
            self._token_mirror = SecretFileMirror(
                self.runtime.clients.secretsmanager(),
                self.runtime.resources.secrets[OAUTH_TOKENS.name],
                self.tokens_file,
            ).start()
        bootstrap.override(None)  # handlers build their services from the runtime's environment
        # Secrets are cached per process: a second environment in the same process (tests) has new
        # sandbox credentials under the same secret name, and its own moto endpoint.
        connection_secrets.forget_cached()
        self.api_url = self.runtime.serve_api()
        for name, twin in self.twins.items():
            twin.connect(
                Hub(
                    api_url=self.api_url,
                    connection=connections.get(name.value, {}),
                    landscape=self.landscape,
                    events=self.runtime.clients.events(),
                    partner_buses=self.runtime.resources.partner_buses,
                )
            )
        self._inbox = self._subscribe_inbox(DELIVERY_OPS.name)
        return self

    def _subscribe_inbox(self, topic: str) -> str:
        """A queue subscribed to `topic`: what its people would receive by e-mail or chat."""
        assert self.runtime is not None
        sqs = self.runtime.clients.sqs()
        url = str(sqs.create_queue(QueueName=f"local-inbox-{topic}")["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.runtime.clients.sns().subscribe(
            TopicArn=self.runtime.resources.topics[topic], Protocol="sqs", Endpoint=arn
        )
        return url

    def delivery_ops(self) -> list[dict[str, str]]:
        """What delivery operations was told since the last call: subject, kind and message."""
        assert self.runtime is not None
        sqs = self.runtime.clients.sqs()
        received: list[dict[str, str]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self._inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return received
            for message in batch:
                envelope = json.loads(message["Body"])  # SNS's JSON envelope (not raw delivery)
                kind = envelope.get("MessageAttributes", {}).get("kind", {}).get("Value", "")
                received.append(
                    {"subject": envelope.get("Subject", ""), "kind": kind, "message": envelope["Message"]}
                )
                sqs.delete_message(QueueUrl=self._inbox, ReceiptHandle=message["ReceiptHandle"])

    def pass_time(self, seconds: float, *, step: float = 3600.0) -> None:
        """Let `seconds` of virtual time pass, `step` at a time, with schedules firing as they come due.

        Approval reminders (hourly schedule) and approval timeouts (the workflow's own timer) happen
        as they would over days, in moments; then everything that follows from them is settled.
        """
        assert self.runtime is not None and self.runtime.scheduler is not None
        remaining = seconds
        while remaining > 0:
            moved = min(step, remaining)
            self.clock.advance(moved)
            self.runtime.scheduler.tick()
            self._let_due_work_run()
            remaining -= moved
        self.settle()

    def _let_due_work_run(self, timeout: float = 30.0) -> None:
        """Wait until the timers the last jump made due have fired and their Lambda calls are done.

        An hour of virtual time must not pass in the milliseconds between a workflow's timeout and
        its compensation step: the vendors count in this time too (an access token refreshed at the
        step's start would be an hour old by its next call).
        """
        assert self.runtime is not None
        invoker = self.runtime.invoker
        started = still_since = time.monotonic()
        busy = False
        while time.monotonic() - started < timeout:
            if timers_due() or invoker.active:
                busy, still_since = True, time.monotonic()
            elif not busy or time.monotonic() - still_since >= STILL_SECONDS:
                return
            time.sleep(0.002)

    def stop(self) -> None:
        if self._token_mirror is not None:
            self._token_mirror.stop()  # the last rotation reaches the file before moto goes away
            self._token_mirror = None
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        bootstrap.override(None)
        if self._saved_landscape_env is None:
            os.environ.pop("LANDSCAPE_FILE", None)
        else:
            os.environ["LANDSCAPE_FILE"] = self._saved_landscape_env

    def settle(self, *, timeout: float = 60.0) -> SettleReport:
        """Deliver every pending vendor notice and process every message, until all is quiet."""
        assert self.runtime is not None, "start() first"
        report = SettleReport()
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            report.rounds += 1
            delivered = {name.value: twin.push_pending() for name, twin in self.twins.items()}
            for name, count in delivered.items():
                report.delivered[name] = report.delivered.get(name, 0) + count
            # Executions paused for an approval count as running: wait for the workers, not for them.
            before = sum(self.runtime.invocations.values())
            drained = self.runtime.drain(
                timeout=max(1.0, timeout - (time.monotonic() - started)), executions=False
            )
            time.sleep(QUIET_SECONDS)  # workflow steps run on moto's threads: let them show up
            busy = sum(self.runtime.invocations.values()) != before
            if not any(delivered.values()) and not drained.processed and not busy:
                break
        report.seconds = time.monotonic() - started
        return report


@contextmanager
def local_environment(
    *, secrets_file: Path | None = None, landscape: Path = DEFAULT_LANDSCAPE, sweep_minutes: int | None = None
) -> Iterator[LocalEnvironment]:
    """A started environment, stopped on exit whatever happens."""
    environment = LocalEnvironment(
        secrets_file=secrets_file, landscape=landscape, sweep_minutes=sweep_minutes
    )
    try:
        yield environment.start()
    finally:
        environment.stop()
