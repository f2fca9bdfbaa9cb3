"""The measured rollout gates (clawster.domain.gates) and their spec parsing, against hand-written oracles: each
gate's PASS / FAIL / NO_DATA boundaries were worked out by hand (the arithmetic is in the comments), not by
running the code."""

from __future__ import annotations

import json

import pytest

from clawster.domain import gates as g
from clawster.domain import rollouts as r
from clawster.domain.errors import ValidationFailed
from clawster.domain.gates import LogCount as C

PASS, FAIL, NO = r.Reading.PASS, r.Reading.FAIL, r.Reading.NO_DATA

ERR = r.Gate("error_rate", max=0.05, min_samples=20)


@pytest.mark.parametrize(("counts", "reading"), [
    ([C(20, 1)], PASS),  # 1/20 = 5 %: not above 5 %
    ([C(20, 2)], FAIL),  # 10 %
    ([C(100, 5)], PASS),  # exactly 5 %
    ([C(100, 6)], FAIL),  # 6 %
    ([C(19, 0)], NO),  # 19 events: one short of 20
    ([C(19, 19)], NO),  # all errors, but too few to judge: pause, not a rollback
    ([C(10, 0), C(10, 1)], PASS),  # summed over the wave: 1/20
    ([C(10, 0), C(10, 2)], FAIL),  # 2/20 = 10 %
    ([C(10, 0), C(9, 0)], NO),  # 19 in all
    ([C(0, 0), C(40, 2)], PASS),  # a quiet bot does not hold back the wave: 2/40 = 5 %
    ([C(100, 0), None], NO),  # one gateway's log unread: not a pass
    ([], NO),  # no live gateway in the wave
])
def test_the_error_rate_gate(counts, reading):
    assert g.error_rate(ERR, counts).reading is reading


def test_an_error_rate_of_zero_fails_at_the_first_error():
    strict = r.Gate("error_rate", max=0.0, min_samples=1)
    assert g.error_rate(strict, [C(1, 0)]).reading is PASS
    assert g.error_rate(strict, [C(1000, 1)]).reading is FAIL
    assert g.error_rate(strict, [C(0, 0)]).reading is NO


def _line(level_id: int | None, at: str | None, **extra) -> str:
    event = {"0": "{\"subsystem\":\"gateway\"}", "1": "m", "message": "m", **extra}
    if level_id is not None:
        event["_meta"] = {"logLevelId": level_id, "logLevelName": "x"}
    if at is not None:
        event["time"] = at
    return json.dumps(event)


T0 = 1_795_420_800.0  # 2026-11-23T08:00:00Z (20,780 days of 86,400 s since 1970)


def test_log_lines_are_counted_by_level_and_time():
    lines = [
        _line(3, "2026-11-23T07:59:59.999+00:00"),  # before the window: not counted
        _line(3, "2026-11-23T08:00:00.000+00:00"),  # at its start: counted
        _line(4, "2026-11-23T08:00:01.000+00:00"),  # WARN is not an error
        _line(5, "2026-11-23T08:00:02.000+00:00"),  # ERROR
        _line(6, "2026-11-23T09:00:02.000+01:00"),  # FATAL, 08:00:02Z written with an offset
        _line(5, "2026-11-23T07:00:00.000+00:00"),  # an old error: not counted
        _line(None, "2026-11-23T08:00:03.000+00:00"),  # no level: not an event
        _line(5, None),  # no time
        _line(5, "yesterday"),  # a time that is not ISO 8601
        _line(True, "2026-11-23T08:00:03.000+00:00"),  # a level that is not a number
        "not json",
        json.dumps(["a", "list"]),
        42,
    ]
    assert g.count_log_lines(lines, T0) == C(total=4, errors=2)
    assert g.count_log_lines(lines, T0 + 3600) == C(0, 0)


SLO = r.Gate("slo", target=0.99, max_burn=1.0, min_probes=5)
OK, BAD = True, False


@pytest.mark.parametrize(("gate", "probes", "reading"), [
    (SLO, [[OK] * 5], PASS),  # burn 0
    (SLO, [[OK] * 4 + [BAD]], FAIL),  # 1/5 = 20 % failed / 1 % budget = burn 20
    (SLO, [[OK] * 4], NO),  # 4 probes: one short
    (SLO, [[OK] * 2, [OK] * 2, [BAD]], FAIL),  # 5 probes over the wave's bots, one failed
    (SLO, [[], []], NO),  # no probe at all
    (SLO, [], NO),  # no live bot
    (r.Gate("slo", target=0.9, max_burn=2.0, min_probes=5), [[OK] * 4 + [BAD]], PASS),  # 20 % / 10 % = burn 2: not above
    (r.Gate("slo", target=0.9, max_burn=2.0, min_probes=5), [[OK] * 3 + [BAD] * 2], FAIL),  # 40 % / 10 % = 4
    (r.Gate("slo", target=0.5, max_burn=1.0, min_probes=4), [[OK, OK, BAD, BAD]], PASS),  # 50 % / 50 % = 1
    (r.Gate("slo", target=0.5, max_burn=1.0, min_probes=4), [[OK, BAD, BAD, BAD]], FAIL),  # 75 % / 50 % = 1.5
    (r.Gate("slo", target=0.5, max_burn=1.0, min_probes=1), [[BAD]], FAIL),  # 100 % / 50 % = 2
])
def test_the_slo_burn_gate(gate, probes, reading):
    assert g.slo_burn(gate, probes).reading is reading


