// Starting a rollout: the targets (bots by id, or a selector), the change, the strategy, the gates and the abort
// threshold, as RolloutCreate takes them. The API judges the body: its 422 names the field, shown as it says.
import { useState, type FormEvent, type ReactNode } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { SubmitButton } from "../lib/forms";
import { readAll } from "../lib/pager";
import { navigate } from "../lib/router";
import { ErrorBox, useAction, useLoad, useWorkspace } from "../lib/ui";

type Body = Schemas["RolloutCreate"];
type GateKind = "gateway_health" | "channel_health" | "error_rate" | "slo" | "cloudwatch_alarm";
const OP = "POST /workspaces/{workspace_id}/rollouts" as const;
const GATES: [GateKind, string][] = [["gateway_health", "Gateway health"], ["channel_health", "Channel health"],
  ["error_rate", "Error rate"], ["slo", "SLO burn rate"], ["cloudwatch_alarm", "CloudWatch alarms"]];
// The thresholds each measured gate takes (empty: the API's default), with their labels.
const THRESHOLDS: Partial<Record<GateKind, [string, string][]>> = {
  error_rate: [["max", "Highest error share (0–1)"], ["min_samples", "Fewest log events"]],
  slo: [["target", "Target (0–1)"], ["max_burn", "Highest burn rate"], ["min_probes", "Fewest probes"]],
};

/** The form's fields as typed (strings: the API, not the form, decides what is valid). */
const START = {
  botIds: "", fleetId: "", environment: "", tags: "",
  change: "config_patch", patch: "", version: "", sourceFleetId: "",
  strategy: "ALL", steps: "", canaries: "", stepPercent: "", initialPercent: "", growthFactor: "",
  maxConcurrency: "", bakeS: "", failedPercent: "", minDone: "", approvals: "",
  gates: { gateway_health: true } as Partial<Record<GateKind, boolean>>,
  thresholds: {} as Record<string, string>, alarms: "",
};
type Fields = typeof START;

/** Thrown for what the form cannot send at all (a patch that is not JSON); named like the API's fields. */
class FormError extends Error {}

const words = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const numbers = (text: string) => words(text).map(Number); // "x" becomes NaN, sent as null: the API names it
const number = (text: string) => (text.trim() === "" ? undefined : Number(text));

