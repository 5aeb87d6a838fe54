"""Athena: per landing, a workgroup for the analytics queries and the semantic model's views.

The views are shared/analytics/model.toml rendered for Athena (Trino) by `SemanticModel.create_views`.
Each is created at deploy time by one custom resource that runs its CREATE OR REPLACE VIEW in the
workgroup (again whenever its SQL changes) and drops it when the view leaves the model; a named query
per view keeps the SQL findable in the console. Views are independent of each other (each inlines what
it reads), so they only wait for the Glue tables.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.cdk.constructs.analytics import EventLanding
from infra.cdk.constructs.functions import LOG_RETENTION
from shared.analytics.semantic import SemanticModel

RESULTS_PREFIX = "athena-results/"
# Query results are kept for a month: a report reads its answer at once, the console's history after that.
RESULTS_RETENTION = cdk.Duration.days(30)
# A query that would scan more than this is cancelled (and billed for what it scanned up to there): a
# report over the views scans a few MB; 10 GB costs ~5 US cents at $5/TB.
# https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html
BYTES_SCANNED_CUTOFF = 10 * 1024**3
# The views are written in Trino's dialect (sqlglot's `athena`): engine version 3.
# https://docs.aws.amazon.com/athena/latest/ug/engine-versions-reference-0003.html
ENGINE_VERSION = "Athena engine version 3"
CATALOG = "AwsDataCatalog"
# The custom resources' one Lambda only submits a query: the smallest size that starts the SDK quickly.
VIEWS_MEMORY_MB = 256


class AthenaViews(Construct):
    """A landing's workgroup, and one custom resource plus one named query per semantic-model view."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        landing: EventLanding,
        model: SemanticModel,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        spec = landing.landing
        bucket = self.bucket = landing.bucket
        self._database = spec.database
        bucket.add_lifecycle_rule(id="athena-results", prefix=RESULTS_PREFIX, expiration=RESULTS_RETENTION)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"{stack.stack_name}-{spec.name}",
            description=f"close2cash analytics over the landed {spec.name} ({spec.database})",
            state="ENABLED",
            # Deleting the stack deletes the workgroup with its named queries and query history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Every query in the workgroup writes where, and as encrypted as, the workgroup says.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version=ENGINE_VERSION
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self.log_group = logs.LogGroup(self, "ViewsLogs", retention=LOG_RETENTION)
        self.role = self._role(landing, bucket, model.view_names())
        self.views: dict[str, cr.AwsCustomResource] = {}
        self.named_queries: dict[str, athena.CfnNamedQuery] = {}
        for view in model.view_names():
            sql = model.create_view_sql(view, "athena")
            resource = cr.AwsCustomResource(
                self,
                f"View-{view}",
                resource_type="Custom::AthenaView",
                on_create=self._query(sql, view),
                on_update=self._query(sql, view),
                # Only when the view leaves the model: its physical id is its name, so a changed SQL is
                # an update (CREATE OR REPLACE), never a replacement whose clean-up would drop the new view.
                on_delete=self._query(f"DROP VIEW IF EXISTS {view}", view),
                role=self.role,
                log_group=self.log_group,
                # The SDK of the Lambda runtime: synth and deploy need no download from npm.
                install_latest_aws_sdk=False,
                memory_size=VIEWS_MEMORY_MB,
            )
            resource.node.add_dependency(*landing.tables.values())
            self.views[view] = resource
            named = athena.CfnNamedQuery(
                self,
                f"Query-{view}",
                name=view,
                description=f"The semantic model's view {view} (shared/analytics/model.toml)",
                database=spec.database,
                query_string=sql,
                work_group=self.workgroup.ref,
            )
            self.named_queries[view] = named

    def _query(self, sql: str, view: str) -> cr.AwsSdkCall:
        """StartQueryExecution of `sql` in the workgroup, on the landing's database.
        https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html"""
        return cr.AwsSdkCall(
            service="Athena",
            action="startQueryExecution",
            parameters={
                "QueryString": sql,
                "QueryExecutionContext": {"Catalog": CATALOG, "Database": self._database},
                "WorkGroup": self.workgroup.ref,
            },
            physical_resource_id=cr.PhysicalResourceId.of(view),
            # Only the execution id comes back (the custom resource answer is capped at 4 KB).
            output_paths=["QueryExecutionId"],
        )

    def _role(self, landing: EventLanding, bucket: s3.IBucket, views: list[str]) -> iam.Role:
        """What running the views' DDL in the workgroup needs, and nothing else.

        A DDL query runs with its caller's permissions: the Data Catalog calls that create, replace and
        drop a view (a Glue table of type VIRTUAL_VIEW) and read the tables it selects from, and the
        results location (Athena writes a result for DDL too).
        https://docs.aws.amazon.com/athena/latest/ug/views.html
        https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html
        """
        stack = cdk.Stack.of(self)
        database = landing.landing.database
        role = iam.Role(
            self,
            "ViewsRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"close2cash: creates the semantic model's Athena views in {database}",
        )
        self.log_group.grant_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["athena:StartQueryExecution"],
                resources=[
                    stack.format_arn(
                        service="athena",
                        resource="workgroup",
                        resource_name=self.workgroup.ref,
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )

        def glue_table(name: str) -> str:
            return stack.format_arn(
                service="glue",
                resource="table",
                resource_name=f"{database}/{name}",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )

        catalog = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(
                service="glue",
                resource="database",
                resource_name=database,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable"],
                resources=[
                    *catalog,
                    *(glue_table(t) for t in landing.tables),
                    *(glue_table(v) for v in views),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"],
                resources=[*catalog, *(glue_table(v) for v in views)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[bucket.bucket_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
            )
        )
        return role
