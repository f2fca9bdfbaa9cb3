// A workspace's fleets, with their bots' counts, and creating a fleet.
import { useState, type FormEvent } from "react";
import { api, idempotencyKey, unwrap } from "../api/client";
import { Link } from "../lib/router";
import { ActionButton, ErrorBox, Page, Show, useAction, useLoad, useWorkspace } from "../lib/ui";

export function FleetsPage() {
  const workspace = useWorkspace();
  const path = { workspace_id: workspace.id };
  const fleets = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/fleets",
    { params: { path, query: { limit: 100 } } })), [workspace.id]);
  return (
    <Page title={`Fleets · ${workspace.name}`}>
      <Show loaded={fleets} what="fleets" isEmpty={(d) => d.items.length === 0} empty="No fleets yet.">
        {(data) => (
          <table>
            <caption className="sr-only">Fleets</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Environment</th><th scope="col">Target</th><th scope="col">Bots</th></tr></thead>
            <tbody>
              {data.items.map((f) => (
                <tr key={f.id}>
                  <td><Link to={`/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(f.id)}`}>{f.name}</Link></td>
                  <td>{f.environment}</td>
                  <td>{f.target ?? "local"}</td>
                  <td>{f.bot_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <CreateFleet onCreated={fleets.reload} />
    </Page>
  );
}

function CreateFleet({ onCreated }: { onCreated: () => void }) {
  const workspace = useWorkspace();
  const [name, setName] = useState("");
  const action = useAction();
  const create = async (event?: FormEvent) => {
    event?.preventDefault();
    const ok = await action.run(async () => unwrap(await api().POST("/workspaces/{workspace_id}/fleets", {
      params: { path: { workspace_id: workspace.id }, header: { "idempotency-key": idempotencyKey() } },
      body: { name },
    })));
    if (ok) {
      setName("");
      onCreated();
    }
  };
  return (
    <form className="inline-form" onSubmit={create} aria-labelledby="create-fleet">
      <h2 id="create-fleet">New fleet</h2>
      <label htmlFor="fleet-name">Name</label>
      <input id="fleet-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
      <ActionButton op="POST /workspaces/{workspace_id}/fleets" role={workspace.role} busy={action.busy}
        onClick={() => void create()}>Create fleet</ActionButton>
      {action.error !== null && <ErrorBox error={action.error} />}
    </form>
  );
}
