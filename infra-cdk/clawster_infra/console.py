"""The web console on AWS: its built files in a private S3 bucket, served by CloudFront through origin access
control, with security headers and a content security policy naming exactly the origins the app talks to.

Every URL of the app is under /console/ (it is built with that base path). A CloudFront Function sends `/` to
/console/ and answers the app's deep links with index.html (console_router.js). At deploy time config.json is
written beside index.html from the stack's real values: the API and stream URLs, the hosted UI's endpoints
and the console's app client.

No dependency cycle: the API functions know the console's origin (CORS) and the CSP knows the APIs', so the
CSP is built from the APIs' ids (the RestApi and WebSocketApi resources, which depend on nothing), never from
a stage URL (a stage depends on its methods, hence on the functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from .nag import acknowledge

REPO = Path(__file__).resolve().parents[2]
CONSOLE_DIST = REPO / "console" / "dist"  # what the build command writes
BUILD_COMMAND = "scripts/build_console.sh"
PREFIX = "console"  # the key prefix in the bucket, and the path of every URL of the app
ROUTER = Path(__file__).with_name("console_router.js")
SCOPES = "openid email profile"
# index.html and config.json change with every deploy: revalidated each time. Assets have hashed names.
SHELL_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"


class ConsoleNotBuilt(RuntimeError):
    """console/dist is missing: deploying would publish a distribution with nothing to serve."""


def console_dist_dir(folder: Path = CONSOLE_DIST) -> Path:
    """The built app (index.html and assets/), or ConsoleNotBuilt naming the command to run."""
    if not (folder / "index.html").is_file() or not (folder / "assets").is_dir():
        raise ConsoleNotBuilt(
            f"the web console is not built ({folder} has no index.html and assets/): run {BUILD_COMMAND} "
            "(make synth and make deploy run it for you)"
        )
    return folder.resolve()


@dataclass(frozen=True)
class ConsoleSources:
    """The origins the console's pages connect to (scheme://host, no path)."""

    api: str  # the REST API
    stream: str | None  # the stream API (wss), when the catalog has stream routes
    auth: str  # the Cognito hosted UI: the token endpoint is fetched, the sign-in page is navigated to


@dataclass(frozen=True)
class ConsoleSite:
    bucket: s3.Bucket
    distribution: cloudfront.Distribution

    @property
    def origin(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    @property
    def url(self) -> str:
        """Where operators open the console; also the OAuth redirect (sign-in and sign-out)."""
        return f"{self.origin}/{PREFIX}/"


def content_security_policy(sources: ConsoleSources) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", sources.api, *([sources.stream] if sources.stream else []), sources.auth],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'", sources.auth],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def make_console_site(scope: Construct, sources: ConsoleSources) -> ConsoleSite:
    log_bucket = _log_bucket(scope)
    bucket = _private_bucket(
        scope,
        "ConsoleBucket",
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        # A deploy overwrites index.html: the previous one stays a month, to put back by hand if needed.
        versioned=True,
        lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(30))],
        server_access_logs_bucket=log_bucket,
        server_access_logs_prefix="s3-console/",
    )
    access = cloudfront.S3OriginAccessControl(
        scope, "ConsoleAccess", origin_access_control_name=_account_wide_name(scope, "console"))
    distribution = cloudfront.Distribution(
        scope,
        "ConsoleCdn",
        comment="Clawster web console",
        default_behavior=cloudfront.BehaviorOptions(
            # OAC: CloudFront signs its requests; the bucket policy admits this distribution only.
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket, origin_access_control=access),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            response_headers_policy=_headers_policy(scope, sources),
            function_associations=[cloudfront.FunctionAssociation(
                function=cloudfront.Function(
                    scope, "ConsoleRouter", comment="/ to /console/; the app's deep links to its index.html",
                    code=cloudfront.FunctionCode.from_file(file_path=str(ROUTER)),
                    runtime=cloudfront.FunctionRuntime.JS_2_0),
                event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)],
        ),
        http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        enable_logging=True,
        log_bucket=log_bucket,
        log_file_prefix="cloudfront/",
    )
    acknowledge(distribution, "AwsSolutions-CFR4",
                "the console is served on CloudFront's own *.cloudfront.net name and certificate, whose TLS floor "
                "CloudFront sets; a custom domain with its own certificate would set TLSv1.2_2021")
    acknowledge(distribution, "AwsSolutions-CFR1",
                "operators sign in from anywhere; the console is static files, every datum is behind the "
                "authenticated REST API")
    acknowledge(distribution, "AwsSolutions-CFR2",
                "a CloudFront WAF must live in us-east-1 and this stack is regional; the distribution serves "
                "static files only, and the REST API it calls has its own WAF (rest_api._attach_waf)")
    return ConsoleSite(bucket, distribution)


