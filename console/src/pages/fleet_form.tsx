// The fields a fleet is created with and whose settings its page changes (fleets.tsx, fleet.tsx): its name, its
// environment and the target its bots run on (lib/targets.ts).
import type { Schemas } from "../api/client";

type Environment = Schemas["FleetOut"]["environment"];
const ENVIRONMENTS: Environment[] = ["dev", "staging", "prod"];

/** The fields as typed: `target` "" is none (or, on an existing fleet's settings, no change). */
export interface FleetDraft { name: string; environment: Environment; target: string }

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
        {(targets ?? []).map((t) => (
          <option key={t.name} value={t.name} disabled={!t.available}>
            {t.name}{t.available ? "" : ` (unavailable: ${t.unavailable_reason ?? "not served here"})`}
          </option>
        ))}
      </select>
    </>
  );
}
