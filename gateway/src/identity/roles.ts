/** Tenant roles: admin ⊇ write ⊇ read. */
export const roles = ['extension:read', 'extension:write', 'extension:admin'] as const;
export type Role = (typeof roles)[number];

const rank: Record<Role, number> = { 'extension:read': 1, 'extension:write': 2, 'extension:admin': 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export function hasRole(granted: readonly string[], needed: Role): boolean {
  return granted.some((r) => isRole(r) && rank[r] >= rank[needed]);
}
