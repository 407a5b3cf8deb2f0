/**
 * The advisory lock keys dbward takes on a PostgreSQL state store, in one table so two uses can
 * never pick the same number. PostgreSQL's advisory locks are per database: one dbward
 * installation per database (docs/configuration.md, `state`).
 */

/** Held by every write transaction from BEGIN to its end (open-postgres-store.ts). */
export const STATE_WRITE_LOCK = 0x64627764_00000001n.toString();
