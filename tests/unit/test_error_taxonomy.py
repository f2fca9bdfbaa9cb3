"""One error taxonomy: every error type the domain, the gateway client, the providers and the secret
resolver raise is retryable or permanent, and maps to one HTTP status and one Step Functions name.

The expectations are written here by hand, one row per type, as a reviewer would read them; they
are not read from functions/errors.py. A new error type that is not in the table fails the test
(classify it here), so nothing escapes the taxonomy by being forgotten.
"""

from __future__ import annotations

import inspect
import json

import pytest

import clawster.errors as base
from clawster import secrets
from clawster.domain import errors as domain
from clawster.domain import secret_refs
from clawster.gateway import errors as gateway
from functions.errors import PERMANENT, RETRYABLE, http_status, retry_after_seconds, task_failure
from layers.providers import errors as providers

R, P = "retryable", "permanent"

# type name -> (retryable or permanent, HTTP status through the API)
EXPECTED = {
    "Unavailable": (R, 503),
    "BadRequest": (P, 400),
    "Unauthorized": (P, 401),
    "Forbidden": (P, 403),
    "NotFound": (P, 404),
    "Conflict": (P, 409),
    "VersionConflict": (P, 409),
    "InvalidState": (P, 409),
    "UnsupportedMediaType": (P, 415),
    "PayloadTooLarge": (P, 413),
    "PreconditionRequired": (P, 428),
    "ValidationFailed": (P, 422),
    "InvalidSecretRef": (P, 422),
    # The gateway refused the control plane itself: a bad gateway, not the caller's fault.
    "GatewayFailed": (P, 502),
    "AuthenticationFailed": (P, 502),
    "PairingRequired": (P, 502),
    "MissingScope": (P, 502),
    "ProtocolMismatch": (P, 502),
    "InvalidRequest": (P, 502),
    "MethodNotSupported": (P, 502),
    "ApprovalNotFound": (P, 502),  # the control plane asked the gateway about an approval it does not have
    "GatewayTimeout": (R, 503),
    "InvalidConfig": (P, 422),  # the caller's config, refused by the gateway's schema
    "ConfigConflict": (R, 409),
    "BaseHashRequired": (R, 409),
    "GatewayUnavailable": (R, 503),
    "RateLimited": (R, 503),
    "ConnectionLost": (R, 503),
    "ProviderFailed": (P, 500),
    "Throttled": (R, 503),
    "GatewayNotFound": (P, 409),
    "GatewayExists": (P, 409),
    "RuntimeMissing": (P, 500),
    "ConfigRejected": (P, 422),
    "StartFailed": (R, 503),
    "PortInUse": (R, 503),
    "CrashLooping": (P, 500),  # a gateway restarted again and again without serving: it will not start
    "UnsupportedChange": (P, 422),
    "InvalidSpec": (P, 502),  # a cloud API refused the provider's request: settings are checked before, so not the caller's
    "ProviderBusy": (R, 503),  # another operation holds the bot's lock: try again
    "UnknownTarget": (P, 500),  # no provider for the target in this deployment
    "SecretNotFound": (P, 500),
    "SecretAccessDenied": (P, 500),
    "SecretStoreUnavailable": (R, 503),
}
ABSTRACT = {"ClawsterError", "RetryableError", "PermanentError", "GatewayError", "ProviderError"}
MODULES = (base, domain, secret_refs, gateway, providers, secrets)


def raised_types() -> dict[str, type]:
    found = {}
    for module in MODULES:
        for name, kind in inspect.getmembers(module, inspect.isclass):
            if issubclass(kind, Exception) and kind.__module__ == module.__name__ and name not in ABSTRACT:
                found[name] = kind
    return found


def instance(kind: type) -> Exception:
    if issubclass(kind, domain.ValidationFailed):
        return kind("field", "reason")
    if kind is providers.ConfigRejected:
        return kind("refused", [])
    return kind("message")


def test_every_error_type_is_classified_here():
    assert sorted(raised_types()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_type_is_exactly_one_of_retryable_or_permanent(name):
    kind = raised_types()[name]
    assert issubclass(kind, base.ClawsterError)
    assert issubclass(kind, base.RetryableError) != issubclass(kind, base.PermanentError), kind.__mro__
    assert (R if issubclass(kind, base.RetryableError) else P) == EXPECTED[name][0]
    assert instance(kind).retryable is (EXPECTED[name][0] == R)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_type_maps_to_its_http_status_and_step_functions_name(name):
    error = instance(raised_types()[name])
    assert http_status(error) == EXPECTED[name][1]
    failure = task_failure(error)
    assert type(failure).__name__ == (RETRYABLE if EXPECTED[name][0] == R else PERMANENT)
    assert json.loads(str(failure))["code"] == error.code


def test_the_step_functions_names_are_the_ones_the_state_machines_match():
    assert (RETRYABLE, PERMANENT) == ("Clawster.Retryable", "Clawster.Permanent")


def test_there_is_one_unavailable_and_catching_it_catches_the_gateways():
    assert gateway.GatewayUnavailable.__mro__.count(base.Unavailable) == 1
    assert domain.Unavailable is base.Unavailable
    with pytest.raises(base.Unavailable):
        raise gateway.from_error({"code": "UNAVAILABLE", "message": "starting", "retryAfterMs": 1500})


def test_a_retry_hint_becomes_whole_seconds_rounded_up():
    limited = gateway.from_error({"code": "UNAVAILABLE", "message": "rate limit exceeded", "retryAfterMs": 1500})
    assert retry_after_seconds(limited) == 2
    assert json.loads(str(task_failure(limited)))["retry_after_ms"] == 1500
    assert retry_after_seconds(domain.Conflict("x")) is None
