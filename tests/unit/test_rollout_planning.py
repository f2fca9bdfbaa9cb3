"""The rollout domain against hand-written oracles: which bots each wave holds, and what a wave's gates
and failures decide. The expected values were worked out by hand, not by running the code."""

from __future__ import annotations

import pytest

from clawster.domain import rollouts as r
from clawster.domain.errors import ValidationFailed

BOTS = [f"b{i:02d}" for i in range(10)]


def sizes(waves):
    return [len(w) for w in waves]


@pytest.mark.parametrize(("plan", "n", "expected"), [
    (r.Plan(r.Strategy.ALL), 10, [10]),
    (r.Plan(r.Strategy.ALL), 1, [1]),
    (r.Plan(r.Strategy.PERCENTAGE, steps=(10, 50, 100)), 10, [1, 4, 5]),
    (r.Plan(r.Strategy.PERCENTAGE, steps=(10, 50, 100)), 3, [1, 1, 1]),  # ceil(0.3)=1, ceil(1.5)=2, 3
    (r.Plan(r.Strategy.PERCENTAGE, steps=(1, 2, 100)), 10, [1, 1, 8]),  # a step never adds nothing
    (r.Plan(r.Strategy.PERCENTAGE, steps=(50,)), 10, [10]),  # the last wave reaches every bot
    (r.Plan(r.Strategy.PERCENTAGE, steps=(34, 67, 100)), 3, [2, 1]),  # ceil(1.02)=2, ceil(2.01)=3: done early
    (r.Plan(r.Strategy.LINEAR, step_percent=25), 10, [3, 2, 3, 2]),  # ceil 2.5, 5, 7.5, 10
    (r.Plan(r.Strategy.LINEAR, step_percent=100), 10, [10]),
    (r.Plan(r.Strategy.EXPONENTIAL, initial_percent=10, growth_factor=2), 10, [1, 1, 2, 4, 2]),  # 10,20,40,80,100
    (r.Plan(r.Strategy.EXPONENTIAL, initial_percent=30, growth_factor=3), 10, [3, 6, 1]),  # 30, 90, 100
])
def test_wave_sizes(plan, n, expected):
    waves = r.plan_waves(BOTS[:n], plan)
    assert sizes(waves) == expected
    assert [b for w in waves for b in w] == BOTS[:n]  # each bot once, order kept


def test_canaries_go_first_then_the_rest_by_steps():
    plan = r.Plan(r.Strategy.CANARY, canary_bot_ids=("b07", "b02"), steps=(50, 100))
    assert r.plan_waves(BOTS, plan) == [["b07", "b02"], ["b00", "b01", "b03", "b04"], ["b05", "b06", "b08", "b09"]]
    assert r.plan_waves(BOTS[:3], r.Plan(r.Strategy.CANARY, canary_bot_ids=("b01",))) == [["b01"], ["b00", "b02"]]
    assert r.plan_waves(["b01"], r.Plan(r.Strategy.CANARY, canary_bot_ids=("b01",))) == [["b01"]]


def test_a_canary_outside_the_targets_is_named():
    with pytest.raises(ValidationFailed) as refused:
        r.plan_waves(BOTS[:2], r.Plan(r.Strategy.CANARY, canary_bot_ids=("zz",)))
    assert refused.value.details["errors"][0]["field"] == "strategy.canary_bot_ids"


def test_no_target_is_refused():
    with pytest.raises(ValidationFailed):
        r.plan_waves([], r.Plan())


PASS, FAIL, NO, INC = r.Reading.PASS, r.Reading.FAIL, r.Reading.NO_DATA, r.Reading.INCONCLUSIVE
GO, PAUSE, BACK = r.Verdict.CONTINUE, r.Verdict.PAUSE, r.Verdict.ROLLBACK


@pytest.mark.parametrize(("readings", "abort", "done", "failed", "verdict"), [
    ({"gateway_health": PASS}, r.AbortThreshold(), 3, 0, GO),
    ({"gateway_health": PASS}, r.AbortThreshold(), 1, 1, BACK),  # default: the first failure rolls back
    ({"gateway_health": PASS}, r.AbortThreshold(50, 4), 2, 2, GO),  # 100 % failed, but only 2 of the 4 needed
    ({"gateway_health": PASS}, r.AbortThreshold(50, 4), 4, 2, GO),  # 50 % is not more than 50 %
    ({"gateway_health": PASS}, r.AbortThreshold(50, 4), 4, 3, BACK),  # 75 % > 50 %, sample reached
    ({"gateway_health": PASS}, r.AbortThreshold(20, 5), 10, 2, GO),  # 20 %, not more
    ({"gateway_health": PASS}, r.AbortThreshold(20, 5), 10, 3, BACK),
    ({"gateway_health": NO}, r.AbortThreshold(), 2, 0, PAUSE),  # no data never passes
    ({"gateway_health": PASS, "channel_health": INC}, r.AbortThreshold(), 2, 0, PAUSE),
    ({"gateway_health": PASS, "channel_health": FAIL}, r.AbortThreshold(), 2, 0, BACK),
    ({"gateway_health": NO, "channel_health": FAIL}, r.AbortThreshold(), 2, 0, BACK),  # a failure outranks
    ({"gateway_health": NO}, r.AbortThreshold(), 1, 1, BACK),  # the threshold outranks no data
    ({}, r.AbortThreshold(), 2, 0, PAUSE),  # nothing read: pause
])
def test_decisions(readings, abort, done, failed, verdict):
    assert r.decide(readings, abort, done=done, failed=failed).verdict is verdict


