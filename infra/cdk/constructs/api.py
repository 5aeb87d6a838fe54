"""Api: the REST API whose routes come from the functions' ApiTriggers (Lambda proxy integration).

A route whose trigger names a user pool sits behind a COGNITO_USER_POOLS authorizer on that pool:
API Gateway verifies the caller's ID or access token and answers 401 before the function runs, and
the function reads who called from the verified claims. Routes without one (the vendors' webhooks)
are open at the HTTP layer; their handler verifies the vendor's signature on the raw body.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.wiring_model import ApiTrigger, UserPool, Wiring

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

        self.user_pools: dict[str, cognito.UserPool] = {}
        self.authorizers: dict[str, apigw.CognitoUserPoolsAuthorizer] = {}
        for pool_spec in wiring.user_pools:
            self._user_pool(pool_spec)

        self.routes: list[tuple[str, str]] = []
        # Each method with the user pool that guards it (None: open, a vendor webhook).
        self.methods: dict[tuple[str, str], tuple[apigw.Method, str | None]] = {}
        for fn_spec in wiring.functions:
            if not isinstance(fn_spec.trigger, ApiTrigger):
                continue
            integration = apigw.LambdaIntegration(functions[fn_spec.name], proxy=True)
            pool = fn_spec.trigger.authorizer
            for method, path in fn_spec.trigger.routes:
                resource = self.rest_api.root.resource_for_path(path.strip("/"))
                params = {f"method.request.path.{name}": True for name in _PATH_PARAM.findall(path)}
                added = resource.add_method(
                    method.upper(),
                    integration,
                    request_parameters=params or None,
                    request_validator=self.validator if params else None,
                    authorizer=self.authorizers[pool] if pool else None,
                    authorization_type=apigw.AuthorizationType.COGNITO if pool else None,
                )
                self.routes.append((method.upper(), path))
                self.methods[(method.upper(), path)] = (added, pool)

    def _user_pool(self, spec: UserPool) -> None:
        """The pool of people who may call the routes naming it, an app client, and its authorizer.

        No self sign-up (an administrator invites each approver), MFA required, strong passwords,
        threat protection enforcing (Plus feature plan: a few approvers, a few cents a month).
        """
        pool = cognito.UserPool(
            self,
            f"UserPool-{spec.name}",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=False)
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            # The people who decided are named in the ledger's records: never dropped with the stack.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        client = pool.add_client(
            "Client",
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
        )
        self.user_pools[spec.name] = pool
        self.authorizers[spec.name] = apigw.CognitoUserPoolsAuthorizer(
            self,
            f"Authorizer-{spec.name}",
            cognito_user_pools=[pool],
            # Where Cognito's clients send the token: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-accessing-resources-api-gateway-and-lambda.html
            identity_source=apigw.IdentitySource.header("Authorization"),
        )
        # Stable output names (ApproversUserPoolId, ...ClientId): the operator's commands use them.
        label = spec.name.replace("_", "-").title().replace("-", "")
        cdk.CfnOutput(
            self, f"UserPoolId-{spec.name}", value=pool.user_pool_id, description=spec.description
        ).override_logical_id(f"{label}UserPoolId")
        cdk.CfnOutput(
            self,
            f"UserPoolClientId-{spec.name}",
            value=client.user_pool_client_id,
            description=f"App client for the {spec.name} to sign in (aws cognito-idp initiate-auth)",
        ).override_logical_id(f"{label}UserPoolClientId")
