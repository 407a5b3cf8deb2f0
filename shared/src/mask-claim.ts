/**
 * The `masks` claim of an execution token: the column masks the agent applies to the rows of one
 * job before anything leaves the data zone. The bot resolves them from its masking policies for
 * the requester (roles or groups allowed clear values drop out) and signs them; the agent refuses
 * a token whose claim is not exactly this shape (fail closed), and reads an absent claim as "no
 * masks". An empty list is never signed, so one set of masks has one encoding.
 */

/** How a masked column's values are shown. */
export const MASK_MODES = ["full", "partial", "hash", "null"] as const;
export type MaskMode = (typeof MASK_MODES)[number];

/** The most masks one token carries; more is a malformed claim. */
export const MAX_SIGNED_MASKS = 256;
/** The most leading or trailing characters a `partial` mask keeps. */
export const MAX_KEPT_CHARACTERS = 64;

/** One masked column, as signed. Names compare case-insensitively at the agent. */
export interface SignedMask {
  /** PostgreSQL schema or MySQL database; `null`: a table of this name in any schema. */
  readonly schema: string | null;
  readonly table: string;
  readonly column: string;
  readonly mode: MaskMode;
  /** For `partial`: characters kept at the start and at the end; 0 for every other mode. */
  readonly keep_leading: number;
  readonly keep_trailing: number;
}

const MASK_KEYS = ["schema", "table", "column", "mode", "keep_leading", "keep_trailing"];

const isName = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= 128;
const isKept = (x: unknown): x is number =>
  Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= MAX_KEPT_CHARACTERS;

/** Whether `v` is one well-formed signed mask, with no key beyond its six. */
export function isSignedMask(v: unknown): v is SignedMask {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  const keys = Object.keys(m);
  if (keys.length !== MASK_KEYS.length || !keys.every((k) => MASK_KEYS.includes(k))) return false;
  if (!(m.schema === null || isName(m.schema)) || !isName(m.table) || !isName(m.column)) return false;
  if (typeof m.mode !== "string" || !(MASK_MODES as readonly string[]).includes(m.mode)) return false;
  if (!isKept(m.keep_leading) || !isKept(m.keep_trailing)) return false;
  // Kept characters belong to `partial` alone, and a partial mask keeps something less than all.
  if (m.mode !== "partial") return m.keep_leading === 0 && m.keep_trailing === 0;
  return m.keep_leading + m.keep_trailing > 0;
}

/** Whether `v` is a well-formed, non-empty `masks` claim. */
export function isMaskClaim(v: unknown): v is readonly SignedMask[] {
  return Array.isArray(v) && v.length > 0 && v.length <= MAX_SIGNED_MASKS && v.every(isSignedMask);
}
