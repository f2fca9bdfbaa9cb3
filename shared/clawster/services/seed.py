"""Demo data for the local stack, and the local issuer's membership grant (`clawster token --role`)."""

from __future__ import annotations

from clawster.domain.roles import Role
from clawster.services import bots, fleets, workspaces
from clawster.services.context import Access, Caller
from clawster.store.entities import Member

DEMO_WORKSPACE = "Demo"
LOCAL_ISSUER = "local-issuer"


def seed_demo(admin_user: str = "admin") -> str:
    """Create the demo workspace (owned by `admin_user`), a fleet and a bot. Idempotent."""
    caller = Caller(user_id=admin_user, request_id="seed")
    for workspace, _ in workspaces.list_mine(caller):
        if workspace.name == DEMO_WORKSPACE:
            return workspace.id
    workspace, _ = workspaces.create(caller, name=DEMO_WORKSPACE, description="Seeded by the local stack")
    access = Access(caller=caller, workspace_id=workspace.id, role=Role.OWNER, action="fleet.create")
    fleet = fleets.create(access, name="demo-dev", environment="dev", description="Demo fleet", tags={"team": "demo"})
    bot_access = Access(caller=caller, workspace_id=workspace.id, role=Role.OWNER, action="bot.create")
    bots.create(bot_access, fleet.id, name="demo-bot", template_id="offline-mock", config=None, tags={"tier": "demo"})
    return workspace.id


def grant(workspace_id: str, user_id: str, role: Role) -> None:
    """Give `user_id` `role` in a workspace on behalf of the local issuer (dev stack only), audited."""
    caller = Caller(user_id=LOCAL_ISSUER, request_id="local-token")
    access = Access(caller=caller, workspace_id=workspace_id, role=Role.OWNER, action="member.put")
    try:
        current = Member.get(*Member.key(workspace_id, user_id), consistent_read=True)
    except Member.DoesNotExist:
        current = None
    if current is None or current.role != role.value:
        workspaces.write_member(access, user_id, role, current)
