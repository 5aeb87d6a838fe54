"""Each notice is processed once: Powertools Idempotency on the idempotency table (pk/sk, TTL).

The ledger's checksums already make a repeated write impossible; this layer makes a redelivered
notice cost nothing at all (no fetch from the CRM, no reads from the targets) and lets the worker
count it as a duplicate prevented.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.domain.metrics import BusinessMetric
from shared.domain.notices import ChangeNotice
from shared.domain.ports import Metrics
from shared.domain.results import SyncReport

# Vendors redeliver for up to 2 days (Productive) or 24 h (Salesforce, Xero); SQS keeps 4 days.
NOTICE_IDEMPOTENCY_SECONDS = 4 * 24 * 3600


class OncePerNotice:
    """Wraps a notice handler so that the same notice (provider, realm, event id) runs once."""

    def __init__(
        self,
        process: Callable[[ChangeNotice], SyncReport],
        *,
        table_name: str,
        metrics: Metrics,
        client: Any = None,
    ) -> None:
        self._process = process
        self._metrics = metrics
        self._ran = threading.local()
        self.config = IdempotencyConfig(
            event_key_jmespath="[provider, realm, event_id]",
            expires_after_seconds=NOTICE_IDEMPOTENCY_SECONDS,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="notice",
            boto3_client=client,
        )

        def run(notice: ChangeNotice) -> SyncReport:
            self._ran.value = True
            return self._process(notice)

        self._run: Callable[..., SyncReport] = idempotent_function(
            data_keyword_argument="notice",
            persistence_store=persistence,
            config=self.config,
            output_serializer=PydanticSerializer(SyncReport),
        )(run)

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets Powertools protect an in-flight notice only as long as this invocation can run."""
        self.config.register_lambda_context(context)

    def __call__(self, notice: ChangeNotice) -> SyncReport:
        self._ran.value = False
        report: SyncReport = self._run(notice=notice)
        if not self._ran.value:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED)
        return report
