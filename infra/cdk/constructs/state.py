"""State: the DynamoDB tables and the Secrets Manager secrets of the wiring."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.wiring_model import Wiring


class State(Construct):
    """Tables (pk/sk strings, on demand, PITR, encrypted, TTL, declared indexes) and connection secrets.

    Secrets are created with a generated placeholder value so that no credential ever passes through
    CloudFormation. After the first deploy the operator puts the real value, a JSON object keyed by
    system name, with:

        aws secretsmanager put-secret-value --secret-id <the stack's SecretArn output> \\
            --secret-string file://connections.json

    Later deploys do not overwrite it: CloudFormation only regenerates a secret whose generation
    settings change. The `oauth-tokens` secret is not for the operator: the functions that refresh a
    rotating OAuth token (QuickBooks) write it, starting from the connections secret's refresh token.
    """

    def __init__(self, scope: Construct, construct_id: str, *, wiring: Wiring) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {}
        self.secrets: dict[str, secretsmanager.Secret] = {}

        for spec in wiring.tables:
            table = dynamodb.Table(
                self,
                f"Table-{spec.name}",
                partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=spec.point_in_time_recovery
                ),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                time_to_live_attribute=spec.ttl_attribute,
                # The ledger holds cross-reference ids and sync checksums that cannot be rebuilt from
                # the vendors; idempotency records are cheap to keep. Deleting the stack never drops data.
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            for index in spec.indexes:
                # Sparse by construction: only items carrying the index's key are in it, so a query
                # reads what is open, not the years of history beside it.
                table.add_global_secondary_index(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(
                        name=index.partition_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=(
                        dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING)
                        if index.sort_key
                        else None
                    ),
                    projection_type=(
                        dynamodb.ProjectionType.KEYS_ONLY if index.keys_only else dynamodb.ProjectionType.ALL
                    ),
                )
            self.tables[spec.name] = table

        for secret_spec in wiring.secrets:
            secret = secretsmanager.Secret(
                self,
                f"Secret-{secret_spec.name}",
                description=secret_spec.description,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    # A marker, not a credential: handlers see "placeholder" until the operator puts values.
                    secret_string_template='{"placeholder": true}',  # noqa: S106
                    generate_string_key="unset",
                    exclude_punctuation=True,
                ),
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            self.secrets[secret_spec.name] = secret
