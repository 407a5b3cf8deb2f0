/**
 * `--since` / `?since=` for audit exports: an ISO 8601 date or date-time (`2024-05-01`,
 * `2024-05-01T12:00:00Z`), or an age counted back from now (`90d`, `12h`, `30m`).
 */
import { DbwardError } from "@dbward/shared";

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** The instant `text` names; throws `request.invalid` saying what is accepted. */
export function parseSince(text: string, now: Date): Date {
  const age = /^(\d{1,6})([dhm])$/.exec(text);
  if (age !== null) return new Date(now.getTime() - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new DbwardError(
    "request.invalid",
    `since must be an ISO 8601 date or time (2024-05-01, 2024-05-01T12:00:00Z) or an age such as 90d, 12h or 30m; got ${JSON.stringify(text.slice(0, 40))}`,
  );
}
