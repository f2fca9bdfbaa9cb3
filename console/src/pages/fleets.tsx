// A workspace's fleets with their bots counted by health and status (the API's bot_summary), live: a bot's status
// message on the workspace's stream reloads the counts. Creating a fleet (fleet_form.tsx).
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, idempotencyKey, unwrap, type Schemas } from "../api/client";
import { pageSize } from "../lib/controls";
import { SubmitButton } from "../lib/forms";
import { emptyText, Pager, usePager } from "../lib/pager";
import { Link, useLocation } from "../lib/router";
import { useTopic } from "../lib/stream";
import { useTargets } from "../lib/targets";
import { ErrorBox, Page, Show, useAction, useLoad, useWorkspace } from "../lib/ui";
import { FleetFields, type FleetDraft } from "./fleet_form";

type Summary = Schemas["FleetBotSummary"];
const HEALTH: [keyof Summary["by_health"], string][] = [
  ["healthy", "Healthy"], ["unhealthy", "Unhealthy"], ["in_progress", "In progress"], ["inactive", "Inactive"]];

export function FleetsPage() {
  const workspace = useWorkspace();
  const { query } = useLocation();
  const limit = pageSize(query, 50);
  const pager = usePager("fleets");
  const { cursor } = pager;
  const fleets = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/fleets",
    { params: { path: { workspace_id: workspace.id }, query: { limit, cursor } } })), [workspace.id, limit, cursor]);
  useLiveReload(`workspaces/${workspace.id}`, fleets.reload);
  return (
    <Page title={`Fleets · ${workspace.name}`}>
      <Show loaded={fleets} what="fleets" isEmpty={(d) => d.items.length === 0}
        empty={emptyText(pager, "No fleets yet. A fleet groups bots of one environment: create one below.")}>
        {(data) => (
          <table>
            <caption className="sr-only">Fleets, with their bots counted by health and by status</caption>
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Environment</th><th scope="col">Target</th>
                <th scope="col">Bots</th>
                {HEALTH.map(([key, label]) => <th scope="col" key={key}>{label}</th>)}
                <th scope="col">By status</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((f) => (
                <tr key={f.id}>
                  <th scope="row"><Link to={`/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(f.id)}`}>{f.name}</Link></th>
                  <td>{f.environment}</td>
                  <td>{f.target ?? "—"}</td>
                  <td>{f.bot_summary.total}</td>
                  {HEALTH.map(([key]) => (
                    <td key={key} className={f.bot_summary.by_health[key] ? `health-${key}` : undefined}>{f.bot_summary.by_health[key]}</td>
                  ))}
                  <td><StatusCounts summary={f.bot_summary} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <Pager pager={pager} page={fleets} />
      <CreateFleet onCreated={fleets.reload} />
    </Page>
  );
}

/** The statuses a fleet's bots are in, those with any ("RUNNING 2, ERROR 1"). */
export function StatusCounts({ summary }: { summary: Summary }) {
  const present = Object.entries(summary.by_status).filter(([, n]) => n > 0);
  if (!present.length) return <span>none</span>;
  return (
    <ul className="status-counts">
      {present.map(([status, n]) => <li key={status}><span className={`badge status-${status.toLowerCase()}`}>{status}</span> {n}</li>)}
    </ul>
  );
}

/** Reload when a bot's status changes on `topic`, at most once a second; and once the subscription is confirmed
 *  (after the first connection and after each reconnect): a change made between the page's first load and then
 *  was published to nobody, but the API holds it. */
export function useLiveReload(topic: string, reload: () => void): void {
  const timer = useRef<number | null>(null);
  useEffect(() => () => { if (timer.current !== null) window.clearTimeout(timer.current); }, []);
  const soon = () => {
    if (timer.current === null) timer.current = window.setTimeout(() => { timer.current = null; reload(); }, 1000);
  };
  useTopic(topic, (message) => {
    if (message.type === "subscribed") reload();
    else if (message.type === "bot.status" || message.type === "bot.deleted") soon();
  });
}

function CreateFleet({ onCreated }: { onCreated: () => void }) {
  const workspace = useWorkspace();
  const targets = useTargets();
  const [draft, setDraft] = useState<FleetDraft>({ name: "", environment: "dev", target: "" });
  const action = useAction();
  const create = async (event: FormEvent) => {
    event.preventDefault();
    const { name, environment, target } = draft;
    const ok = await action.run(async () => unwrap(await api().POST("/workspaces/{workspace_id}/fleets", {
      params: { path: { workspace_id: workspace.id }, header: { "idempotency-key": idempotencyKey() } },
      body: { name, environment, ...(target ? { target: target as Schemas["Target"] } : {}) },
    })));
    if (ok) {
      setDraft((current) => ({ ...current, name: "" }));
      onCreated();
    }
  };
  return (
    <form className="inline-form" onSubmit={create} aria-labelledby="create-fleet" id="create-fleet-form">
      <h2 id="create-fleet">New fleet</h2>
      <FleetFields idPrefix="fleet" draft={draft} onChange={setDraft} targets={targets.data} noTarget="none (bots choose)" />
      <SubmitButton op="POST /workspaces/{workspace_id}/fleets" role={workspace.role} busy={action.busy}>Create fleet</SubmitButton>
      {targets.state === "error" && <ErrorBox error={targets.error} retry={targets.reload} />}
      {action.error !== null && <ErrorBox error={action.error} />}
    </form>
  );
}
