/**
 * The `audit:` section of the bot config (docs/audit.md): how often the chain's head is signed,
 * and how long events are kept.
 */
import { z } from "zod";

export const auditSchema = z.strictObject({
  /** Sign a checkpoint once this many events were appended since the last one. */
  checkpoint_every_events: z.number().int().min(1).max(1_000_000).default(100),
  /** …or once this many minutes passed since the last one, if any event was appended. */
  checkpoint_every_minutes: z.number().int().min(1).max(10_080).default(15),
  /**
   * Purge events older than this many days, only up to a signed checkpoint. Absent: keep every
   * event forever.
   */
  retention_days: z.number().int().min(1).max(36_500).optional(),
});

export const AUDIT_DEFAULTS = auditSchema.parse({});

export type AuditConfig = z.infer<typeof auditSchema>;
