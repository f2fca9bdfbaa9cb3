// Paging through a list the API gives a page at a time. Its cursors go forward only, so the URL keeps the trail of
// cursors that led to the page shown (`cursor`, one per Next): Next appends the page's next_cursor, Previous drops
// the last one. A reload, the browser's back button and a shared link all land on the same page.
import { withQuery } from "./controls";
import { navigate, useLocation } from "./router";
import type { Loaded } from "./ui";

const KEY = "cursor";
/** Merged into a filter change's query: new filters start again from the first page. */
export const FIRST_PAGE = { [KEY]: null };

export interface Paging {
  what: string; // the list's items, for the labels ("bots")
  cursor: string | null; // the page's cursor to ask the API for (null: the first page)
  number: number; // from 1
  next: (cursor: string) => void;
  previous: () => void;
}

/** Every item of a list, a page at a time: for a choice (a select of fleets) that must offer all of them. */
export async function readAll<T>(page: (cursor: string | null) => Promise<{ items: T[]; next_cursor?: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const read: { items: T[]; next_cursor?: string | null } = await page(cursor);
    items.push(...read.items);
    cursor = read.next_cursor ?? null;
  } while (cursor);
  return items;
}

export function usePager(what: string): Paging {
  const { path, query } = useLocation();
  const trail = query.getAll(KEY);
  return {
    what,
    cursor: trail.at(-1) ?? null,
    number: trail.length + 1,
    next: (cursor) => navigate(withQuery(path, query, { [KEY]: [...trail, cursor] })),
    previous: () => navigate(withQuery(path, query, { [KEY]: trail.slice(0, -1) })),
  };
}

/** What an empty page says: past the first page it is past the last one (the list shrank since the previous
 *  page was read), else `first`. */
export function emptyText(pager: Paging, first: string): string {
  return pager.number > 1 ? `No more ${pager.what}: this page is past the last one.` : first;
}

/** Previous and Next under a list, with the page's number. Next waits for the page asked for to be shown (while it
 *  loads the last page's data, and its next_cursor, are still there); Previous needs only the URL, so it also
 *  leads back from a page that failed to load. */
export function Pager({ pager, page }: { pager: Paging; page: Loaded<{ next_cursor?: string | null }> }) {
  const next = page.state === "ok" ? page.data.next_cursor : null;
  if (pager.number === 1 && !page.data?.next_cursor) return null;
  return (
    <nav className="pager" aria-label={`Pages of ${pager.what}`}>
      <button type="button" disabled={pager.number === 1} onClick={pager.previous}>Previous page</button>
      <span className="page-number" aria-live="polite">Page {pager.number}</span>
      <button type="button" disabled={!next} onClick={() => next && pager.next(next)}>Next page</button>
    </nav>
  );
}
