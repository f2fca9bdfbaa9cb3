"""Cognito: the operators' user pool, the CLI's app client and the REST API's authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct


def make_user_pool(scope: Construct) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
    pool = cognito.UserPool(
        scope,
        "Users",
        # Operators are invited by a workspace owner; nobody signs themselves up to a control plane.
        self_sign_up_enabled=False,
        sign_in_aliases=cognito.SignInAliases(email=True),
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        password_policy=cognito.PasswordPolicy(
            min_length=12,
            require_lowercase=True,
            require_uppercase=True,
            require_digits=True,
            require_symbols=True,
            temp_password_validity=cdk.Duration.days(3),
        ),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        feature_plan=cognito.FeaturePlan.PLUS,
        standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    client = pool.add_client(
        "CliClient",
        auth_flows=cognito.AuthFlow(user_srp=True),
        generate_secret=False,
        prevent_user_existence_errors=True,
        id_token_validity=cdk.Duration.hours(1),
        access_token_validity=cdk.Duration.hours(1),
        refresh_token_validity=cdk.Duration.days(7),
    )
    return pool, client


def make_authorizer(scope: Construct, pool: cognito.UserPool) -> apigw.CognitoUserPoolsAuthorizer:
    # The ID token carries the claims (sub, email) the handlers read from requestContext.authorizer.
    return apigw.CognitoUserPoolsAuthorizer(
        scope,
        "Authorizer",
        cognito_user_pools=[pool],
        identity_source=apigw.IdentitySource.header("Authorization"),
        results_cache_ttl=cdk.Duration.minutes(5),
    )
