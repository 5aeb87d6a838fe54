"""LocalRuntime: the wiring rendered on this machine: moto, in-process handlers, pollers, API, schedules."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from unittest import mock

from infra.local import firehose as local_firehose
from infra.local import moto_atomic, moto_patches, moto_replay
from infra.local.api_front import ApiFront, ApiGatewayMetrics, ApiServer
from infra.local.authorizer import local_user_pools
from infra.local.clock import Clock
from infra.local.emf import EmfForwarder
from infra.local.firehose import LocalFirehose
from infra.local.moto_patches import MOTO_CONFIG, Invoker, LambdaSpec
from infra.local.pollers import PollerGroup, QueuePoller
from infra.local.provision import DEFAULT_REGION, Clients, Resources, provision
from infra.local.scheduler import Scheduler
from infra.wiring import WIRING
from infra.wiring_model import QueueTrigger, Wiring


@dataclass(frozen=True)
class DrainReport:
    """What one drain() did: invocations per function and the fate of the queue messages it handled."""

    drained: bool  # False: the timeout ran out with work left
    elapsed_seconds: float
    invocations: dict[str, int]  # per logical function, every trigger (queues, API, Step Functions)
    processed: int  # messages handled successfully and deleted
    failed: int  # message deliveries that failed (they come back, or go to the DLQ)
    sent_to_dlq: int  # messages whose last allowed delivery failed
    errors: tuple[str, ...]  # handler exceptions seen by the pollers, "function: Type: message"


class LocalRuntime:
    """The local stack, as a context manager: `with LocalRuntime(secrets=...) as rt: rt.drain()`."""

    def __init__(
        self,
        wiring: Wiring = WIRING,
        *,
        secrets: Mapping[str, Any],
        mode: Literal["server", "inprocess"] = "server",
        host: str = "127.0.0.1",
        moto_port: int = 0,
        clock: Clock | None = None,
        region: str = DEFAULT_REGION,
        partner_bus_names: Mapping[str, str] | None = None,
    ) -> None:
        self.wiring = wiring
        # Partner buses by logical name -> the vendor's event source name (the sandbox's relay).
        self._partner_bus_names = dict(partner_bus_names or {})
        self.mode = mode
        self.host = host
        self.clock = clock or Clock(fast_forward=True)
        self._secrets = dict(secrets)
        self._moto_port = moto_port
        self._region = region
        self._server: Any = None
        self._mock: Any = None
        self._config_patch: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._api_servers: list[ApiServer] = []
        self._resources: Resources | None = None
        self._started = False
        self._background = False
        self.clients = Clients(region=region)
        self.invoker = Invoker(())
        self.pollers = PollerGroup([], self.clock)
        self.scheduler: Scheduler | None = None
        self._api: ApiFront | None = None
        # The handlers' EMF records, put on moto's CloudWatch as CloudWatch Logs does in AWS.
        self.emf: EmfForwarder | None = None
        # The landing's delivery streams (moto delivers nothing to a Firehose target).
        self.firehose: LocalFirehose | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalRuntime:
        """Start moto, provision the wiring, patch moto, set the handlers' environment."""
        if self._started:
            return self
        moto_patches.verify_moto_internals()
        moto_atomic.install()  # conditional writes atomic, as DynamoDB's are
        moto_replay.install()  # a replay's window and FilterArns, as EventBridge applies them
        try:
            self._start_moto()
            self._resources = provision(
                self.wiring,
                clients=self.clients,
                secrets=self._secrets,
                partner_bus_names=self._partner_bus_names,
            )
            self._set_environment(self._resources.env())
            self.invoker = Invoker(
                LambdaSpec(
                    name=f.name,
                    physical_name=self._resources.functions[f.name],
                    arn=self._resources.function_arns[f.name],
                    handler=f.handler,
                    memory_mb=f.memory_mb,
                    timeout_seconds=f.timeout_seconds,
                )
                for f in self.wiring.functions
            )
            moto_patches.install(self.invoker, self.clock)
            self.firehose = LocalFirehose(
                firehose=self.clients.firehose(),
                glue=self.clients.glue(),
                s3=self.clients.s3(),
                invoke=self.invoker.invoke,
                functions_by_arn={arn: name for name, arn in self._resources.function_arns.items()},
                clock=self.clock,
            )
            local_firehose.install(self.firehose)
            self.emf = EmfForwarder(self.clients.cloudwatch()).install()
            self._build_consumers(self._resources)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config

        if self.mode == "inprocess":
            from moto import mock_aws

            self._mock = mock_aws(config=MOTO_CONFIG)
            self._mock.start()
            self.clients = Clients(region=self._region)
            return
        from moto.server import ThreadedMotoServer

        # The server lives in this process, so moto's global config is what its requests see.
        self._config_patch = mock.patch.dict(default_user_config, MOTO_CONFIG)
        self._config_patch.start()
        self._server = ThreadedMotoServer(ip_address=self.host, port=self._moto_port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.clients = Clients(endpoint_url=f"http://{host}:{port}", region=self._region)
        # moto's Step Functions interpreter calls Lambda at http://localhost:$MOTO_PORT.
        self._set_environment({"MOTO_PORT": str(port)})

    def _build_consumers(self, res: Resources) -> None:
        sqs = self.clients.sqs()
        self.pollers = PollerGroup(
            [
                QueuePoller(
                    f,
                    res.queues[f.trigger.queue],
                    sqs=sqs,
                    invoker=self.invoker,
                    clock=self.clock,
                    region=self._region,
                )
                for f in self.wiring.functions
                if isinstance(f.trigger, QueueTrigger)
            ],
            self.clock,
        )
        self.scheduler = Scheduler(
            self.wiring,
            self.invoker,
            self.clock,
            rule_arns=res.schedules,
            account_id=res.account_id,
            region=self._region,
        )
        pools = local_user_pools(
            (pool.name for pool in self.wiring.user_pools),
            res.secrets.values(),
            self.clients.secretsmanager(),
        )
        self._api = ApiFront(
            self.wiring,
            self.invoker,
            account_id=res.account_id,
            authorizers=pools,
            metrics=ApiGatewayMetrics(self.clients.cloudwatch(), self.wiring.api_name),
        )

    def _set_environment(self, env: Mapping[str, str]) -> None:
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def stop(self) -> None:
        """Stop every thread and server, restore moto and the environment. Safe to call twice."""
        self.pollers.stop()
        self._background = False
        if self.emf is not None:
            self.emf.flush()
            self.emf.uninstall()
            self.emf = None
        for server in self._api_servers:
            server.stop()
        self._api_servers.clear()
        moto_patches.uninstall()
        local_firehose.uninstall()
        self.firehose = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            # The server's backends are process-global: empty them for the next runtime.
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
        if self._config_patch is not None:
            self._config_patch.stop()
            self._config_patch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        self._started = False

    # --- what callers use ----------------------------------------------------------------------

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError("LocalRuntime is not started")
        return self._resources

    @property
    def moto_endpoint(self) -> str:
        """The moto server's URL, for `aws --endpoint-url` and boto3 clients."""
        if self.clients.endpoint_url is None:
            raise RuntimeError("in-process mode has no endpoint: use mode='server' to reach moto over HTTP")
        return self.clients.endpoint_url

    @property
    def api_wsgi(self) -> ApiFront:
        """The API front as a WSGI app (tests mount it with httpx.WSGITransport)."""
        if self._api is None:
            raise RuntimeError("LocalRuntime is not started")
        return self._api

    @property
    def invocations(self) -> Counter[str]:
        """Invocations per logical function since start (every trigger)."""
        return self.invoker.invocations

    def serve_api(self, port: int = 0) -> str:
        """Serve the API front on a loopback port in a thread; returns its base URL."""
        server = ApiServer(self.api_wsgi, host=self.host, port=port)
        self._api_servers.append(server)
        return server.start()

    def check_handlers(self) -> None:
        """Import every handler of the wiring now; raises HandlerImportError naming each that fails."""
        self.invoker.check()

    def start_execution(self, state_machine: str, payload: Any, *, name: str) -> str:
        """Start an execution of a wiring state machine; always named (moto makes `:None` ARNs without)."""
        arn: str = self.clients.stepfunctions().start_execution(
            stateMachineArn=self.resources.state_machines[state_machine], name=name, input=json.dumps(payload)
        )["executionArn"]
        return arn

    def _executions_running(self) -> bool:
        sfn = self.clients.stepfunctions()
        return any(
            sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
            for arn in self.resources.state_machines.values()
        )

    def drain(self, timeout: float = 30.0, *, executions: bool = True) -> DrainReport:
        """Process queues until all are empty and nothing is in flight (nor, with `executions`, running).

        An execution paused on a task token counts as running: pass executions=False to not wait for it.
        """
        if self._background:
            raise RuntimeError("drain() while start_background() runs would race its pollers; stop() first")
        before_calls = Counter(self.invoker.invocations)
        before = [
            (p.stats.processed, p.stats.failed, p.stats.sent_to_dlq, len(p.stats.errors))
            for p in self.pollers.pollers
        ]
        started = time.monotonic()
        drained = self.pollers.drain(timeout, also_busy=self._executions_running if executions else None)
        stats = [p.stats for p in self.pollers.pollers]
        # What the drained work published is delivered now, as the buffer interval would deliver it.
        self.flush_landing(force=True)
        self.flush_metrics()
        return DrainReport(
            drained=drained,
            elapsed_seconds=round(time.monotonic() - started, 3),
            invocations=dict(self.invoker.invocations - before_calls),
            processed=sum(s.processed - b[0] for s, b in zip(stats, before, strict=True)),
            failed=sum(s.failed - b[1] for s, b in zip(stats, before, strict=True)),
            sent_to_dlq=sum(s.sent_to_dlq - b[2] for s, b in zip(stats, before, strict=True)),
            errors=tuple(e for s, b in zip(stats, before, strict=True) for e in s.errors[b[3] :]),
        )

    def start_background(self, *, interval: float = 0.05) -> None:
        """Poll queues and fire schedules in a daemon thread (for `close2cash local up`) until stop()."""
        scheduler = self.scheduler

        def tick() -> None:
            if scheduler is not None:
                scheduler.tick()
            self.flush_landing()
            self.flush_metrics()

        self.pollers.start(on_idle=tick, interval=interval)
        self._background = True

    def flush_landing(self, *, force: bool = False) -> int:
        """Deliver the landing's buffers that are due (all with `force`) to S3; records delivered."""
        return self.firehose.flush(force=force) if self.firehose is not None else 0

    def flush_metrics(self) -> int:
        """Put the EMF metrics the handlers printed so far on moto's CloudWatch (a drain does it too)."""
        return self.emf.flush() if self.emf is not None else 0

    def stop_background(self) -> None:
        """Stop the background thread, leaving moto and the API up (drain() may be used again)."""
        self.pollers.stop()
        self._background = False
