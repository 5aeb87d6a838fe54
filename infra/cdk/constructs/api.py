"""Api: the REST API whose routes come from the functions' ApiTriggers (Lambda proxy integration)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.wiring import ApiTrigger, Wiring

_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")


class Api(Construct):
    """REST API with stage throttling, access logs, tracing and required path parameters.

    Body size: API Gateway REST cannot be configured to reject bodies below its own 10 MB hard limit,
    so `wiring.api.max_body_bytes` is enforced by the handler, which answers 413 before doing any work.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wiring: Wiring,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        spec = wiring.api
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=wiring.api_name,
            description="Vendor webhooks and workflow approvals",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logging need the account-level API Gateway CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=spec.throttle_rate_per_second,
                throttling_burst_limit=spec.throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request bodies are vendor payloads with customer data: never copied into logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        # Path parameters are checked by API Gateway (present, non-empty); the body is not validated
        # here, because signatures are verified on the exact raw bytes in the handler.
        self.validator = self.rest_api.add_request_validator(
            "PathParameters", validate_request_parameters=True, validate_request_body=False
        )

        self.routes: list[tuple[str, str]] = []
        for fn_spec in wiring.functions:
            if not isinstance(fn_spec.trigger, ApiTrigger):
                continue
            integration = apigw.LambdaIntegration(functions[fn_spec.name], proxy=True)
            for method, path in fn_spec.trigger.routes:
                resource = self.rest_api.root.resource_for_path(path.strip("/"))
                params = {f"method.request.path.{name}": True for name in _PATH_PARAM.findall(path)}
                resource.add_method(
                    method.upper(),
                    integration,
                    request_parameters=params or None,
                    request_validator=self.validator if params else None,
                )
                self.routes.append((method.upper(), path))
