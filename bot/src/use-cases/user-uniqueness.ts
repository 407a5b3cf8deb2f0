/**
 * A Slack id and an OIDC subject each belong to one user at most. Checked inside the writing
 * transaction, so a refusal names who holds the value instead of failing on the unique index.
 */
import { DbwardError } from "@dbward/shared";
import { userIdFrom } from "../identity/user-input.ts";
import type { Tx } from "../store/in-transaction.ts";

export async function assertUniqueLinks(
  tx: Tx,
  id: string,
  links: { readonly slack_user_id?: string | null; readonly oidc_subject?: string | null },
): Promise<void> {
  if (links.slack_user_id != null) {
    const holder = await tx
      .selectFrom("users")
      .select("id")
      .where("slack_user_id", "=", links.slack_user_id)
      .where("id", "!=", id)
      .executeTakeFirst();
    if (holder !== undefined)
      throw new DbwardError(
        "user.exists",
        `Slack user ${links.slack_user_id} is already linked to ${holder.id}`,
      );
  }
  if (links.oidc_subject != null) {
    const holder = await tx
      .selectFrom("users")
      .select("id")
      .where("oidc_subject", "=", links.oidc_subject)
      .where("id", "!=", id)
      .executeTakeFirst();
    if (holder !== undefined)
      throw new DbwardError(
        "user.exists",
        `that identity provider subject is already linked to ${holder.id}`,
      );
  }
}

/** The first id made from the candidates that no user has yet (`ada`, then `ada-2` … `ada-9`). */
export async function freeUserId(tx: Tx, candidates: readonly string[]): Promise<string | undefined> {
  for (const text of candidates) {
    const base = userIdFrom(text);
    if (base === undefined) continue;
    for (const id of [base, ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${base.slice(0, 60)}-${n}`)]) {
      const taken = await tx.selectFrom("users").select("id").where("id", "=", id).executeTakeFirst();
      if (taken === undefined) return id;
    }
  }
  return undefined;
}
