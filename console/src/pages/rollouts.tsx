// A workspace's rollouts, newest first, a page at a time (the page in the URL, pager.tsx), kept current from the
// workspace's stream (a rollout's status message reads the page again); and starting a new one (rollout_form.tsx).
import { useRef } from "react";
import { api, unwrap } from "../api/client";
import { emptyText, Pager, usePager } from "../lib/pager";
import { Link } from "../lib/router";
import { useTopic } from "../lib/stream";
import { Page, Show, StatusBadge, Time, useLoad, useWorkspace } from "../lib/ui";
import { NewRollout } from "./rollout_form";
import { changeSummary } from "./rollout_spec";

const PAGE_SIZE = 20;
const REREAD_MS = 300;

export function RolloutsPage() {
  const workspace = useWorkspace();
  const pager = usePager("rollouts");
  const { cursor } = pager;
  const rollouts = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/rollouts",
    { params: { path: { workspace_id: workspace.id }, query: { limit: PAGE_SIZE, cursor } } })), [workspace.id, cursor]);
  const timer = useRef<number | undefined>(undefined);
  useTopic(`workspaces/${workspace.id}`, (message) => {
    if (message.type === "subscribed") return rollouts.reload(); // what changed before the subscription held
    if (message.type !== "rollout.status") return;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(rollouts.reload, REREAD_MS);
  }, rollouts.reload);
  const base = `/w/${encodeURIComponent(workspace.id)}/rollouts`;
  return (
    <Page title={`Rollouts · ${workspace.name}`}>
      <Show loaded={rollouts} what="rollouts" isEmpty={(d) => d.items.length === 0}
        empty={emptyText(pager, "No rollouts yet: start one below.")}>
        {(data) => (
          <table>
            <caption className="sr-only">Rollouts, newest first</caption>
            <thead><tr><th scope="col">Rollout</th><th scope="col">Status</th><th scope="col">Progress</th>
              <th scope="col">Change</th><th scope="col">Created by</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {data.items.map((r) => (
                <tr key={r.id} data-rollout={r.id}>
                  <th scope="row"><Link to={`${base}/${encodeURIComponent(r.id)}`}>{r.id}</Link></th>
                  <td><StatusBadge status={r.status} /></td>
                  <td>wave {r.current_wave} of {r.wave_count}, {r.bot_count} bots</td>
                  <td>{changeSummary(r.spec)}</td>
                  <td>{r.created_by}</td>
                  <td><Time at={r.created_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <Pager pager={pager} page={rollouts} />
      <NewRollout />
    </Page>
  );
}
