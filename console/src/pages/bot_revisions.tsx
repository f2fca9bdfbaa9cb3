// The bot's revisions, newest first, and any one compared with its predecessor: the API's path-by-path changes
// (GET .../diff?against=) and both configs side by side, each removed or added line marked in text as well as
// colour ("-" and "+", and a word for screen readers).
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { configLines, sideBySide, type Cell } from "../lib/linediff";
import { ErrorBox, Loading, Show, Time, useAction, useLoad, useWorkspace, type Loaded } from "../lib/ui";
import type { Bot } from "./bot_live";

type Summary = Schemas["RevisionSummary"];
type Page = Schemas["RevisionPage"];

export function Revisions({ bot, loaded, focus }: { bot: Bot; loaded: Loaded<Page> & { reload: () => void }; focus: string | null }) {
  const workspace = useWorkspace();
  const [older, setOlder] = useState<{ items: Summary[]; next: string | null }>({ items: [], next: null });
  const [selected, setSelected] = useState<string | null>(null);
  const more = useAction(); // one read of older ones at a time (a second would add the same page again)
  useEffect(() => { if (focus) setSelected(focus); }, [focus]);
  useEffect(() => setOlder({ items: [], next: null }), [loaded.data]); // a fresh first page starts over

  const items = [...(loaded.data?.items ?? []), ...older.items];
  const next = older.items.length ? older.next : loaded.data?.next_cursor ?? null;
  const page = async (cursor: string, limit: number) => unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}/revisions",
    { params: { path: { workspace_id: workspace.id, bot_id: bot.id }, query: { limit, cursor } } }));
  const loadOlder = () => more.run(async () => {
    const read = await page(next!, 20);
    setOlder((o) => ({ items: [...o.items, ...read.items], next: read.next_cursor ?? null }));
  });
  const index = items.findIndex((r) => r.id === selected);
  const revision = index >= 0 ? items[index] : undefined;
  // its predecessor: the next one in the list, or the first of the next page
  const predecessor = useLoad(async () => {
    if (!revision || revision.number === 1) return null;
    if (items[index + 1]) return items[index + 1];
    return next ? (await page(next, 1)).items[0] ?? null : null;
  }, [revision?.id, items[index + 1]?.id, next]);

  return (
    <section aria-labelledby="revisions-title">
      <h2 id="revisions-title">Revisions</h2>
      <Show loaded={loaded} what="revisions" isEmpty={(d) => d.items.length === 0}>
        {() => (
          <table>
            <caption className="sr-only">Revisions, newest first</caption>
            <thead>
              <tr><th scope="col">Number</th><th scope="col">Made</th><th scope="col">By</th><th scope="col">Source</th>
                <th scope="col">Config hash</th><th scope="col">State</th><th scope="col">Diff</th></tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <th scope="row">#{r.number}</th>
                  <td><Time at={r.created_at} /></td>
                  <td>{r.created_by}</td>
                  <td>{r.source}{r.template_id ? ` (${r.template_id})` : ""}</td>
                  <td><code>{r.config_hash.slice(0, 12)}</code></td>
                  <td>{[r.id === bot.desired_revision_id && "desired", r.id === bot.applied_revision_id && "applied"].filter(Boolean).join(", ") || "—"}</td>
                  <td>
                    <button type="button" aria-pressed={selected === r.id} onClick={() => setSelected(selected === r.id ? null : r.id)}>
                      {r.number === 1 ? "Show #1 (the first)" : `Compare #${r.number} with #${r.number - 1}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      {next && <button type="button" disabled={more.busy} onClick={() => void loadOlder()}>Older revisions</button>}
      {more.error !== null && <ErrorBox error={more.error} retry={() => void loadOlder()} />}
      {revision && (predecessor.state === "error" ? <ErrorBox error={predecessor.error} retry={predecessor.reload} />
        : predecessor.state === "loading" ? <Loading what="the previous revision" />
          : <RevisionDiff bot={bot} revision={revision} base={predecessor.data ?? null} />)}
    </section>
  );
}

function RevisionDiff({ bot, revision, base }: { bot: Bot; revision: Summary; base: Summary | null }) {
  const workspace = useWorkspace();
  const loaded = useLoad(async () => {
    const path = { workspace_id: workspace.id, bot_id: bot.id };
    const read = async (id: string) => unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}/revisions/{revision_id}",
      { params: { path: { ...path, revision_id: id } } }));
    const [after, before, changes] = await Promise.all([
      read(revision.id),
      base ? read(base.id) : Promise.resolve(null),
      base ? api().GET("/workspaces/{workspace_id}/bots/{bot_id}/revisions/{revision_id}/diff",
        { params: { path: { ...path, revision_id: revision.id }, query: { against: base.id } } }).then(unwrap) : Promise.resolve(null),
    ]);
    return { after, before, changes: changes?.changes ?? null };
  }, [revision.id, base?.id]);
  const title = base ? `Revision #${base.number} → #${revision.number}` : `Revision #${revision.number} (the first: everything in it is new)`;
  return (
    <section aria-labelledby="diff-title" className="diff-view">
      <h3 id="diff-title">{title}</h3>
      <Show loaded={loaded} what="the two revisions">
        {({ after, before, changes }) => (
          <>
            {changes && <Changes changes={changes} />}
            <SideBySide before={before?.config ?? {}} after={after.config}
              beforeLabel={base ? `#${base.number} (before)` : "nothing (before)"} afterLabel={`#${revision.number} (after)`} />
          </>
        )}
      </Show>
    </section>
  );
}

function Changes({ changes }: { changes: Schemas["ConfigChange"][] }) {
  if (!changes.length) return <p className="empty">The two configs are the same.</p>;
  const show = (value: unknown) => JSON.stringify(value);
  return (
    <ul className="changes" aria-label="Changed paths">
      {changes.map((c) => (
        <li key={c.path}>
          <code>{c.path}</code> {c.op}
          {c.op === "changed" && <>: {show(c.from)} → {show(c.to)}</>}
          {c.op === "added" && <>: {show(c.to)}</>}
          {c.op === "removed" && <> (was {show(c.from)})</>}
        </li>
      ))}
    </ul>
  );
}

const MARK = { removed: ["−", "removed: "], added: ["+", "added: "], same: [" ", ""] } as const;

function SideBySide({ before, after, beforeLabel, afterLabel }: {
  before: unknown; after: unknown; beforeLabel: string; afterLabel: string;
}) {
  const rows = sideBySide(configLines(before), configLines(after));
  const cell = (c: Cell | null, side: string) => c === null ? <td className={`line empty-side ${side}`} /> : (
    <td className={`line ${c.mark} ${side}`}>
      <span className="marker" aria-hidden="true">{MARK[c.mark][0]}</span>
      {MARK[c.mark][1] && <span className="sr-only">{MARK[c.mark][1]}</span>}
      <span className="text">{c.text}</span>
    </td>
  );
  return (
    <div className="diff-scroll" tabIndex={0} role="region" aria-label="The two configs side by side">
      <table className="diff-table">
        <caption className="sr-only">Config {beforeLabel} beside {afterLabel}; removed lines are marked −, added lines +</caption>
        <thead><tr><th scope="col">{beforeLabel}</th><th scope="col">{afterLabel}</th></tr></thead>
        <tbody>
          {rows.map((row, i) => <tr key={i}>{cell(row.left, "left")}{cell(row.right, "right")}</tr>)}
        </tbody>
      </table>
    </div>
  );
}
