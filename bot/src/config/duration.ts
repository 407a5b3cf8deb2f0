/**
 * Durations in the config (`remind_after: 30m`, `escalate_after: 2h`): a whole number and one
 * unit, nothing else. A typo ("30 min", "1.5h", "2H") is a config error naming the key, never a
 * guess: a reminder that silently never fires is an approval that stalls.
 */
import { z } from "zod";

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds for `30m`, `2h`, `45s`, `1d`; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})(s|m|h|d)$/.exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A config duration, read as milliseconds. */
export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `must be a duration like 30m or 2h (a whole number and one of s, m, h, d), not ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return ms;
});
