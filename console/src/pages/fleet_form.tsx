// The fields a fleet is created with and whose settings its page changes (fleets.tsx, fleet.tsx): its name, its
// environment and the target its bots run on, from GET /targets.
import { api, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../lib/ui";

type Environment = Schemas["FleetOut"]["environment"];
const ENVIRONMENTS: Environment[] = ["dev", "staging", "prod"];

/** The fields as typed: `target` "" is none (or, on an existing fleet's settings, no change). */
export interface FleetDraft { name: string; environment: Environment; target: string }

// The targets a fleet may name, checked against the API's own type both ways: a target added to or removed from
// FleetCreate fails the build until this list follows (GET /targets may list others, e.g. a test-only one).
const FLEET_TARGETS = { local: true, ecs: true, cloudrun: true, aci: true } satisfies
  Record<NonNullable<Schemas["FleetCreate"]["target"]>, true>;

export function useTargets() {
  return useLoad(async () => unwrap(await api().GET("/targets")).items, []);
}

/** The name, environment and target fields, each a label and its control (the form lays them out); their ids
 *  start with `idPrefix`. The targets this deployment does not serve are shown disabled, with the reason. */
export function FleetFields({ idPrefix, draft, onChange, targets, noTarget }: {
  idPrefix: string; draft: FleetDraft; onChange: (draft: FleetDraft) => void;
  targets: Schemas["TargetOut"][] | undefined; noTarget: string;
}) {
  const set = (change: Partial<FleetDraft>) => onChange({ ...draft, ...change });
  return (
    <>
      <label htmlFor={`${idPrefix}-name`}>Name</label>
      <input id={`${idPrefix}-name`} value={draft.name} onChange={(e) => set({ name: e.target.value })} required
        maxLength={100} />
      <label htmlFor={`${idPrefix}-environment`}>Environment</label>
      <select id={`${idPrefix}-environment`} value={draft.environment}
        onChange={(e) => set({ environment: e.target.value as Environment })}>
        {ENVIRONMENTS.map((environment) => <option key={environment} value={environment}>{environment}</option>)}
      </select>
      <label htmlFor={`${idPrefix}-target`}>Target</label>
      <select id={`${idPrefix}-target`} value={draft.target} onChange={(e) => set({ target: e.target.value })}>
        <option value="">{noTarget}</option>
        {(targets ?? []).filter((t) => t.name in FLEET_TARGETS).map((t) => (
          <option key={t.name} value={t.name} disabled={!t.available}>
            {t.name}{t.available ? "" : ` (unavailable: ${t.unavailable_reason ?? "not served here"})`}
          </option>
        ))}
      </select>
    </>
  );
}
