// Form pieces: a submit button held to the same role check as ActionButton, and JSON fields.
import { useState, type ReactNode } from "react";
import { refusal, type Operation, type Role } from "./roles";

let reasonIds = 0;

/** The submit button of a form that changes something: disabled, with the reason beside it, when the caller's
 *  role may not perform `op` (as ActionButton; marked data-mutating for the VIEWER check). */
export function SubmitButton({ op, role, busy, children }: {
  op: Operation; role: Role | null | undefined; busy?: boolean; children: ReactNode;
}) {
  const [reasonId] = useState(() => `submit-reason-${++reasonIds}`);
  const refused = refusal(role, op);
  return (
    <span className="action">
      <button type="submit" disabled={!!refused || busy} data-mutating="true"
        aria-describedby={refused ? reasonId : undefined} title={refused ?? undefined}>
        {busy ? "Working…" : children}
      </button>
      {refused && <span id={reasonId} className="reason">{refused}</span>}
    </span>
  );
}

/** A JSON object typed by the user: the object, or why it is not one (named after the API's field). */
export function parseJsonObject(text: string, field: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) return { error: `${field}: must be a JSON object ({…})` };
    return { value: value as Record<string, unknown> };
  } catch (error) {
    return { error: `${field}: not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}