def console_config(*, api_url: str, stream_url: str, auth_origin: str, client_id: str) -> dict:
    """config.json, the one file the app reads at start (the contract with console/)."""
    return {
        "apiUrl": api_url,
        "wsUrl": stream_url,
        "auth": {
            "authorizeUrl": f"{auth_origin}/oauth2/authorize",
            "tokenUrl": f"{auth_origin}/oauth2/token",
            "logoutUrl": f"{auth_origin}/logout",
            "clientId": client_id,
            "scope": SCOPES,
        },
        "redirectPath": f"/{PREFIX}/",
    }


def deploy_console(scope: Construct, site: ConsoleSite, dist: Path, config: dict) -> None:
    """Upload the built app under console/: the hashed assets first, then index.html and config.json.

    Nothing is pruned: an operator's open tab still loads the assets of the version it started with.
    """
    # The upload handler's own log group, kept a month like the functions' (else Lambda makes one kept forever).
    handler_logs = logs.LogGroup(scope, "ConsoleDeployLogs", retention=logs.RetentionDays.ONE_MONTH,
                                 removal_policy=cdk.RemovalPolicy.RETAIN)
    assets = s3deploy.BucketDeployment(
        scope,
        "ConsoleAssets",
        sources=[s3deploy.Source.asset(str(dist / "assets"))],
        destination_bucket=site.bucket,
        destination_key_prefix=f"{PREFIX}/assets/",
        cache_control=[s3deploy.CacheControl.from_string(ASSET_CACHE)],
        prune=False,
        log_group=handler_logs,
    )
    shell = s3deploy.BucketDeployment(
        scope,
        "ConsoleShell",
        sources=[s3deploy.Source.asset(str(dist), exclude=["assets"]), s3deploy.Source.json_data("config.json", config)],
        destination_bucket=site.bucket,
        destination_key_prefix=f"{PREFIX}/",
        cache_control=[s3deploy.CacheControl.from_string(SHELL_CACHE)],
        prune=False,
        log_group=handler_logs,  # the same handler (a singleton): the same group
    )
    shell.node.add_dependency(assets)  # a new index.html never names assets not uploaded yet
    _acknowledge_deployment_handler(site, assets)


def _headers_policy(scope: Construct, sources: ConsoleSources) -> cloudfront.ResponseHeadersPolicy:
    return cloudfront.ResponseHeadersPolicy(
        scope,
        "ConsoleHeaders",
        response_headers_policy_name=_account_wide_name(scope, "console-headers"),
        comment="Clawster console: HSTS, no sniffing, no framing, no referrer off-site, CSP",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=cdk.Duration.days(730), include_subdomains=True, override=True),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True),
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy(sources), override=True),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=[
            cloudfront.ResponseCustomHeader(header="Cross-Origin-Opener-Policy", value="same-origin", override=True),
            cloudfront.ResponseCustomHeader(
                header="Permissions-Policy", value="camera=(), microphone=(), geolocation=(), payment=()",
                override=True),
        ]),
    )


def _account_wide_name(scope: Construct, what: str) -> str:
    """A name for a CloudFront resource, unique in the account, not the region as the stack's name is: with the
    region, the stack deploys to a second region of the same account (CDK's default names would collide)."""
    stack = cdk.Stack.of(scope)
    return f"{stack.stack_name}-{what}-{stack.region}"


def _log_bucket(scope: Construct) -> s3.Bucket:
    """The console bucket's server access logs and the distribution's logs (CloudFront writes with an ACL).
    cdk-nag does not ask a log bucket for access logs of its own."""
    return _private_bucket(
        scope,
        "ConsoleLogs",
        object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
        lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],  # as long as the API's access logs
    )


def _private_bucket(scope: Construct, construct_id: str, **settings) -> s3.Bucket:
    """What both console buckets share: no public access, SSE-S3, TLS only, kept when the stack is deleted."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        **settings,
    )


def _acknowledge_deployment_handler(site: ConsoleSite, deployment: s3deploy.BucketDeployment) -> None:
    """CDK's BucketDeployment runs one shared handler function (a singleton at the stack's root) at deploy time."""
    reason = ("CDK's BucketDeployment handler, run by CloudFormation at deploy time only: its grants are CDK's own, "
              "reading the CDK asset bucket and writing the console bucket")
    bucket = cdk.Stack.of(site.bucket).resolve(site.bucket.node.default_child.logical_id)  # type: ignore[union-attr]
    qualifier = cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
    findings = [
        *(f"AwsSolutions-IAM5[Action::s3:{action}*]" for action in ("GetObject", "GetBucket", "List", "DeleteObject",
                                                                     "Abort")),
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-{qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*]",
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    ]
    for finding in findings:
        acknowledge(deployment.handler_role, finding, reason)
    (handler,) = [c for c in cdk.Stack.of(deployment).node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    acknowledge(handler, "AwsSolutions-L1", "CDK's BucketDeployment handler runs on the Python runtime its CDK release "
                                            "was built and tested for, at deploy time only")
