/**
 * The advisory lock keys dbward takes on a PostgreSQL state store, in one table so two uses can
 * never pick the same number. PostgreSQL's advisory locks are per database: one dbward
 * installation per database (docs/configuration.md, `state`).
 */

/** Held by every write transaction from BEGIN to its end (open-postgres-store.ts). */
export const STATE_WRITE_LOCK = 0x64627764_00000001n.toString();

/** The periodic jobs one instance leads at a time (leadership.ts). */
export const LEADER_JOBS = ["sweeper", "webhooks", "audit_maintenance", "pruning"] as const;
export type LeaderJobName = (typeof LEADER_JOBS)[number];

/** Session-level locks, one per job, held by the instance that leads it. */
export const LEADER_LOCKS: Record<LeaderJobName, string> = {
  sweeper: 0x64627764_00000101n.toString(),
  webhooks: 0x64627764_00000102n.toString(),
  audit_maintenance: 0x64627764_00000103n.toString(),
  pruning: 0x64627764_00000104n.toString(),
};
