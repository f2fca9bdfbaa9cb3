// The API client: openapi-fetch over the types generated from docs/openapi.json (npm run gen; a test fails when
// they are stale), so a call the API does not offer, or a field it does not return, does not compile.
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { idToken, refresh } from "../lib/auth";

export type { components, paths } from "./schema";
export type Schemas = import("./schema").components["schemas"];

/** An answer of the API that is not a success, with its error body ({code, message, details}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** What to tell the user: a 403 says so plainly (the API refused this role), a 422 names each field. */
  describe(): string {
    if (this.status === 403) return `Forbidden: ${this.message}`;
    const errors = (this.details.errors ?? []) as { field?: string; loc?: string[]; reason?: string; msg?: string }[];
    const fields = errors.map((e) => `${e.field ?? e.loc?.join(".") ?? "?"}: ${e.reason ?? e.msg ?? ""}`)
      .filter((field) => !this.message.includes(field)); // a single-field refusal often says it all already
    return fields.length ? `${this.message} (${fields.join("; ")})` : this.message;
  }
}

let baseUrl = "";
let client: ReturnType<typeof createClient<paths>>;

export function initApi(apiUrl: string): void {
  baseUrl = apiUrl.replace(/\/$/, "");
  client = createClient<paths>({ baseUrl, fetch: authorizedFetch });
}

export function api(): ReturnType<typeof createClient<paths>> {
  return client;
}

/** Every request carries the ID token; a 401 refreshes it once and retries (the token may have just expired). */
async function authorizedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await fetch(withToken(request));
  if (response.status !== 401 || !(await refresh())) return response;
  return fetch(withToken(retry));
}

function withToken(request: Request): Request {
  const token = idToken();
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

/** The data of an openapi-fetch answer, or an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const body = (result.error ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    throw new ApiError(result.response.status, body.code ?? `HTTP_${result.response.status}`,
      body.message ?? result.response.statusText, body.details ?? {});
  }
  return result.data as T;
}

/** A fresh Idempotency-Key: a retried create cannot create twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
