// One fleet: its facts and bot counts, its bots filtered by status and tag (the filters, page size and page live in
// the URL), each linking to the bot's page; a new bot; the fleet's settings and its deletion (ADMIN).
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { Confirm, PAGE_SIZES, pageSize, withQuery } from "../lib/controls";
import { SubmitButton } from "../lib/forms";
import { emptyText, FIRST_PAGE, Pager, usePager } from "../lib/pager";
import { Link, navigate, useLocation } from "../lib/router";
import { useTargets } from "../lib/targets";
import { ActionButton, ErrorBox, Page, Show, StatusBadge, Time, useAction, useLoad, useWorkspace } from "../lib/ui";
import { FleetFields, type FleetDraft } from "./fleet_form";
import { StatusCounts, useLiveReload } from "./fleets";

type Fleet = Schemas["FleetOut"];
const STATUSES: Schemas["BotStatus"][] = ["PENDING", "CREATING", "RECONCILING", "RUNNING", "DEGRADED", "PAUSED",
  "STOPPED", "ERROR", "DELETING"];

export function FleetPage({ params }: { params: Record<string, string> }) {
  const workspace = useWorkspace();
  const fleetId = params.fleet;
  const fleet = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/fleets/{fleet_id}",
    { params: { path: { workspace_id: workspace.id, fleet_id: fleetId } } })), [workspace.id, fleetId]);
  const base = `/w/${encodeURIComponent(workspace.id)}`;
  const newBot = (
    <ActionButton op="POST /workspaces/{workspace_id}/fleets/{fleet_id}/bots" role={workspace.role} className="primary"
      onClick={() => navigate(`${base}/fleets/${encodeURIComponent(fleetId)}/new`)}>New bot</ActionButton>
  );
  return (
    <Page title={fleet.data ? `Fleet ${fleet.data.name}` : "Fleet"} actions={newBot}>
      <p><Link to={base}>All fleets</Link></p>
      <Show loaded={fleet} what="the fleet">
        {(data) => (
          <>
            <FleetFacts fleet={data} />
            <FleetBots fleet={data} onChange={fleet.reload} />
            {/* started again from each version read (an edit here or elsewhere): the form never sends back the
                values an edit made meanwhile replaced */}
            <FleetSettings key={data.version} fleet={data} onSaved={fleet.reload} />
          </>
        )}
      </Show>
    </Page>
  );
}

function FleetFacts({ fleet }: { fleet: Fleet }) {
  const health = fleet.bot_summary.by_health;
  return (
    <dl className="facts">
      <dt>Environment</dt><dd>{fleet.environment}</dd>
      <dt>Target</dt><dd>{fleet.target ?? "none (each bot names its own)"}</dd>
      {fleet.description && <><dt>Description</dt><dd>{fleet.description}</dd></>}
      <dt>Tags</dt><dd><Tags tags={fleet.tags} /></dd>
      <dt>Bots</dt>
      <dd>{fleet.bot_summary.total}: {health.healthy} healthy, {health.unhealthy} unhealthy, {health.in_progress} in
        progress, {health.inactive} inactive</dd>
      <dt>By status</dt><dd><StatusCounts summary={fleet.bot_summary} /></dd>
      <dt>Updated</dt><dd><Time at={fleet.updated_at} /></dd>
    </dl>
  );
}

function Tags({ tags }: { tags: Record<string, string> }) {
  const entries = Object.entries(tags);
  if (!entries.length) return <span>none</span>;
  return <ul className="tags">{entries.map(([k, v]) => <li key={k}><code>{v ? `${k}=${v}` : k}</code></li>)}</ul>;
}

