"""Pairing approvals through desired state: a new revision, applied to a running gateway by its workflow."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
from aws_lambda_powertools.event_handler import Response

from clawster.api.drift_models import PairingApproval
from clawster.api.models import BotOut
from clawster.services import pairing
from functions.api._resolver import BODY, MEMBER, ROLE, WRITE, create_app, documented, lambda_entry, respond

app = create_app()


# 409: a workflow owns the bot, or it changed meanwhile; 422 also: a channel the bot or its version lacks, or a
# config the policy packs refuse.
@app.post("/workspaces/<workspace_id>/bots/<bot_id>/pairing/approve", tags=["drift"],
          responses=documented(200, errors=MEMBER + ROLE + BODY + WRITE + (409,)))
def approve_pairing(workspace_id: str, bot_id: str, body: PairingApproval) -> Response[BotOut]:
    """Allow a sender on one of the bot's channels: it joins the channel's allowFrom list in a new revision,
    which the apply workflow puts on a running gateway (never written to the gateway directly). A sender
    allowed already changes nothing."""
    bot = pairing.approve(app.context["access"], bot_id, channel=body.channel, sender=body.sender,
                          account=body.account)
    return respond(200, BotOut.model_validate(bot.public()), bot.version)


handler = lambda_entry(app)