ALARMS = r.Gate("cloudwatch_alarm", alarms=("a", "b"))


@pytest.mark.parametrize(("states", "reading"), [
    ({"a": "OK", "b": "OK"}, PASS),
    ({"a": "OK", "b": "ALARM"}, FAIL),
    ({"a": "INSUFFICIENT_DATA", "b": "OK"}, NO),
    ({"a": "OK", "b": None}, NO),  # no such alarm: pause, never pass
    ({"a": "OK"}, NO),  # not answered at all for b
    ({"a": None, "b": "ALARM"}, FAIL),  # an alarm outranks a missing one
    ({"a": "OK", "b": "SOMETHING_NEW"}, NO),  # a state we do not know is not a pass
    ({"a": "OK", "b": "OK", "c": "ALARM"}, PASS),  # an alarm the gate does not name is not read
])
def test_the_cloudwatch_alarm_gate(states, reading):
    assert g.alarms(ALARMS, states).reading is reading


def test_the_details_say_what_was_seen():
    assert g.error_rate(ERR, [C(40, 4)]).detail == "4 of 40 log events were errors (10.0%; at most 5.0%)"
    assert g.error_rate(ERR, [C(3, 0)]).detail == "3 log events in the window; at least 20 needed"
    assert g.slo_burn(SLO, [[OK] * 9 + [BAD]]).detail == \
        "1 of 10 health probes failed: burn rate 10.00 against an SLO of 99.00% (at most 1)"
    assert g.alarms(ALARMS, {"a": "ALARM", "b": None}).detail == "ALARM: a; MISSING: b"


BASE = {"targets": {"bot_ids": ["a"]}, "change": {"kind": "refresh"}}


def test_gates_are_names_or_objects_with_their_thresholds():
    spec = r.parse({**BASE, "gates": ["gateway_health", {"gate": "error_rate", "max": 0.1, "min_samples": 50},
                                      "slo", {"gate": "cloudwatch_alarm", "alarms": ["x", "y"]}]})
    assert spec.gates == (r.Gate("gateway_health"), r.Gate("error_rate", max=0.1, min_samples=50),
                          r.Gate("slo", target=0.99, max_burn=1.0, min_probes=5),
                          r.Gate("cloudwatch_alarm", alarms=("x", "y")))
    assert r.parse(BASE).gates == (r.Gate("gateway_health"),)  # the default
    assert r.parse({**BASE, "gates": [{"gate": "channel_health"}]}).gates == (r.Gate("channel_health"),)


@pytest.mark.parametrize(("gates", "field"), [
    (["cpu"], "gates"),
    ([{"gate": "cpu"}], "gates[0].gate"),
    (["gateway_health", "gateway_health"], "gates"),
    (["slo", {"gate": "slo", "target": 0.9}], "gates"),
    (["cloudwatch_alarm"], "gates[0].alarms"),  # a bare name has no alarms to read
    ([{"gate": "cloudwatch_alarm", "alarms": []}], "gates[0].alarms"),
    ([{"gate": "cloudwatch_alarm", "alarms": ["a", "a"]}], "gates[0].alarms"),
    ([{"gate": "cloudwatch_alarm", "alarms": [""]}], "gates[0].alarms"),
    ([{"gate": "cloudwatch_alarm", "alarms": [f"a{i}" for i in range(101)]}], "gates[0].alarms"),
    (["gateway_health", {"gate": "error_rate", "max": 1}], "gates[1].max"),  # a share below 1
    ([{"gate": "error_rate", "max": -0.01}], "gates[0].max"),
    ([{"gate": "error_rate", "max": "0.05"}], "gates[0].max"),  # a string is not a number
    ([{"gate": "error_rate", "max": True}], "gates[0].max"),
    ([{"gate": "error_rate", "min_samples": 0}], "gates[0].min_samples"),
    ([{"gate": "error_rate", "min_samples": 2.5}], "gates[0].min_samples"),
    ([{"gate": "error_rate", "target": 0.9}], "gates[0].target"),  # not a field of this gate
    ([{"gate": "slo", "target": 1}], "gates[0].target"),  # no error budget left
    ([{"gate": "slo", "target": 0}], "gates[0].target"),
    ([{"gate": "slo", "max_burn": 0}], "gates[0].max_burn"),
    ([{"gate": "slo", "min_probes": 0}], "gates[0].min_probes"),
    ([{"gate": "gateway_health", "max": 0.1}], "gates[0].max"),
])
def test_bad_gates_name_the_field(gates, field):
    with pytest.raises(ValidationFailed) as refused:
        r.parse({**BASE, "gates": gates})
    assert refused.value.details["errors"][0]["field"] == field
