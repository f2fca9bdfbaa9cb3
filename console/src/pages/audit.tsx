// The workspace's audit trail, newest first, with the API's filters (actor, target, action, since, until) and its
// page kept in the URL's query, so a filtered view can be shared and the browser's back button returns to the last
// one. Reading the trail needs ADMIN: a lower role gets the API's 403, shown as "Not allowed".
import { useEffect, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { emptyText, Pager, usePager } from "../lib/pager";
import { Link, navigate, useLocation } from "../lib/router";
import { Page, Show, Time, useLoad, useWorkspace } from "../lib/ui";

const FILTERS = ["actor", "target", "action", "since", "until"] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Record<Filter, string>;
const PAGE = 50;

export function AuditPage() {
  const workspace = useWorkspace();
  const { query } = useLocation();
  const pager = usePager("audit events");
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ""])) as Filters;
  const key = JSON.stringify(filters);
  const events = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/audit", {
    params: {
      path: { workspace_id: workspace.id },
      query: { ...Object.fromEntries(FILTERS.filter((f) => filters[f]).map((f) => [f, filters[f]])), limit: PAGE,
        cursor: pager.cursor },
    },
  })), [workspace.id, key, pager.cursor], key);

  // new filters start from the first page
  const apply = (next: Filters) => {
    const params = new URLSearchParams();
    FILTERS.forEach((f) => next[f] && params.set(f, next[f]));
    const search = params.toString();
    navigate(`/w/${encodeURIComponent(workspace.id)}/audit${search ? `?${search}` : ""}`);
  };

  return (
    <Page title={`Audit · ${workspace.name}`}>
      <FilterForm filters={filters} onApply={apply} />
      <Show loaded={events} what="audit events" isEmpty={(d) => d.items.length === 0}
        empty={emptyText(pager, Object.values(filters).some(Boolean) ? "No event matches these filters." : "No events yet.")}>
        {(data) => <Events items={data.items} />}
      </Show>
      <Pager pager={pager} page={events} />
    </Page>
  );
}

function FilterForm({ filters, onApply }: { filters: Filters; onApply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState<Filters>(() => toInputs(filters));
  const shown = JSON.stringify(filters);
  useEffect(() => setDraft(toInputs(JSON.parse(shown) as Filters)), [shown]); // the URL changed (back, forward)
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply({ ...draft, since: toIso(draft.since), until: toIso(draft.until) });
  };
  const field = (name: Filter, label: string, hint: string, type = "text") => (
    <div>
      <label htmlFor={`audit-${name}`}>{label}</label>
      <input id={`audit-${name}`} type={type} value={draft[name]} placeholder={hint} aria-describedby="audit-filter-help"
        onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} {...(type === "text" ? { maxLength: 256 } : {})} />
    </div>
  );
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter the audit trail">
      {field("actor", "Actor", "user id")}
      {field("target", "Target", "e.g. bot/<id>")}
      {field("action", "Action", "e.g. bot.restart")}
      {field("since", "Since", "", "datetime-local")}
      {field("until", "Until", "", "datetime-local")}
      <div className="filter-buttons">
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => onApply({ actor: "", target: "", action: "", since: "", until: "" })}>Clear</button>
      </div>
      <p id="audit-filter-help" className="help">Exact values; times are your local time.</p>
    </form>
  );
}

function Events({ items }: { items: Schemas["AuditEventOut"][] }) {
  const workspace = useWorkspace();
  const targetLink = (target: string) => {
    const [kind, id] = target.split("/");
    if (kind === "bot" && id) return <Link to={`/w/${encodeURIComponent(workspace.id)}/bots/${encodeURIComponent(id)}`}>{target}</Link>;
    if (kind === "fleet" && id) return <Link to={`/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(id)}`}>{target}</Link>;
    return target;
  };
  return (
    <table className="audit">
      <caption className="sr-only">Audit events, newest first</caption>
      <thead>
        <tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Outcome</th>
          <th scope="col">Target</th><th scope="col">Details</th></tr>
      </thead>
      <tbody>
        {items.map((e) => (
          <tr key={e.id} data-action={e.action}>
            <td><Time at={e.at} /></td>
            <td>{e.actor}{e.role ? ` (${e.role})` : ""}</td>
            <td><code>{e.action}</code></td>
            <td>{e.outcome === "DENIED" ? <strong className="error-text">DENIED</strong> : "allowed"}</td>
            <td>{targetLink(e.target)}</td>
            <td>
              {e.reason && <p className="reason-text">{e.reason}</p>}
              {e.diff && Object.keys(e.diff).length > 0 && (
                <details>
                  <summary>What changed</summary>
                  <pre tabIndex={0}>{JSON.stringify(e.diff, null, 2)}</pre>
                </details>
              )}
              <span className="muted">request {e.request_id}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** datetime-local (the user's local time) to ISO 8601 UTC, as the API takes it; and back for the inputs. */
function toIso(local: string): string {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

function toInputs(filters: Filters): Filters {
  const local = (iso: string) => {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
    return shifted.toISOString().slice(0, 16);
  };
  return { ...filters, since: local(filters.since), until: local(filters.until) };
}
