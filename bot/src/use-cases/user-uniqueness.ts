/**
 * A Slack id and an OIDC subject each belong to one user at most. Checked inside the writing
 * transaction, so a refusal names who holds the value instead of failing on the unique index.
 */
import { DbwardError } from "@dbward/shared";
import { userIdFrom } from "../identity/user-input.ts";
import type { Tx } from "../store/in-transaction.ts";
import { findOtherUserWithLink, isUserIdTaken } from "../store/users-repo.ts";

export async function assertUniqueLinks(
  tx: Tx,
  id: string,
  links: { readonly slack_user_id?: string | null; readonly oidc_subject?: string | null },
): Promise<void> {
  if (links.slack_user_id != null) {
    const holder = await findOtherUserWithLink(tx, "slack_user_id", links.slack_user_id, id);
    if (holder !== undefined)
      throw new DbwardError(
        "user.exists",
        `Slack user ${links.slack_user_id} is already linked to ${holder}`,
      );
  }
  if (links.oidc_subject != null) {
    const holder = await findOtherUserWithLink(tx, "oidc_subject", links.oidc_subject, id);
    if (holder !== undefined)
      throw new DbwardError("user.exists", `that identity provider subject is already linked to ${holder}`);
  }
}

/** The first id made from the candidates that no user has yet (`ada`, then `ada-2` … `ada-9`). */
export async function freeUserId(tx: Tx, candidates: readonly string[]): Promise<string | undefined> {
  for (const text of candidates) {
    const base = userIdFrom(text);
    if (base === undefined) continue;
    for (const id of [base, ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${base.slice(0, 60)}-${n}`)]) {
      if (!(await isUserIdTaken(tx, id))) return id;
    }
  }
  return undefined;
}
