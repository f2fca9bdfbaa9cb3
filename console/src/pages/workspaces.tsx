// The first page: the workspaces the caller belongs to, with their role, a page at a time, and creating one.
import { useState, type FormEvent } from "react";
import { api, idempotencyKey, unwrap } from "../api/client";
import { SubmitButton } from "../lib/forms";
import { emptyText, Pager, usePager } from "../lib/pager";
import { Link } from "../lib/router";
import { ErrorBox, Page, Show, Time, useAction, useLoad } from "../lib/ui";

export function WorkspacesPage() {
  const pager = usePager("workspaces");
  const workspaces = useLoad(async () => unwrap(await api().GET("/workspaces",
    { params: { query: { limit: 100, cursor: pager.cursor } } })), [pager.cursor]);
  useReadyMark(workspaces.state === "ok");
  return (
    <Page title="Workspaces">
      <Show loaded={workspaces} what="workspaces" isEmpty={(d) => d.items.length === 0}
        empty={emptyText(pager, "You belong to no workspace yet: create one below, or ask a workspace's admin to add you.")}>
        {(data) => (
          <table>
            <caption className="sr-only">Your workspaces</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Your role</th><th scope="col">Fleets</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {data.items.map((w) => (
                <tr key={w.id}>
                  <td><Link to={`/w/${encodeURIComponent(w.id)}`}>{w.name}</Link></td>
                  <td>{w.role}</td>
                  <td>{w.fleet_count}</td>
                  <td><Time at={w.created_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <Pager pager={pager} page={workspaces} />
      <CreateWorkspace onCreated={workspaces.reload} />
    </Page>
  );
}

function CreateWorkspace({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await action.run(async () => unwrap(await api().POST("/workspaces", {
      body: { name }, params: { header: { "idempotency-key": idempotencyKey() } },
    })));
    if (ok) {
      setName("");
      onCreated();
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="create-workspace">
      <h2 id="create-workspace">New workspace</h2>
      <label htmlFor="workspace-name">Name</label>
      <input id="workspace-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
      {/* any signed-in user may: no role needed */}
      <SubmitButton op="POST /workspaces" role={null} busy={action.busy}>Create workspace</SubmitButton>
      {action.error !== null && <ErrorBox error={action.error} />}
    </form>
  );
}

/** Marks the first page interactive (its data shown, its controls live) for the speed bench. */
function useReadyMark(ready: boolean): void {
  if (ready && !performance.getEntriesByName("clawster:interactive").length) {
    queueMicrotask(() => performance.mark("clawster:interactive"));
  }
}
