// A line diff for showing two configs side by side: rows of (left line, right line), each side kept, removed
// or added. A run of removed lines next to a run of added ones shares rows, so a changed value sits on one row.

export type Mark = "same" | "removed" | "added";
export interface Cell { text: string; mark: Mark; number: number }
export interface Row { left: Cell | null; right: Cell | null }

// Beyond this many cells the middle (after the common start and end) is shown as all removed, then all added:
// a config differing in thousands of lines is not read line by line anyway.
const MAX_CELLS = 4_000_000;

/** JSON as both sides are shown: keys sorted at every level, two-space indent, so equal configs print alike. */
export function configLines(config: unknown): string[] {
  return JSON.stringify(sortKeys(config), null, 2).split("\n");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

export function sideBySide(before: string[], after: string[]): Row[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) { endB--; endA--; }
  const ops = middle(before.slice(start, endB), after.slice(start, endA));
  const rows: Row[] = [];
  let b = 0;
  let a = 0;
  const same = (i: number, j: number) => rows.push({ left: { text: before[i], mark: "same", number: i + 1 },
    right: { text: after[j], mark: "same", number: j + 1 } });
  for (; b < start; b++, a++) same(b, a);
  let removed: Cell[] = [];
  let added: Cell[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(removed.length, added.length); k++) rows.push({ left: removed[k] ?? null, right: added[k] ?? null });
    removed = [];
    added = [];
  };
  for (const op of ops) {
    if (op === "-") removed.push({ text: before[b], mark: "removed", number: ++b });
    else if (op === "+") added.push({ text: after[a], mark: "added", number: ++a });
    else { flush(); same(b++, a++); }
  }
  flush();
  for (; b < before.length; b++, a++) same(b, a);
  return rows;
}

/** The edit script from `x` to `y`: "=" keep, "-" remove from x, "+" add from y (longest common subsequence). */
function middle(x: string[], y: string[]): ("=" | "-" | "+")[] {
  const n = x.length;
  const m = y.length;
  if (n * m > MAX_CELLS) return [...Array<"-">(n).fill("-"), ...Array<"+">(m).fill("+")];
  // lcs[i][j]: the longest common subsequence of x[i:] and y[j:], in one flat array
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = x[i] === y[j] ? lcs[at(i + 1, j + 1)] + 1 : Math.max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  const ops: ("=" | "-" | "+")[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { ops.push("="); i++; j++; }
    else if (lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) { ops.push("-"); i++; }
    else { ops.push("+"); j++; }
  }
  while (i++ < n) ops.push("-");
  while (j++ < m) ops.push("+");
  return ops;
}
