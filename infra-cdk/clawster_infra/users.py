"""Cognito: the operators' user pool, the CLI's app client and the REST API's authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from .nag import acknowledge


def make_user_pool(scope: Construct, *, threat_protection: bool) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
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
        deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        # Threat protection needs the paid Plus feature plan: opt-in per deployment, not the default.
        feature_plan=cognito.FeaturePlan.PLUS if threat_protection else cognito.FeaturePlan.ESSENTIALS,
        standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION if threat_protection else None,
    )
    client = pool.add_client(
        "CliClient",
        # USER_PASSWORD_AUTH: `clawster login` and `aws cognito-idp initiate-auth` (neither speaks SRP);
        # the password travels over TLS to Cognito only, and MFA is still required.
        auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
        generate_secret=False,
        prevent_user_existence_errors=True,
        id_token_validity=cdk.Duration.hours(1),
        access_token_validity=cdk.Duration.hours(1),
        refresh_token_validity=cdk.Duration.days(7),
    )
    if not threat_protection:
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            "threat protection needs Cognito's paid Plus plan: opt in per deployment with -c threat_protection=true "
            "(docs/deploy.md); MFA is required for every user either way",
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
