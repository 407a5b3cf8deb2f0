/**
 * Tokens as the admin API lists and revokes them. A view never carries the secret or its hash,
 * only a short hint (the marker and the lookup prefix) to tell tokens apart.
 */
import type { TokenView } from "@dbward/shared";
import type { Kysely } from "kysely";
import type { Tx } from "../store/in-transaction.ts";
import type { Database } from "../store/tables.ts";
import type { TokenKind } from "./api-tokens.ts";

type TokenRow = Omit<Database["api_tokens"], "secret_sha256">;

const COLUMNS = [
  "id",
  "kind",
  "subject",
  "name",
  "prefix",
  "created_at",
  "expires_at",
  "revoked_at",
  "last_used_at",
  "ceiling_roles",
  "created_by",
] as const satisfies readonly (keyof TokenRow)[];

export async function findTokenRow(db: Kysely<Database>, id: string): Promise<TokenRow | undefined> {
  return db.selectFrom("api_tokens").select(COLUMNS).where("id", "=", id).executeTakeFirst();
}

/** Newest first. */
export async function listTokenRows(
  db: Kysely<Database>,
  filter: { kind?: TokenKind; subject?: string },
): Promise<TokenRow[]> {
  let q = db.selectFrom("api_tokens").select(COLUMNS).orderBy("created_at", "desc").orderBy("id");
  if (filter.kind !== undefined) q = q.where("kind", "=", filter.kind);
  if (filter.subject !== undefined) q = q.where("subject", "=", filter.subject);
  return q.limit(1000).execute();
}

export function toTokenView(row: TokenRow, now: Date): TokenView {
  const status =
    row.revoked_at !== null
      ? "revoked"
      : row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()
        ? "expired"
        : "active";
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    name: row.name,
    hint: `${row.kind === "agent" ? "dbwa_" : "dbw_"}${row.prefix}…`,
    roles: row.ceiling_roles === null ? null : (JSON.parse(row.ceiling_roles) as string[]),
    status,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  };
}

/** Compare-and-set: true when this call revoked the token, false when it already was. */
export async function revokeTokenRow(tx: Tx, id: string, now: Date): Promise<boolean> {
  const res = await tx
    .updateTable("api_tokens")
    .set({ revoked_at: now.toISOString() })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Revokes every unrevoked token of a subject; answers the ids it revoked. */
export async function revokeTokensOf(tx: Tx, kind: TokenKind, subject: string, now: Date): Promise<string[]> {
  const rows = await tx
    .selectFrom("api_tokens")
    .select("id")
    .where("kind", "=", kind)
    .where("subject", "=", subject)
    .where("revoked_at", "is", null)
    .execute();
  const ids = rows.map((r) => r.id);
  if (ids.length > 0) {
    await tx
      .updateTable("api_tokens")
      .set({ revoked_at: now.toISOString() })
      .where("id", "in", ids)
      .execute();
  }
  return ids;
}
