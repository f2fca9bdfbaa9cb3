"""A connector's secret (clawster/<workspace id>/<connector id>) belongs to its workspace: a bot's config
that names another workspace's is refused when it is resolved for the gateway, naming the path."""

from __future__ import annotations

import pytest

from clawster.domain.secret_refs import InvalidSecretRef, SecretRef, check_workspace

OURS, THEIRS = "01M8BMGCAE1RQY4YN65Z4HDW9X", "01M8BMH0R8N6VXTM1X66QHC34X"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"


@pytest.mark.parametrize("ref", [
    f"clawster/{OURS}/01M8BMGDMT6TVYYH33CRSZCY7S",
    f"{ARN}clawster/{OURS}/01M8BMGDMT6TVYYH33CRSZCY7S-AbCdEf",
    "clawster/local/mock-model-key",  # not a connector's: no workspace in it
    "clawster/openai",
    "team/keys/openai",
])
def test_references_of_this_workspace_or_of_no_workspace_pass(ref):
    check_workspace(SecretRef.parse(ref), OURS, field="config.x")


@pytest.mark.parametrize("ref", [
    f"clawster/{THEIRS}/01M8BMGDMT6TVYYH33CRSZCY7S",
    f"{ARN}clawster/{THEIRS}/01M8BMGDMT6TVYYH33CRSZCY7S-AbCdEf",
])
def test_a_reference_to_another_workspaces_connector_is_refused_naming_the_path(ref):
    with pytest.raises(InvalidSecretRef) as refused:
        check_workspace(SecretRef.parse(ref), OURS, field="config.models.providers.openai.apiKey")
    assert refused.value.details["errors"] == [{"field": "config.models.providers.openai.apiKey",
                                                "reason": "names a connector secret of another workspace"}]
