// A rollout's spec (the create's body as the API stored it, RolloutCreate) in words, for its page and the list.
type Spec = Record<string, unknown>;
type Gate = string | ({ gate: string } & Record<string, unknown>);

const obj = (value: unknown): Record<string, unknown> => (value && typeof value === "object" ? value as Record<string, unknown> : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export function changeSummary(spec: Spec): string {
  const change = obj(spec.change);
  switch (change.kind) {
    case "config_patch": return `config patch ${JSON.stringify(change.patch)}`;
    case "refresh": return "refresh from the config layers";
    case "version": return `OpenClaw version ${String(change.openclaw_version)}`;
    case "promote_fleet": return `promote fleet ${String(change.source_fleet_id)}'s config`;
    default: return String(change.kind ?? "—");
  }
}

export function targetSummary(spec: Spec): string {
  const targets = obj(spec.targets);
  const bots = list(targets.bot_ids);
  if (bots.length) return `bots ${bots.join(", ")}`;
  const parts = [
    list(targets.fleet_ids).length ? `fleet ${list(targets.fleet_ids).join(", ")}` : "",
    list(targets.environments).length ? `environment ${list(targets.environments).join(", ")}` : "",
    Object.keys(obj(targets.tags)).length
      ? `tags ${Object.entries(obj(targets.tags)).map(([k, v]) => `${k}=${String(v)}`).join(", ")}` : "",
  ].filter(Boolean);
  return parts.join("; ") || "—";
}

export function strategySummary(spec: Spec): string {
  const strategy = obj(spec.strategy);
  const kind = String(strategy.kind ?? "ALL");
  const detail = {
    PERCENTAGE: `steps ${list(strategy.steps).join(", ")} %`,
    CANARY: `canaries ${list(strategy.canary_bot_ids).join(", ")}` +
      (list(strategy.steps).length ? `, then steps ${list(strategy.steps).join(", ")} %` : ""),
    LINEAR: `${String(strategy.step_percent)} % a wave`,
    EXPONENTIAL: `from ${String(strategy.initial_percent)} %, x${String(strategy.growth_factor)} a wave`,
  }[kind];
  const abort = obj(spec.abort);
  const approvals = list(spec.approval_before_waves);
  return [
    detail ? `${kind} (${detail})` : kind,
    `at most ${String(spec.max_concurrency ?? 10)} bots at once`,
    `bake ${String(spec.bake_s ?? 0)} s`,
    `roll back above ${String(abort.failed_percent ?? 0)} % failed once ${String(abort.min_done ?? 1)} done`,
    approvals.length ? `approval before wave ${approvals.join(", ")}` : "",
  ].filter(Boolean).join("; ");
}

export function gateSummary(spec: Spec): string {
  const gates = list(spec.gates) as Gate[];
  if (!gates.length) return "gateway_health (the default)";
  return gates.map((gate) => {
    if (typeof gate === "string") return gate;
    const { gate: kind, ...thresholds } = gate;
    const shown = Object.entries(thresholds).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(", ") : String(v)}`);
    return shown.length ? `${kind} (${shown.join(", ")})` : kind;
  }).join(", ");
}
