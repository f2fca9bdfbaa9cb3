"""Unique names: a fleet's in its workspace, a bot's in its fleet (NameClaim items, case-insensitive).

The claim is written in the same transaction as the entity, so two creates or renames to one name
cannot both commit: the second claim's attribute_not_exists fails and the request is a 409 naming
`name`. Entities written before claims existed have none; the rule holds for new creates and
renames, and a release never deletes a claim held by another entity."""

from __future__ import annotations

from clawster.domain.errors import Conflict
from clawster.store.entities import NameClaim
from clawster.store.transaction import Change, ErrorFactory

_SCOPES = {"FLEET": "this workspace", "BOT": "this fleet"}


def name_taken(claim: NameClaim) -> Conflict:
    reason = f"a {claim.kind.lower()} named '{claim.name}' already exists in {_SCOPES[claim.kind]}"
    return Conflict(f"name: {reason}", {"errors": [{"field": "name", "reason": reason}]})


def claim(change: Change, name: NameClaim) -> None:
    change.create(name, exists_error=lambda: name_taken(name))


def release(change: Change, name: NameClaim, *, stale_error: ErrorFactory) -> None:
    """Delete the claim in `change` if its owner holds it. An entity from before claims holds none,
    and its name may since have been claimed by another: that claim is left alone."""
    try:
        stored = NameClaim.get(name.pk, name.sk, consistent_read=True)
    except NameClaim.DoesNotExist:
        return
    if stored.owner_id == name.owner_id:  # only the owner's own writes (version-checked) take it away
        change.remove(name, condition=NameClaim.owner_id == name.owner_id, error=stale_error)


def rename(change: Change, old: NameClaim, new: NameClaim, *, stale_error: ErrorFactory) -> None:
    """Move a name in `change`. A change of case only keeps the claim (same key)."""
    if old.sk == new.sk:
        return
    release(change, old, stale_error=stale_error)
    claim(change, new)
