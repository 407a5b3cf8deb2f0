/**
 * API and agent tokens. The secret is shown once at creation and stored only as SHA-256 with a
 * short lookup prefix (SECURITY.md: forged API token). Comparison is constant-time; expiry and
 * revocation are checked on every call.
 *
 * Format: `dbw_<43 base64url chars>` for users, `dbwa_<43 base64url chars>` for agents. The prefix
 * is the first 8 characters after the underscore.
 */
import { timingSafeEqual } from "node:crypto";
import { sha256Hex } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Clock, Random } from "../core/clock.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";

export type TokenKind = "user" | "agent";
const MARKER: Record<TokenKind, string> = { user: "dbw_", agent: "dbwa_" };
const SECRET_BYTES = 32;
const TOKEN_SHAPE = /^(dbwa?)_([A-Za-z0-9_-]{43})$/;

export interface IssuedToken {
  readonly id: string;
  readonly secret: string;
  readonly expiresAt: string | null;
}

export interface TokenSubject {
  readonly tokenId: string;
  readonly kind: TokenKind;
  readonly subject: string;
  /** The roles the token may act with at most; absent when it has no ceiling. */
  readonly ceiling?: readonly string[];
}

/** Inserts a token (inside the caller's transaction, next to its audit event). */
export async function issueToken(
  tx: Tx,
  deps: { clock: Clock; random: Random },
  args: {
    kind: TokenKind;
    subject: string;
    name: string;
    expiresAt?: Date;
    secret?: string;
    ceiling?: readonly string[];
    createdBy?: string;
  },
): Promise<IssuedToken> {
  const secret = args.secret ?? `${MARKER[args.kind]}${deps.random.secret(SECRET_BYTES)}`;
  const parsed = parseToken(secret);
  if (parsed === undefined || parsed.kind !== args.kind) {
    throw new TypeError(`a ${args.kind} token must look like ${MARKER[args.kind]}<43 base64url characters>`);
  }
  const id = `tok_${deps.random.secret(9)}`;
  const expiresAt = args.expiresAt?.toISOString() ?? null;
  await tx
    .insertInto("api_tokens")
    .values({
      id,
      kind: args.kind,
      subject: args.subject,
      name: args.name,
      prefix: parsed.prefix,
      secret_sha256: sha256Hex(secret),
      created_at: deps.clock.now().toISOString(),
      expires_at: expiresAt,
      revoked_at: null,
      last_used_at: null,
      ceiling_roles: args.ceiling === undefined ? null : JSON.stringify([...args.ceiling].sort()),
      created_by: args.createdBy ?? null,
    })
    .execute();
  return { id, secret, expiresAt };
}

/**
 * Whether `value` has the shape of a `kind` token: what a secret given in the environment must
 * have before it is stored (a typo there is a start-up error naming the variable, not a crash).
 */
export function isTokenOfKind(value: string, kind: TokenKind): boolean {
  return parseToken(value)?.kind === kind;
}

/** What a token of `kind` looks like, for messages. */
export function tokenShape(kind: TokenKind): string {
  return `${MARKER[kind]}<43 base64url characters>`;
}

function parseToken(value: string): { kind: TokenKind; prefix: string } | undefined {
  const m = TOKEN_SHAPE.exec(value);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { kind: m[1] === "dbwa" ? "agent" : "user", prefix: m[2].slice(0, 8) };
}

/**
 * Finds the live token for a presented secret, or undefined. Every failure mode (malformed,
 * unknown, wrong secret, expired, revoked, wrong kind) answers the same undefined so the caller
 * gives no hint about what exists.
 */
export async function authenticateToken(
  db: Kysely<Database>,
  presented: string,
  kind: TokenKind,
  now: Date,
): Promise<TokenSubject | undefined> {
  const parsed = parseToken(presented);
  if (parsed === undefined || parsed.kind !== kind) return undefined;
  const candidates = await db
    .selectFrom("api_tokens")
    .select([
      "id",
      "kind",
      "subject",
      "secret_sha256",
      "expires_at",
      "revoked_at",
      "ceiling_roles",
      "last_used_at",
    ])
    .where("prefix", "=", parsed.prefix)
    .execute();
  const presentedHash = Buffer.from(sha256Hex(presented), "hex");
  const match = candidates.find((c) => {
    const stored = Buffer.from(c.secret_sha256, "hex");
    return stored.length === presentedHash.length && timingSafeEqual(stored, presentedHash);
  });
  if (match === undefined || match.kind !== kind || match.revoked_at !== null) return undefined;
  if (match.expires_at !== null && Date.parse(match.expires_at) <= now.getTime()) return undefined;
  await touchLastUsed(db, match, now);
  return {
    tokenId: match.id,
    kind: match.kind,
    subject: match.subject,
    ...(match.ceiling_roles !== null ? { ceiling: JSON.parse(match.ceiling_roles) as string[] } : {}),
  };
}

/** Records when a token was last used, at most once a minute per token (a write per call would be waste). */
async function touchLastUsed(
  db: Kysely<Database>,
  token: { id: string; last_used_at: string | null },
  now: Date,
): Promise<void> {
  if (token.last_used_at !== null && now.getTime() - Date.parse(token.last_used_at) < 60_000) return;
  await db
    .updateTable("api_tokens")
    .set({ last_used_at: now.toISOString() })
    .where("id", "=", token.id)
    .execute();
}

/** Whether a subject has any live (unrevoked, unexpired) token of a kind (bootstrap checks this before issuing). */
export async function hasLiveToken(
  db: Kysely<Database>,
  kind: TokenKind,
  subject: string,
  now: Date = new Date(),
): Promise<boolean> {
  return (await countLiveTokens(db, kind, subject, now)) > 0;
}

export async function countLiveTokens(
  db: Kysely<Database>,
  kind: TokenKind,
  subject: string,
  now: Date,
): Promise<number> {
  const row = await db
    .selectFrom("api_tokens")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("kind", "=", kind)
    .where("subject", "=", subject)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now.toISOString())]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
