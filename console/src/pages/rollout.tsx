// One rollout as it runs: its status and controls, what it changes and how, then each wave with its gates'
// results and its bots' states, all kept current from the workspace's stream (rollout_live.ts).
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { Link } from "../lib/router";
import { ActionButton, ErrorBox, Loading, Page, StatusBadge, Time, useAction, useWorkspace } from "../lib/ui";
import { useLiveRollout, type Rollout } from "./rollout_live";
import { changeSummary, gateSummary, strategySummary, targetSummary } from "./rollout_spec";

type Control = Rollout["allowed_actions"][number];
const CONTROL_OP = "POST /workspaces/{workspace_id}/rollouts/{rollout_id}/{action}" as const;
// The controls in the order a person reads them; abort asks again before it goes.
const CONTROLS: [Control, string][] = [["pause", "Pause"], ["resume", "Resume"], ["approve", "Approve"],
  ["promote", "End bake now"], ["abort", "Abort"]];

export function RolloutPage({ params }: { params: Record<string, string> }) {
  const workspace = useWorkspace();
  const live = useLiveRollout(workspace.id, params.id);
  const { rollout } = live;
  return (
    <Page title={`Rollout ${params.id}`}>
      <p><Link to={`/w/${encodeURIComponent(workspace.id)}/rollouts`}>All rollouts</Link></p>
      {live.error !== null && <ErrorBox error={live.error} retry={live.reload} />}
      {rollout ? <RolloutView rollout={rollout} onChanged={live.reload} />
        : live.error === null && <Loading what="the rollout" />}
    </Page>
  );
}

function RolloutView({ rollout, onChanged }: { rollout: Rollout; onChanged: () => void }) {
  const ws = useWorkspace();
  return (
    <>
      <dl className="facts" aria-label="Rollout">
        <dt>Status</dt>
        <dd><span role="status" aria-live="polite" data-testid="rollout-status"><StatusBadge status={rollout.status} /></span>
          {rollout.status_reason && <span className="status-reason"> {rollout.status_reason}</span>}</dd>
        <dt>Progress</dt><dd>wave {rollout.current_wave} of {rollout.wave_count}, {rollout.bot_count} bots</dd>
        <dt>Targets</dt><dd>{targetSummary(rollout.spec)}</dd>
        <dt>Change</dt><dd>{changeSummary(rollout.spec)}</dd>
        <dt>Strategy</dt><dd>{strategySummary(rollout.spec)}</dd>
        <dt>Gates</dt><dd>{gateSummary(rollout.spec)}</dd>
        <dt>Created</dt><dd><Time at={rollout.created_at} /> by {rollout.created_by}</dd>
        {rollout.ended_at && <><dt>Ended</dt><dd><Time at={rollout.ended_at} /></dd></>}
      </dl>
      <Controls rollout={rollout} onChanged={onChanged} />
      {rollout.waves.map((wave) => <WaveSection key={wave.number} wave={wave} workspaceId={ws.id} />)}
    </>
  );
}

function Controls({ rollout, onChanged }: { rollout: Rollout; onChanged: () => void }) {
  const workspace = useWorkspace();
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [pending, setPending] = useState<Control | null>(null);
  const send = async (control: Control) => {
    setConfirming(false);
    setPending(control);
    const ok = await action.run(async () => unwrap(await api().POST("/workspaces/{workspace_id}/rollouts/{rollout_id}/{action}", {
      params: { path: { workspace_id: workspace.id, rollout_id: rollout.id, action: control } },
    })));
    if (ok) onChanged();
  };
  const refusedBy = (control: Control) =>
    rollout.allowed_actions.includes(control) ? null : `Not while the rollout is ${rollout.status}`;
  return (
    <section aria-labelledby="controls-title" className="controls">
      <h2 id="controls-title">Controls</h2>
      <div className="control-row">
        {CONTROLS.map(([control, label]) => (
          <ActionButton key={control} op={CONTROL_OP} role={workspace.role} busy={action.busy && pending === control}
            className={control === "abort" ? "danger" : undefined} disabledReason={refusedBy(control)}
            onClick={() => (control === "abort" ? setConfirming(true) : void send(control))}>{label}</ActionButton>
        ))}
      </div>
      {confirming && (
        <div className="confirm" role="group" aria-labelledby="abort-question">
          <p id="abort-question">Abort this rollout? Every bot it changed is rolled back to its previous revision.</p>
          <button type="button" className="danger" data-mutating="true" onClick={() => void send("abort")}
            disabled={!!refusedBy("abort")}>Abort the rollout</button>
          <button type="button" onClick={() => setConfirming(false)}>Keep it running</button>
        </div>
      )}
      {action.error !== null && <ErrorBox error={action.error} />}
    </section>
  );
}

function WaveSection({ wave, workspaceId }: { wave: Rollout["waves"][number]; workspaceId: string }) {
  const titleId = `wave-${wave.number}`;
  const readings = Object.entries(wave.readings ?? {});
  return (
    <section aria-labelledby={titleId} className="wave" data-testid={titleId}>
      <h2 id={titleId}>Wave {wave.number} <StatusBadge status={wave.status} /></h2>
      {wave.verdict && <p>Verdict: <StatusBadge status={wave.verdict} /> {wave.reason}</p>}
      {readings.length > 0 ? (
        <table>
          <caption>Gates of wave {wave.number}</caption>
          <thead><tr><th scope="col">Gate</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
          <tbody>
            {readings.map(([gate, reading]) => (
              <tr key={gate}><th scope="row">{gate}</th><td><StatusBadge status={reading} /></td>
                <td>{wave.gate_details?.[gate] ?? "—"}</td></tr>
            ))}
          </tbody>
        </table>
      ) : <p className="empty">Gates not read yet.</p>}
      <table>
        <caption>Bots of wave {wave.number}</caption>
        <thead><tr><th scope="col">Bot</th><th scope="col">State</th><th scope="col">Health</th>
          <th scope="col">Revision before</th><th scope="col">Revision after</th><th scope="col">Detail</th></tr></thead>
        <tbody>
          {wave.bots.map((bot) => (
            <tr key={bot.bot_id} data-bot={bot.bot_id}>
              <th scope="row"><Link to={`/w/${encodeURIComponent(workspaceId)}/bots/${encodeURIComponent(bot.bot_id)}`}>{bot.bot_id}</Link></th>
              <td><StatusBadge status={bot.state} /></td>
              <td>{bot.health ?? "—"}</td>
              <td>{bot.previous_revision_id ?? "—"}</td>
              <td>{bot.new_revision_id ?? "—"}</td>
              <td>{bot.detail ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
