"""Every entity model, on every thread, uses one DynamoDB client: making one loads botocore's service
model (~130 ms), and the local stack's API Gateway serves each connection on a new thread."""

from __future__ import annotations

import threading

import botocore.session

from clawster.store import entities


def test_models_on_many_threads_share_one_client(monkeypatch):
    from clawster.store import session

    monkeypatch.setattr(session, "_clients", {})
    made = []
    original = botocore.session.Session.create_client

    def counting(self, *args, **kwargs):
        made.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    models = [entities.Workspace, entities.Member, entities.Fleet, entities.Bot, entities.AuditEvent]
    seen, start = [], threading.Barrier(8)

    def use_every_model() -> None:
        start.wait(30)  # all threads ask at once: the first use must not race
        seen.extend(id(model._get_connection().connection.client) for model in models)

    threads = [threading.Thread(target=use_every_model) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(seen) == 8 * len(models)
    assert len(set(seen)) == 1 and len(made) == 1
