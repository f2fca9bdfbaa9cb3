"""Every entity class has its own pynamodb connection, with its own indexes, whichever class asked first."""

from __future__ import annotations

from clawster.store.entities import AuditEvent, Bot, Entity, Mutable


def test_a_base_class_connection_is_never_inherited_by_an_entity():
    base = Entity._get_connection()  # what tests/e2e/test_idempotency.py does to read raw items
    Mutable._get_connection()
    for entity, index in ((AuditEvent, "gsi2"), (Bot, "gsi2"), (AuditEvent, "gsi1")):
        connection = entity._get_connection()
        assert connection is not base
        assert connection.get_meta_table().has_index_name(index), (entity.__name__, index)
    assert not base.get_meta_table().has_index_name("gsi2")  # the base's own meta table: no indexes
