"""Cognito: the operators' user pool, the CLI's and the web console's app clients, the hosted UI's domain, and
the REST API's authorizer."""

from __future__ import annotations

import re

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
        # No OAuth: the pool has a hosted UI (the console's), and a client left with CDK's default OAuth settings
        # would take implicit-flow sign-ins redirected to https://example.com through it.
        disable_o_auth=True,
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


# A Cognito domain prefix: lower-case letters, digits and hyphens, and none of the words Cognito reserves.
_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED = ("aws", "amazon", "cognito")
AUTH_DOMAIN_CONTEXT = "auth_domain_prefix"


class AuthDomainInvalid(ValueError):
    """The auth_domain_prefix context value is not a prefix Cognito accepts."""


def make_hosted_ui(scope: Construct, pool: cognito.UserPool) -> cognito.UserPoolDomain:
    """The hosted UI the console signs in through: https://<prefix>.auth.<region>.amazoncognito.com.

    The prefix is unique per region across AWS: `-c auth_domain_prefix=...`, else the stack's name and the account.
    Cognito refuses a prefix containing a reserved word anywhere (the default's "clawster" holds "aws").
    """
    stack = cdk.Stack.of(scope)
    chosen = str(scope.node.try_get_context(AUTH_DOMAIN_CONTEXT) or "").strip()
    if chosen and (not _PREFIX.fullmatch(chosen) or any(word in chosen for word in _RESERVED)):
        raise AuthDomainInvalid(
            f"context value {AUTH_DOMAIN_CONTEXT}={chosen!r}: lower-case letters, digits and hyphens (at most 63), "
            f"without {', '.join(_RESERVED)}")
    prefix = chosen or f"{default_prefix(stack.stack_name)}-{stack.account}"
    return pool.add_domain("HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix))


def default_prefix(stack_name: str) -> str:
    """The stack's name as a prefix Cognito accepts: "Clawster" -> "claw-ster" (a hyphen breaks each reserved word),
    short enough for "-<account id>" to follow."""
    name = re.sub(r"[^a-z0-9]+", "-", stack_name.lower())
    for word in _RESERVED:
        name = name.replace(word, f"{word[:-1]}-{word[-1]}")
    return re.sub(r"-+", "-", name)[:50].strip("-") or "console"


def add_console_client(pool: cognito.UserPool, console_url: str) -> cognito.UserPoolClient:
    """The web console's app client: a public client (a browser keeps no secret) signing in through the hosted
    UI with the authorization code flow (the app adds PKCE), redirected back to the console only."""
    return pool.add_client(
        "ConsoleClient",
        generate_secret=False,
        # No InitiateAuth flow of its own (passwords are typed into the hosted UI only); refresh tokens still work.
        auth_flows=cognito.AuthFlow(user_password=False, user_srp=False, custom=False, admin_user_password=False),
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False, client_credentials=False),
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
            callback_urls=[console_url],
            logout_urls=[console_url],
        ),
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        prevent_user_existence_errors=True,
        enable_token_revocation=True,
        id_token_validity=cdk.Duration.hours(1),
        access_token_validity=cdk.Duration.hours(1),
        refresh_token_validity=cdk.Duration.hours(12),  # a working day: sign in again the next morning
    )