function FleetBots({ fleet, onChange }: { fleet: Fleet; onChange: () => void }) {
  const workspace = useWorkspace();
  const { path, query } = useLocation();
  const status = query.get("status") || null;
  const tags = query.getAll("tag");
  const limit = pageSize(query, 25);
  const pager = usePager("bots");
  const { cursor } = pager;
  const bots = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/fleets/{fleet_id}/bots", {
    params: {
      path: { workspace_id: workspace.id, fleet_id: fleet.id },
      query: { status: status as Schemas["BotStatus"] | null, tag: tags.length ? tags : null, limit, cursor },
    },
  })), [workspace.id, fleet.id, status, tags.join("\n"), limit, cursor], JSON.stringify([status, tags, limit]));
  useLiveReload(`workspaces/${workspace.id}/fleets/${fleet.id}`, () => { bots.reload(); onChange(); });
  const filtered = Boolean(status || tags.length);
  return (
    <section aria-labelledby="bots-heading" aria-busy={bots.state === "loading"}>
      <h2 id="bots-heading">Bots</h2>
      <BotFilters key={query.toString()} path={path} query={query} />
      <Show loaded={bots} what="bots" isEmpty={(d) => d.items.length === 0}
        empty={emptyText(pager, filtered ? "No bots match these filters." : "No bots in this fleet yet.")}>
        {(data) => (
          <table>
            <caption className="sr-only">Bots of the fleet{filtered ? " matching the filters" : ""}</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Tags</th><th scope="col">Target</th>
                <th scope="col">OpenClaw</th><th scope="col">Updated</th></tr>
            </thead>
            <tbody>
              {data.items.map((bot) => (
                <tr key={bot.id}>
                  <th scope="row"><Link to={`/w/${encodeURIComponent(workspace.id)}/bots/${encodeURIComponent(bot.id)}`}>{bot.name}</Link></th>
                  <td><StatusBadge status={bot.status} /></td>
                  <td><Tags tags={bot.tags} /></td>
                  <td>{bot.target ?? "—"}</td>
                  <td>{bot.openclaw_version ?? "—"}</td>
                  <td><Time at={bot.updated_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <Pager pager={pager} page={bots} />
    </section>
  );
}

/** Status, tag and page size; applying them starts again from the first page. */
function BotFilters({ path, query }: { path: string; query: URLSearchParams }) {
  const [status, setStatus] = useState(query.get("status") ?? "");
  const [tag, setTag] = useState(query.getAll("tag")[0] ?? "");
  const [limit, setLimit] = useState(String(pageSize(query, 25)));
  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigate(withQuery(path, query, { status, tag: tag.trim() || null, limit, ...FIRST_PAGE }));
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter bots">
      <div>
        <label htmlFor="filter-status">Status</label>
        <select id="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      <div>
        <label htmlFor="filter-tag">Tag <span className="reason">(key or key=value)</span></label>
        <input id="filter-tag" value={tag} onChange={(e) => setTag(e.target.value)} maxLength={321} />
      </div>
      <div>
        <label htmlFor="filter-limit">Per page</label>
        <select id="filter-limit" value={limit} onChange={(e) => setLimit(e.target.value)}>
          {[...new Set([...PAGE_SIZES, Number(limit)])].sort((a, b) => a - b).map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </div>
      <div className="filter-buttons">
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => navigate(withQuery(path, query, { status: null, tag: null, ...FIRST_PAGE }))}>
          Clear
        </button>
      </div>
    </form>
  );
}

function FleetSettings({ fleet, onSaved }: { fleet: Fleet; onSaved: () => void }) {
  const workspace = useWorkspace();
  const targets = useTargets();
  const [draft, setDraft] = useState<FleetDraft>({ name: fleet.name, environment: fleet.environment, target: fleet.target ?? "" });
  const [description, setDescription] = useState(fleet.description);
  const [confirming, setConfirming] = useState(false);
  const save = useAction();
  const remove = useAction();
  const where = { workspace_id: workspace.id, fleet_id: fleet.id };
  const ifMatch = { "if-match": `"${fleet.version}"` };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { name, environment, target } = draft;
    const changes: Schemas["FleetUpdate"] = {};
    if (name !== fleet.name) changes.name = name;
    if (description !== fleet.description) changes.description = description;
    if (environment !== fleet.environment) changes.environment = environment;
    if (target && target !== fleet.target) changes.target = target as Schemas["Target"];
    if (!Object.keys(changes).length) return;
    if (await save.run(async () => unwrap(await api().PATCH("/workspaces/{workspace_id}/fleets/{fleet_id}",
      { params: { path: where, header: ifMatch }, body: changes })))) onSaved();
  };
  const deleteFleet = async () => {
    if (await remove.run(async () => unwrap(await api().DELETE("/workspaces/{workspace_id}/fleets/{fleet_id}",
      { params: { path: where, header: ifMatch } })))) navigate(`/w/${encodeURIComponent(workspace.id)}`);
  };
  return (
    <section aria-labelledby="fleet-settings">
      <h2 id="fleet-settings">Fleet settings</h2>
      <form className="settings" onSubmit={submit} aria-labelledby="fleet-settings">
        <FleetFields idPrefix="fleet-edit" draft={draft} onChange={setDraft} targets={targets.data}
          noTarget={fleet.target ? "(keep)" : "none (bots choose)"} />
        <label htmlFor="fleet-edit-description">Description</label>
        <input id="fleet-edit-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} />
        <div>
          <SubmitButton op="PATCH /workspaces/{workspace_id}/fleets/{fleet_id}" role={workspace.role} busy={save.busy}>
            Save fleet
          </SubmitButton>
        </div>
      </form>
      {targets.state === "error" && <ErrorBox error={targets.error} retry={targets.reload} />}
      {save.error !== null && <ErrorBox error={save.error} />}
      <h3>Delete this fleet</h3>
      <p>Only a fleet with no bots can be deleted.</p>
      {confirming ? (
        <Confirm question={<>Delete fleet <strong>{fleet.name}</strong>? This cannot be undone.</>}
          onCancel={() => setConfirming(false)}
          confirm={<ActionButton op="DELETE /workspaces/{workspace_id}/fleets/{fleet_id}" role={workspace.role}
            className="danger" busy={remove.busy} onClick={() => void deleteFleet()}>Yes, delete the fleet</ActionButton>} />
      ) : (
        <ActionButton op="DELETE /workspaces/{workspace_id}/fleets/{fleet_id}" role={workspace.role} className="danger"
          onClick={() => setConfirming(true)}>Delete fleet</ActionButton>
      )}
      {remove.error !== null && <ErrorBox error={remove.error} />}
    </section>
  );
}
