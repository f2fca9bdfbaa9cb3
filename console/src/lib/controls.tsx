// Controls the list and settings pages share: a confirmation step, and cursor pagination whose state lives in the
// URL (a reload or a shared link opens the same page).
import { useEffect, useRef, type ReactNode } from "react";
import { navigate } from "./router";

/** "Are you sure?" in place: the question and its two answers, the confirming one focused. */
export function Confirm({ question, confirm, onCancel, children }: {
  question: ReactNode; confirm: ReactNode; onCancel: () => void; children?: ReactNode;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {  // the button that asked is gone: keyboard focus goes to the first control of the question
    box.current?.querySelector<HTMLElement>("input, button:not([disabled])")?.focus();
  }, []);
  return (
    <div className="confirm-inline" role="group" aria-label="Confirm" ref={box}>
      <span>{question}</span>
      {children}
      {confirm}
      <button type="button" onClick={onCancel}>Cancel</button>
    </div>
  );
}

/** The page's URL with some query parameters replaced (an empty value or list removes the parameter). */
export function withQuery(path: string, query: URLSearchParams, changes: Record<string, string | string[] | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    next.delete(key);
    for (const item of Array.isArray(value) ? value : value ? [value] : []) next.append(key, item);
  }
  const text = next.toString();
  return text ? `${path}?${text}` : path;
}

export const PAGE_SIZES = [10, 25, 50, 100];

/** The page size the URL asks for, one the API accepts (1..100), else `fallback`. */
export function pageSize(query: URLSearchParams, fallback: number): number {
  const asked = Number(query.get("limit"));
  return Number.isInteger(asked) && asked >= 1 && asked <= 100 ? asked : fallback;
}

/** The API's cursors go forward only, so the URL keeps the trail of cursors that led here (`after`, one per
 *  page turned): Next appends the page's next_cursor, Previous drops the last one. */
export function Pager({ path, query, nextCursor, what }: {
  path: string; query: URLSearchParams; nextCursor: string | null | undefined; what: string;
}) {
  const trail = query.getAll("after");
  if (!trail.length && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={`Pages of ${what}`}>
      <button type="button" disabled={!trail.length}
        onClick={() => navigate(withQuery(path, query, { after: trail.slice(0, -1) }))}>Previous</button>
      <span className="page-number" aria-live="polite">Page {trail.length + 1}</span>
      <button type="button" disabled={!nextCursor}
        onClick={() => nextCursor && navigate(withQuery(path, query, { after: [...trail, nextCursor] }))}>Next</button>
    </nav>
  );
}
