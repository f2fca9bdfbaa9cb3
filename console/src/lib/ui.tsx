// The pieces every page shares: loading, empty and error states, role-aware action buttons, status badges.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { refusal, type Operation, type Role } from "./roles";

export type Loaded<T> =
  | { state: "loading"; data?: T; error?: undefined }
  | { state: "ok"; data: T; error?: undefined }
  | { state: "error"; data?: T; error: unknown };

/** Load data for a page; `reload` fetches again and keeps showing the last data meanwhile. `query` names what is
 *  asked for (a list's filters): data read for other filters is never shown as this one's, not even while this one
 *  loads (the unfiltered rows would show for a moment under the new filters). A new page of the same list keeps
 *  the last page's rows until it comes (the pager's Next is disabled meanwhile). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], query = ""): Loaded<T> & { reload: () => void } {
  const [result, setResult] = useState<{ loaded: Loaded<T>; query: string }>({ loaded: { state: "loading" }, query });
  const [tick, setTick] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let live = true;
    const last = (previous: { loaded: Loaded<T>; query: string }) => (previous.query === query ? previous.loaded.data : undefined);
    setResult((previous) => ({ loaded: { state: "loading", data: last(previous) }, query }));
    latest.current().then(
      (data) => live && setResult({ loaded: { state: "ok", data }, query }),
      (error) => live && setResult((previous) => ({ loaded: { state: "error", error, data: last(previous) }, query })),
    );
    return () => { live = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const loaded: Loaded<T> = result.query === query ? result.loaded : { state: "loading" };
  return { ...loaded, reload };
}

export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <div role="alert" className={forbidden ? "error forbidden" : "error"}>
      <strong>{forbidden ? "Not allowed" : "Something went wrong"}</strong> <span>{describe(error)}</span>
      {retry && <button type="button" onClick={retry}>Retry</button>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status" aria-live="polite">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Loading, error or the content; `isEmpty` shows `empty` instead of an empty table. */
export function Show<T>({ loaded, what, children, isEmpty, empty }: {
  loaded: Loaded<T> & { reload?: () => void }; what: string; children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean; empty?: ReactNode;
}) {
  if (loaded.state === "error" && loaded.data === undefined) return <ErrorBox error={loaded.error} retry={loaded.reload} />;
  if (loaded.data === undefined) return <Loading what={what} />;
  return (
    <>
      {loaded.state === "error" && <ErrorBox error={loaded.error} retry={loaded.reload} />}
      {isEmpty?.(loaded.data) ? <Empty>{empty ?? `No ${what} yet.`}</Empty> : children(loaded.data)}
    </>
  );
}

let reasonIds = 0;

/** A button for an API operation: disabled, with the reason beside it, when the caller's role may not do it.
 *  Mutating actions carry data-mutating so a test can check that a VIEWER has none enabled. */
export function ActionButton({ op, role, onClick, busy, children, className, disabledReason }: {
  op: Operation; role: Role | null | undefined; onClick: () => void; busy?: boolean; children: ReactNode;
  className?: string; disabledReason?: string | null;
}) {
  const [reasonId] = useState(() => `reason-${++reasonIds}`);
  const refused = refusal(role, op) ?? disabledReason ?? null;
  const mutating = !op.startsWith("GET ");
  return (
    <span className="action">
      <button type="button" className={className} onClick={onClick} disabled={!!refused || busy}
        aria-describedby={refused ? reasonId : undefined} data-mutating={mutating ? "true" : undefined}
        title={refused ?? undefined}>
        {busy ? "Working…" : children}
      </button>
      {refused && <span id={reasonId} className="reason">{refused}</span>}
    </span>
  );
}

/** Run an action, keeping its error to show. */
export function useAction(): { busy: boolean; error: unknown; run: (action: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{status}</span>;
}

export function Time({ at }: { at?: string | null }) {
  if (!at) return <span>—</span>;
  const date = new Date(at);
  return <time dateTime={at} title={date.toISOString()}>{date.toLocaleString()}</time>;
}

/** A page's heading; it takes focus when the page changes, so keyboard and screen-reader users land on it. */
export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Clawster`;
    heading.current?.focus();
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" ref={heading} tabIndex={-1}>{title}</h1>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** The workspace a page belongs to, with the caller's role in it; `reload` reads it again (after a rename). */
export interface WorkspaceContext { id: string; name: string; role: Role | null; reload: () => void }
export const WorkspaceCtx = createContext<WorkspaceContext | null>(null);

export function useWorkspace(): WorkspaceContext {
  const workspace = useContext(WorkspaceCtx);
  if (!workspace) throw new Error("useWorkspace outside a workspace page");
  return workspace;
}