export function toBody(f: Fields): Body {
  const tags = Object.fromEntries(words(f.tags).map((pair) => {
    const at = pair.indexOf("=");
    return at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
  }));
  let patch: Record<string, unknown> | undefined;
  if (f.change === "config_patch") {
    try {
      patch = JSON.parse(f.patch || "null");
    } catch (error) {
      throw new FormError(`change.patch: not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const gates = GATES.filter(([kind]) => f.gates[kind]).map(([kind]) => {
    if (kind === "cloudwatch_alarm") return { gate: kind, alarms: words(f.alarms) };
    const given = (THRESHOLDS[kind] ?? []).filter(([key]) => (f.thresholds[`${kind}.${key}`] ?? "").trim() !== "");
    return given.length ? { gate: kind, ...Object.fromEntries(given.map(([key]) => [key, Number(f.thresholds[`${kind}.${key}`])])) } : kind;
  }) as Body["gates"];
  const strategy = { kind: f.strategy as NonNullable<Body["strategy"]>["kind"], steps: numbers(f.steps),
    canary_bot_ids: words(f.canaries), step_percent: number(f.stepPercent), initial_percent: number(f.initialPercent),
    growth_factor: number(f.growthFactor) };
  return {
    targets: { bot_ids: words(f.botIds), fleet_ids: f.fleetId ? [f.fleetId] : [],
      environments: f.environment ? [f.environment as "dev" | "staging" | "prod"] : [], tags },
    change: { kind: f.change as Body["change"]["kind"], patch,
      openclaw_version: f.change === "version" ? f.version : undefined,
      source_fleet_id: f.change === "promote_fleet" ? f.sourceFleetId : undefined },
    strategy, gates, max_concurrency: number(f.maxConcurrency), bake_s: number(f.bakeS),
    abort: { failed_percent: number(f.failedPercent), min_done: number(f.minDone) },
    approval_before_waves: numbers(f.approvals),
  };
}

export function NewRollout() {
  const workspace = useWorkspace();
  const [f, setF] = useState<Fields>(START);
  const set = <K extends keyof Fields>(key: K) => (value: Fields[K]) => setF((old) => ({ ...old, [key]: value }));
  const fleets = useLoad(() => readAll(async (cursor) => unwrap(await api().GET("/workspaces/{workspace_id}/fleets",
    { params: { path: { workspace_id: workspace.id }, query: { limit: 100, cursor } } }))), [workspace.id]);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let created: { id: string } | undefined;
    await action.run(async () => {
      const body = toBody(f);
      created = unwrap(await api().POST("/workspaces/{workspace_id}/rollouts",
        { params: { path: { workspace_id: workspace.id } }, body }));
    });
    if (created) navigate(`/w/${encodeURIComponent(workspace.id)}/rollouts/${encodeURIComponent(created.id)}`);
  };
  const fleetOptions = (fleets.data ?? []).map((fleet) => <option key={fleet.id} value={fleet.id}>{fleet.name} ({fleet.environment})</option>);
  return (
    <form className="rollout-form" onSubmit={submit} aria-labelledby="new-rollout" noValidate>
      <h2 id="new-rollout">New rollout</h2>
      <fieldset>
        <legend>Targets: bots by id, or a selector (every part given must match)</legend>
        <Field id="ro-bots" label="Bot ids" hint="separated by commas or spaces">
          <input id="ro-bots" value={f.botIds} onChange={(e) => set("botIds")(e.target.value)} aria-describedby="ro-bots-hint" />
        </Field>
        <Field id="ro-fleet" label="Fleet">
          <select id="ro-fleet" value={f.fleetId} onChange={(e) => set("fleetId")(e.target.value)}>
            <option value="">Any fleet</option>{fleetOptions}
          </select>
        </Field>
        <Field id="ro-env" label="Environment">
          <select id="ro-env" value={f.environment} onChange={(e) => set("environment")(e.target.value)}>
            <option value="">Any environment</option><option>dev</option><option>staging</option><option>prod</option>
          </select>
        </Field>
        <Field id="ro-tags" label="Tags" hint="key=value, separated by commas">
          <input id="ro-tags" value={f.tags} onChange={(e) => set("tags")(e.target.value)} aria-describedby="ro-tags-hint" />
        </Field>
      </fieldset>
      <fieldset>
        <legend>Change</legend>
        <Field id="ro-change" label="Kind">
          <select id="ro-change" value={f.change} onChange={(e) => set("change")(e.target.value)}>
            <option value="config_patch">Config patch</option><option value="refresh">Refresh from the config layers</option>
            <option value="version">OpenClaw version</option><option value="promote_fleet">Promote a fleet's config</option>
          </select>
        </Field>
        {f.change === "config_patch" && (
          <Field id="ro-patch" label="Patch (JSON merge patch onto each bot's own config)">
            <textarea id="ro-patch" rows={3} value={f.patch} onChange={(e) => set("patch")(e.target.value)} />
          </Field>
        )}
        {f.change === "version" && (
          <Field id="ro-version" label="OpenClaw version">
            <input id="ro-version" value={f.version} onChange={(e) => set("version")(e.target.value)} />
          </Field>
        )}
        {f.change === "promote_fleet" && (
          <Field id="ro-source" label="Source fleet">
            <select id="ro-source" value={f.sourceFleetId} onChange={(e) => set("sourceFleetId")(e.target.value)}>
              <option value="">Choose a fleet</option>{fleetOptions}
            </select>
          </Field>
        )}
      </fieldset>
      <Strategy f={f} set={set} />
      <fieldset>
        <legend>Gates (read after each wave's bake; no data pauses the rollout)</legend>
        {GATES.map(([kind, label]) => (
          <div key={kind} className="gate">
            <input type="checkbox" id={`ro-gate-${kind}`} checked={!!f.gates[kind]}
              onChange={(e) => set("gates")({ ...f.gates, [kind]: e.target.checked })} />
            <label htmlFor={`ro-gate-${kind}`}>{label}</label>
            {f.gates[kind] && (THRESHOLDS[kind] ?? []).map(([key, text]) => (
              <Field key={key} id={`ro-${kind}-${key}`} label={text}>
                <input id={`ro-${kind}-${key}`} inputMode="decimal" value={f.thresholds[`${kind}.${key}`] ?? ""}
                  onChange={(e) => set("thresholds")({ ...f.thresholds, [`${kind}.${key}`]: e.target.value })} />
              </Field>
            ))}
            {f.gates[kind] && kind === "cloudwatch_alarm" && (
              <Field id="ro-alarms" label="Alarm names">
                <input id="ro-alarms" value={f.alarms} onChange={(e) => set("alarms")(e.target.value)} />
              </Field>
            )}
          </div>
        ))}
      </fieldset>
      <div className="form-actions">
        <SubmitButton op={OP} role={workspace.role} busy={action.busy}>Start rollout</SubmitButton>
      </div>
      {action.error !== null && <ErrorBox error={action.error} />}
    </form>
  );
}

function Strategy({ f, set }: { f: Fields; set: <K extends keyof Fields>(key: K) => (value: Fields[K]) => void }) {
  const text = (key: "steps" | "canaries" | "stepPercent" | "initialPercent" | "growthFactor" | "maxConcurrency" |
    "bakeS" | "failedPercent" | "minDone" | "approvals", id: string, label: string, hint?: string) => (
    <Field id={id} label={label} hint={hint}>
      <input id={id} value={f[key]} onChange={(e) => set(key)(e.target.value)} aria-describedby={hint ? `${id}-hint` : undefined} />
    </Field>
  );
  return (
    <fieldset>
      <legend>Strategy (empty fields take the API's defaults)</legend>
      <Field id="ro-strategy" label="Waves">
        <select id="ro-strategy" value={f.strategy} onChange={(e) => set("strategy")(e.target.value)}>
          <option value="ALL">ALL: one wave</option><option value="PERCENTAGE">PERCENTAGE: cumulative steps</option>
          <option value="CANARY">CANARY: canaries first</option><option value="LINEAR">LINEAR: equal steps</option>
          <option value="EXPONENTIAL">EXPONENTIAL: growing steps</option>
        </select>
      </Field>
      {(f.strategy === "PERCENTAGE" || f.strategy === "CANARY") && text("steps", "ro-steps", "Steps (%)", "cumulative, e.g. 10, 50, 100")}
      {f.strategy === "CANARY" && text("canaries", "ro-canaries", "Canary bot ids")}
      {f.strategy === "LINEAR" && text("stepPercent", "ro-step-percent", "Each wave adds (%)")}
      {f.strategy === "EXPONENTIAL" && text("initialPercent", "ro-initial-percent", "First wave (%)")}
      {f.strategy === "EXPONENTIAL" && text("growthFactor", "ro-growth", "Growth factor")}
      {text("maxConcurrency", "ro-concurrency", "Bots at once in a wave")}
      {text("bakeS", "ro-bake", "Bake (seconds)")}
      {text("approvals", "ro-approvals", "Approval before waves", "wave numbers from 1, e.g. 1, 3")}
      {text("failedPercent", "ro-failed-percent", "Roll back above this share failed (%)")}
      {text("minDone", "ro-min-done", "…once this many bots are done")}
    </fieldset>
  );
}

function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <span id={`${id}-hint`} className="hint">{hint}</span>}
    </div>
  );
}
