// Which role each API operation needs (generated from the API's own permission table, via docs/openapi.json),
// so an action a role may not take is shown disabled with the reason, before the API would answer 403.
import { REQUIRED_ROLE } from "../api/permissions.gen";

export type Role = "VIEWER" | "OPERATOR" | "ADMIN" | "OWNER";
export type Operation = keyof typeof REQUIRED_ROLE;
const RANK: Record<Role, number> = { VIEWER: 1, OPERATOR: 2, ADMIN: 3, OWNER: 4 };

export function requiredRole(operation: Operation): string {
  return REQUIRED_ROLE[operation];
}

/** Why `role` may not perform `operation`, or null when it may. */
export function refusal(role: Role | null | undefined, operation: Operation): string | null {
  const required = REQUIRED_ROLE[operation];
  if (required === "PUBLIC" || required === "AUTHENTICATED") return null;
  if (!role) return `Needs the ${required} role in this workspace`;
  return RANK[role] >= RANK[required as Role] ? null : `Needs the ${required} role; you are ${role}`;
}
