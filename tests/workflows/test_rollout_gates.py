"""The measured rollout gates through the whole path: the API, moto's Step Functions running
statemachines/rollout.asl.json, the rollout task reading each gate. Two bots run on loopback fake gateways
(layers/providers/loopback.py, handed over by tests/loopback.py); a CANARY rollout bakes each wave until the
test promotes it. For each gate kind: the canary's wave has no data and PAUSES (never passes); after a resume
the second wave's gate fails and the rollout is ROLLED_BACK, both bots back on their revisions.

The failures are made where the gate reads them: the fake gateway writes ERROR lines to its log (logs.tail),
the health job (clawster.services.health.poll) records failed probes, CloudWatch (moto) holds an alarm the test
sets to ALARM."""

from __future__ import annotations

import re

import pytest

from clawster.services import health
from tests.loopback import fake_gateways
from tests.workflows.test_rollouts import wait_for

CEILING_S = 180


@pytest.fixture
def bots(team, tmp_path):
    """Two bots of a new fleet, each RUNNING on its own fake gateway (tests/loopback.py)."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "gates-fleet"}).ok(201).body["id"]
    with fake_gateways(tmp_path / "secrets") as live:
        running = [live(team, name) for name in ("canary", "second")]
        yield team, [bot_id for bot_id, _ in running], dict(running)


def until(team, rollout_id: str, done, what: str) -> dict:
    return wait_for(team, rollout_id, done, what, CEILING_S)


def _roll(team, ids: list[str], gate: dict, fail_second_wave) -> tuple[dict, dict]:
    """The canary's wave pauses on no data; after a resume, `fail_second_wave(bot_id)` makes the gate fail on
    the second bot while its wave bakes, and the rollout rolls back. Returns (the paused view, the final one)."""
    canary, second = ids
    before = {i: team.owner.get(f"{team.ws}/bots/{i}").ok(200).body["desired_revision_id"] for i in ids}
    body = {"targets": {"bot_ids": ids}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#0f0e0d"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [canary]}, "bake_s": 600,
            "gates": ["gateway_health", gate]}
    rollout_id = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body["id"]
    path = f"{team.ws}/rollouts/{rollout_id}"
    until(team, rollout_id, lambda r: r["waves"][0]["status"] == "BAKING", "the canary baking")
    team.clients["OPERATOR"].post(f"{path}/promote").ok(200)  # end the bake now: the gates are read
    paused = until(team, rollout_id, lambda r: r["status"] == "PAUSED", "paused")
    team.clients["OPERATOR"].post(f"{path}/resume").ok(200)
    until(team, rollout_id, lambda r: len(r["waves"]) > 1 and r["waves"][1]["status"] == "BAKING", "wave 2 baking")
    fail_second_wave(second)
    team.clients["OPERATOR"].post(f"{path}/promote").ok(200)
    final = until(team, rollout_id, lambda r: r["status"] in ("ROLLED_BACK", "FAILED", "SUCCEEDED"), "its end")
    assert final["status"] == "ROLLED_BACK", final
    assert {b["bot_id"]: b["state"] for w in final["waves"] for b in w["bots"]} == \
        {canary: "ROLLED_BACK", second: "ROLLED_BACK"}
    for bot_id in ids:
        assert team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body["desired_revision_id"] == before[bot_id]
    return paused, final


def _gate_of(view: dict, wave: int, kind: str) -> tuple[str, str]:
    seen = view["waves"][wave - 1]
    return seen["readings"][kind], seen["gate_details"][kind]


def test_the_error_rate_gate_pauses_without_enough_log_events_and_rolls_back_on_errors(bots):
    team, ids, fakes = bots

    def errors(bot_id: str) -> None:
        for n in range(20):  # 5 errors in 20 events: 25 % > 5 %
            fakes[bot_id].log("gateway/test", f"event {n}", "ERROR" if n % 4 == 0 else "INFO")

    paused, final = _roll(team, ids, {"gate": "error_rate", "max": 0.05, "min_samples": 20}, errors)
    reading, detail = _gate_of(paused, 1, "error_rate")
    assert reading == "NO_DATA" and "at least 20 needed" in detail, detail
    assert paused["waves"][0]["verdict"] == "PAUSE" and "error_rate NO_DATA" in paused["status_reason"]
    reading, detail = _gate_of(final, 2, "error_rate")
    assert reading == "FAIL" and detail.startswith("5 of "), detail
    assert "gate failed: error_rate" in final["status_reason"]


def test_the_slo_gate_pauses_without_probes_and_rolls_back_on_a_fast_burn(bots):
    team, ids, _ = bots

    def failed_probes(bot_id: str) -> None:
        """The health job's own run, with a probe that finds this bot's gateway down (and says nothing about any
        other bot of the shared stack), then one that finds it up again: 5 of 6 probes failed."""
        def probe(healthy: bool):
            return lambda bot: health.Health(healthy, "test") if bot.id == bot_id else health.Health(None, "not ours")

        for healthy in (False,) * 5 + (True,):
            health.poll(probe=probe(healthy), remaining_ms=lambda: 60_000, request_id="test-gates")
        assert team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body["status"] == "RUNNING"

    paused, final = _roll(team, ids, {"gate": "slo", "target": 0.99, "max_burn": 2, "min_probes": 5}, failed_probes)
    reading, detail = _gate_of(paused, 1, "slo")
    assert (reading, detail) == ("NO_DATA", "0 health probes in the window; at least 5 needed")
    reading, detail = _gate_of(final, 2, "slo")
    # 5 of 6, or more failed ones: a run that moves the bot RUNNING -> DEGRADED may check it again when it reads
    # the DEGRADED pages after (clawster.services.health pages RUNNING first): each check is a probe.
    failed, taken = (int(n) for n in re.match(r"(\d+) of (\d+) health probes failed", detail).groups())
    assert reading == "FAIL" and taken - failed == 1 and failed >= 5, detail


def test_the_cloudwatch_alarm_gate_pauses_on_insufficient_data_and_rolls_back_in_alarm(stack, bots):
    team, ids, _ = bots
    cloudwatch = stack._client("cloudwatch")  # the local stack's moto server: the rollout task asks the same one
    watched, missing = f"gates-{ids[0]}-errors", f"gates-{ids[0]}-never-created"
    cloudwatch.put_metric_alarm(AlarmName=watched, MetricName="Errors", Namespace="Clawster/Test", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    # A new alarm starts INSUFFICIENT_DATA on AWS; moto starts it OK: set what AWS would show.
    cloudwatch.set_alarm_state(AlarmName=watched, StateValue="INSUFFICIENT_DATA", StateReason="new")

    def alarm(_bot_id: str) -> None:
        cloudwatch.set_alarm_state(AlarmName=watched, StateValue="ALARM", StateReason="the test")

    paused, final = _roll(team, ids, {"gate": "cloudwatch_alarm", "alarms": [watched, missing]}, alarm)
    reading, detail = _gate_of(paused, 1, "cloudwatch_alarm")
    assert (reading, detail) == ("NO_DATA", f"INSUFFICIENT_DATA: {watched}; MISSING: {missing}")
    reading, detail = _gate_of(final, 2, "cloudwatch_alarm")
    assert (reading, detail) == ("FAIL", f"ALARM: {watched}; MISSING: {missing}")


def test_the_probe_history_keeps_a_window_across_hours_and_expires(stack, team):
    """Probes land in one item per bot and hour (appended, none lost to a concurrent run), a window reads the
    hours it spans and only the probes inside it, and every item carries its TTL."""
    from concurrent.futures import ThreadPoolExecutor

    from clawster.services import probe_history
    from clawster.store.entities import HealthProbes

    ws, bot_id = team.workspace_id, "probe-history-bot"
    hour = 1_795_420_800  # 2026-11-23T08:00:00Z, an hour's start
    taken = [(hour - 60, True), (hour - 1, False), (hour, True), (hour + 59, False), (hour + 3599, True),
             (hour + 3600, False)]  # over three hours
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: probe_history.record(ws, bot_id, p[1], at=p[0]), taken))
    assert probe_history.window(ws, bot_id, hour - 3600, hour + 7200) == [True, False, True, False, True, False]
    assert probe_history.window(ws, bot_id, hour - 1, hour + 59) == [False, True, False]  # both ends included
    assert probe_history.window(ws, bot_id, hour + 1, hour + 3598) == [False]
    assert probe_history.window(ws, bot_id, hour + 7200, hour + 9000) == []
    # A bake that began at x.7 s holds a probe taken at x.9 s (kept as x: the history's resolution is a second).
    probe_history.record(ws, "probe-history-other", False, at=hour + 30.9)
    assert probe_history.window(ws, "probe-history-other", hour + 30.7, hour + 31) == [False]
    items = list(HealthProbes.query(HealthProbes.partition(ws, bot_id)))
    assert [len(i.probes) for i in items] == [2, 3, 1]
    assert [int(i.expires_at) for i in items] == [hour + 3600 * k + HealthProbes.TTL_S for k in (0, 1, 2)]


@pytest.mark.parametrize(("gates", "field"), [
    ([{"gate": "error_rate", "max": "0.05"}], "gates.0"),  # a string is not a number (no lax coercion)
    ([{"gate": "error_rate", "min_samples": 2.0}], "gates.0"),
    ([{"gate": "error_rate", "max": 1}], "gates.0"),
    ([{"gate": "slo", "target": 1}], "gates.0"),
    ([{"gate": "cloudwatch_alarm", "alarms": []}], "gates.0"),
    ([{"gate": "cloudwatch_alarm"}], "gates.0"),
    ([{"gate": "cpu"}], "gates.0"),
    (["gateway_health", {"gate": "slo", "max": 0.1}], "gates.1"),  # a field of another gate
    (["slo", {"gate": "slo"}], "gates"),  # a kind twice (the domain's rule)
    (["cloudwatch_alarm"], "gates[0].alarms"),  # a bare name has no alarms to read (the domain's rule)
])
def test_a_bad_gate_is_a_422_naming_it_and_creates_nothing(team, gates, field):
    team.with_bot()
    body = {"targets": {"bot_ids": [team.bot_id]}, "change": {"kind": "refresh"}, "gates": gates}
    refused = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(422)
    assert refused.body["details"]["errors"][0]["field"].startswith(field), refused.body
    assert team.clients["VIEWER"].get(f"{team.ws}/rollouts").ok(200).body["items"] == []
