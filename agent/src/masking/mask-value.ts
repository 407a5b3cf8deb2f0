/**
 * One masked cell. Modes (shared mask-claim.ts):
 * - `full`: the fixed text `****`, whatever the value's length or type;
 * - `partial`: the value's first `keep_leading` and last `keep_trailing` characters (code points)
 *   around `****`; a value that would hide fewer characters than it keeps is `****` whole;
 * - `hash`: `hmac:` and the first 32 hex digits of HMAC-SHA256 under the installation's masking
 *   key, so equal values hash equal (joins and counts of distinct values still work) and the bot,
 *   without the key, cannot test a guess;
 * - `null`: always NULL.
 * NULL stays NULL in every mode: that a value is absent is not the value, and a NULL shown as
 * `****` would be taken for data. Non-text values are masked by their JSON text.
 */
import { createHmac } from "node:crypto";
import type { SignedMask } from "@dbward/shared";
import type { Secret } from "../secret.ts";

export const FULL_MASK = "****";
/** Separates the key's use for masks from any other use of the same bytes. */
const HASH_CONTEXT = "dbward-column-mask-v1\0";

/** The function that masks one column's cells. */
export type CellMask = (value: unknown) => unknown;

export function cellMask(
  mask: Pick<SignedMask, "mode" | "keep_leading" | "keep_trailing">,
  key: Secret | undefined,
): CellMask {
  switch (mask.mode) {
    case "full":
      return (v) => (v === null ? null : FULL_MASK);
    case "null":
      return () => null;
    case "partial":
      return (v) => (v === null ? null : partial(textOf(v), mask.keep_leading, mask.keep_trailing));
    case "hash": {
      // The caller refuses a hash mask without a key before anything runs; this is the backstop.
      if (key === undefined) throw new Error("a hash mask needs the agent's masking key");
      const secret = key.reveal();
      return (v) =>
        v === null
          ? null
          : `hmac:${createHmac("sha256", secret).update(HASH_CONTEXT).update(textOf(v)).digest("hex").slice(0, 32)}`;
    }
  }
}

function partial(text: string, leading: number, trailing: number): string {
  const chars = Array.from(text);
  // Fewer characters hidden than kept shows most of a short value (`a@b.co` kept 1 and 4 hides
  // one character): masked whole instead.
  if (chars.length - (leading + trailing) < leading + trailing) return FULL_MASK;
  return `${chars.slice(0, leading).join("")}${FULL_MASK}${trailing === 0 ? "" : chars.slice(-trailing).join("")}`;
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}
