// Controls the list and settings pages share: a confirmation step, and a list's query (filters, page size) kept
// in the URL, so a reload or a shared link opens the same view (its pages: pager.tsx).
import { useEffect, useRef, type ReactNode } from "react";

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