@pytest.mark.parametrize(("per_bot", "gate"), [
    ([PASS, PASS], PASS), ([PASS, FAIL, NO], FAIL), ([PASS, NO], NO), ([PASS, INC], INC), ([], NO),
])
def test_a_gate_over_a_wave(per_bot, gate):
    assert r.combine(per_bot) is gate


def test_merge_patch():
    assert r.merge_patch({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": None, "e": 5}, "d": [1]}) == \
        {"a": {"c": 2, "e": 5}, "d": [1]}
    assert r.merge_patch(None, {"x": {"y": None}}) == {"x": {}}


@pytest.mark.parametrize(("body", "field"), [
    ({"change": {"kind": "refresh"}}, "targets"),
    ({"targets": {"bot_ids": ["a"], "fleet_ids": ["f"]}, "change": {"kind": "refresh"}}, "targets"),
    ({"targets": {"bot_ids": ["a", "a"]}, "change": {"kind": "refresh"}}, "targets.bot_ids"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "nope"}}, "change.kind"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "config_patch"}}, "change.patch"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "version"}}, "change.openclaw_version"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "strategy": {"kind": "PERCENTAGE"}},
     "strategy.steps"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"},
      "strategy": {"kind": "PERCENTAGE", "steps": [50, 10]}}, "strategy.steps"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "strategy": {"kind": "CANARY"}},
     "strategy.canary_bot_ids"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"},
      "strategy": {"kind": "EXPONENTIAL", "initial_percent": 10, "growth_factor": 1}}, "strategy.growth_factor"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "abort": {"failed_percent": 100}},
     "abort.failed_percent"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "abort": {"min_done": 0}}, "abort.min_done"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "gates": ["cpu"]}, "gates"),
    ({"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}, "approval_before_waves": [0]},
     "approval_before_waves"),
])
def test_bad_specs_name_the_field(body, field):
    with pytest.raises(ValidationFailed) as refused:
        r.parse(body)
    assert refused.value.details["errors"][0]["field"] == field


def test_selector_matching():
    targets = r.Targets(environments=("prod",), tags={"tier": "gold"})
    assert targets.matches(bot_id="x", fleet_id="f", environment="prod", tags={"tier": "gold", "a": "b"})
    assert not targets.matches(bot_id="x", fleet_id="f", environment="dev", tags={"tier": "gold"})
    assert not targets.matches(bot_id="x", fleet_id="f", environment="prod", tags={})
    assert r.Targets(bot_ids=("x",)).matches(bot_id="x", fleet_id="f", environment="dev", tags={})


@pytest.mark.parametrize(("payload", "reading"), [
    ({"channelOrder": ["telegram"], "channelAccounts": {}, "statusIssues": []}, PASS),
    ({"channelOrder": ["telegram"], "statusIssues": [{"channel": "telegram", "message": "logged out"}]}, FAIL),
    ({"channelOrder": [], "channelAccounts": {}, "statusIssues": []}, NO),  # no channel: nothing to judge
    ({"ts": 1}, NO),
    ("not an object", INC),
    ({"channelOrder": "telegram"}, INC),
])
def test_the_channel_gate_from_channels_status(payload, reading):
    assert r.channel_reading(payload) is reading


def test_a_fleet_revision_is_the_own_config_its_bots_share():
    shared = {"ui": {"seamColor": "#010101"}, "channels": {"defaults": {"groupPolicy": "allowlist"}}}
    same_reordered = {"channels": {"defaults": {"groupPolicy": "allowlist"}}, "ui": {"seamColor": "#010101"}}
    assert r.fleet_revision([shared, same_reordered]) == shared
    with pytest.raises(ValidationFailed) as differ:
        r.fleet_revision([shared, {"ui": {"seamColor": "#020202"}}, {}])
    assert differ.value.details["errors"][0]["field"] == "change.source_fleet_id"
    assert "3 distinct" in differ.value.details["errors"][0]["reason"]
    with pytest.raises(ValidationFailed, match="no bot"):
        r.fleet_revision([])


def test_a_promotion_spec_names_its_source_and_carries_its_snapshot():
    targets = {"fleet_ids": ["01J0000000000000000000000F"]}
    with pytest.raises(ValidationFailed) as missing:
        r.parse({"targets": targets, "change": {"kind": "promote_fleet"}})
    assert missing.value.details["errors"][0]["field"] == "change.source_fleet_id"
    spec = r.parse({"targets": targets, "change": {"kind": "promote_fleet", "source_fleet_id": "01J0000000000000000000000S",
                                                   "config": {"ui": {"seamColor": "#030303"}}}})
    assert spec.change.kind is r.ChangeKind.PROMOTE_FLEET and spec.change.source_fleet_id == "01J0000000000000000000000S"
    assert spec.change.config == {"ui": {"seamColor": "#030303"}}
