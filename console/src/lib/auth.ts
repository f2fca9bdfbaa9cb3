// Sign-in: the OAuth authorization-code flow with PKCE (S256) against Cognito's hosted UI on AWS, or the local
// stack's stand-in at the same paths. Tokens live in this module's memory only (never localStorage or cookies
// of ours): a reload signs in again, which the hosted UI's own session makes a redirect without a form.
// sessionStorage holds only the PKCE verifier across the redirect, and a hint that the user was signed in.
import type { ConsoleConfig } from "./config";

interface Tokens { idToken: string; refreshToken: string | null; expiresAt: number }
export interface User { sub: string; email: string; expiresAt: number }

const PKCE_KEY = "clawster.pkce";
const SIGNED_IN_HINT = "clawster.signedIn";

let config: ConsoleConfig;
let tokens: Tokens | null = null;
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

export function initAuth(loaded: ConsoleConfig): void {
  config = loaded;
}

function redirectUri(): string {
  return window.location.origin + config.redirectPath;
}

export function onAuthChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(): void {
  for (const listener of listeners) listener();
}

export function currentUser(): User | null {
  if (!tokens) return null;
  const claims = decode(tokens.idToken);
  return { sub: String(claims.sub), email: String(claims.email ?? ""), expiresAt: tokens.expiresAt };
}

export function idToken(): string | null {
  return tokens?.idToken ?? null;
}

/** Leave for the hosted UI; it comes back to the console's redirect URI with a code. */
export async function signIn(returnTo = window.location.pathname + window.location.search): Promise<void> {
  const verifier = randomString(64);
  const state = randomString(24);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.auth.clientId,
    redirect_uri: redirectUri(),
    scope: config.auth.scope,
    state,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${config.auth.authorizeUrl}?${query}`);
}

export function signOut(): void {
  clearTokens();
  sessionStorage.removeItem(SIGNED_IN_HINT);
  const query = new URLSearchParams({ client_id: config.auth.clientId, logout_uri: redirectUri() });
  window.location.assign(`${config.auth.logoutUrl}?${query}`);
}

/** At start: finish a sign-in the hosted UI sent back, else resume a session the hint says exists.
 *  Returns where to go after a completed sign-in, or an error to show. */
export async function completeSignIn(): Promise<{ returnTo?: string; error?: string; redirecting?: boolean }> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) {
    if (sessionStorage.getItem(SIGNED_IN_HINT)) {
      await signIn();
      return { redirecting: true };
    }
    return {};
  }
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null") as
    | { verifier: string; state: string; returnTo: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  window.history.replaceState(null, "", config.redirectPath);
  if (error) return { error: `Sign-in failed: ${params.get("error_description") ?? error}` };
  if (!saved || saved.state !== params.get("state")) return { error: "Sign-in failed: the answer does not match this browser's request. Sign in again." };
  const ok = await tokenRequest({
    grant_type: "authorization_code", client_id: config.auth.clientId, code: code!,
    redirect_uri: redirectUri(), code_verifier: saved.verifier,
  });
  if (!ok) return { error: "Sign-in failed: the code was refused. Sign in again." };
  sessionStorage.setItem(SIGNED_IN_HINT, "1");
  return { returnTo: saved.returnTo.startsWith(config.redirectPath) ? saved.returnTo : config.redirectPath };
}

/** New ID token from the refresh token; false when the session is over. Concurrent callers share one request. */
export function refresh(): Promise<boolean> {
  if (!tokens?.refreshToken) return Promise.resolve(false);
  refreshing ??= tokenRequest({
    grant_type: "refresh_token", client_id: config.auth.clientId, refresh_token: tokens.refreshToken,
  }).finally(() => { refreshing = null; });
  return refreshing;
}

async function tokenRequest(form: Record<string, string>): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(config.auth.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
    });
  } catch {
    return false;
  }
  if (!response.ok) {
    if (form.grant_type === "refresh_token") clearTokens();
    return false;
  }
  const body = await response.json();
  const expiresAt = Number(decode(body.id_token).exp) * 1000;
  tokens = { idToken: body.id_token, refreshToken: body.refresh_token ?? tokens?.refreshToken ?? null, expiresAt };
  scheduleRefresh();
  changed();
  return true;
}

/** Refresh before expiry: at four fifths of the token's remaining life, and at least a minute before it ends. */
function scheduleRefresh(): void {
  window.clearTimeout(refreshTimer);
  if (!tokens) return;
  const left = tokens.expiresAt - Date.now();
  const delay = Math.max(1000, Math.min(left * 0.8, left - 60_000));
  refreshTimer = window.setTimeout(() => void refresh(), delay);
}

function clearTokens(): void {
  window.clearTimeout(refreshTimer);
  tokens = null;
  changed();
}

function decode(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1] ?? "";
  const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
}

function randomString(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
