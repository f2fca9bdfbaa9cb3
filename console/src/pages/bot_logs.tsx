// The tail of the gateway's own log (openclaw redacts secrets in it): the last lines, then the newer ones from the
// cursor each answer gives back.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, unwrap } from "../api/client";
import { ErrorBox, Loading, useWorkspace } from "../lib/ui";
import type { Bot } from "./bot_live";

const TAIL = 200;
// Where a gateway may be missing (none yet, or being removed), the log is read only when asked (Refresh): the
// API would answer 409, which the browser reports as an error in its console.
const NO_GATEWAY_YET = new Set(["PENDING", "CREATING", "DELETING"]);
const KEEP = 2000; // lines kept on the page; older ones drop off the top

interface Tail { lines: string[]; cursor: number }

export function GatewayLogs({ bot, ended }: { bot: Bot; ended: number }) {
  const workspace = useWorkspace();
  const [tail, setTail] = useState<Tail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [newest, setNewest] = useState<number | null>(null); // how many lines the last "newer" read added
  const [raw, setRaw] = useState(false);
  const seq = useRef(0);

  const read = useCallback(async (cursor?: number) => {
    const mine = ++seq.current;
    setBusy(true);
    try {
      const page = unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}/logs", {
        params: { path: { workspace_id: workspace.id, bot_id: bot.id }, query: cursor === undefined ? { limit: TAIL } : { cursor, limit: 1000 } },
      }));
      if (mine !== seq.current) return;
      setError(null);
      setNewest(cursor === undefined ? null : page.lines.length);
      setTail((current) => cursor === undefined || !current ? page
        : { lines: [...current.lines, ...page.lines].slice(-KEEP), cursor: page.cursor });
    } catch (caught) {
      if (mine === seq.current) setError(caught);
    } finally {
      if (mine === seq.current) setBusy(false);
    }
  }, [workspace.id, bot.id]);

  const readable = !!bot.target && !NO_GATEWAY_YET.has(bot.status);
  // a workflow that ended may have started or removed the gateway: read again
  useEffect(() => { if (readable) void read(); }, [read, ended, readable]);

  const noGateway = error instanceof ApiError && error.status === 409; // no gateway (yet): the API says why
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Gateway log</h2>
      <div className="toolbar">
        <button type="button" onClick={() => void read()} disabled={busy}>Refresh (last {TAIL} lines)</button>
        <button type="button" onClick={() => void read(tail!.cursor)} disabled={busy || !tail}>Newer lines</button>
        <label className="check"><input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> Raw JSON lines</label>
        <span role="status" className="muted">
          {busy ? "Reading…" : newest !== null ? `${newest} newer line${newest === 1 ? "" : "s"}` : ""}
        </span>
      </div>
      {noGateway ? <p className="empty">{(error as ApiError).message}</p>
        : error !== null ? <ErrorBox error={error} retry={() => void read()} />
          : tail === null ? (readable || busy ? <Loading what="the log" />
            : <p className="empty">{bot.target ? `The bot is ${bot.status}: its gateway may not be there yet (Refresh reads it anyway).`
              : "The bot was never deployed: it has no gateway, so no log."}</p>)
            : tail.lines.length === 0 ? <p className="empty">The gateway has written no log line yet.</p>
              : <pre className="logs" role="log" tabIndex={0} aria-label="The gateway's log lines, oldest first">{(raw ? tail.lines : tail.lines.map(asText)).join("\n")}</pre>}
    </section>
  );
}

/** One of openclaw's JSON log lines as text: time, level, subsystem and message (the raw line if it is not one). */
function asText(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (!entry || typeof entry !== "object") return line;
  const meta = (entry._meta ?? {}) as { logLevelName?: string; date?: string };
  const parts = Object.keys(entry).filter((key) => /^\d+$/.test(key)).sort((a, b) => Number(a) - Number(b))
    .map((key) => subsystem(entry[key]));
  if (!parts.length) return line;
  return [entry.time ?? meta.date ?? "", meta.logLevelName ?? "", ...parts].filter(Boolean).join(" ");
}

function subsystem(part: unknown): string {
  if (typeof part !== "string") return JSON.stringify(part);
  try {
    const value = JSON.parse(part) as { subsystem?: string };
    if (value && typeof value.subsystem === "string") return `[${value.subsystem}]`;
  } catch {
    // a plain message
  }
  return part;
}
