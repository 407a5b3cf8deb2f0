/**
 * The column masks a request's execution token carries (core/column-masks.ts), read inside the
 * claim's transaction: the requester's roles and groups as they are now (a role lost since the
 * approval masks again; a requester gone from the store has none, so every policy masks) and
 * the target's latest schema context.
 */
import type { SignedMask } from "@dbward/shared";
import type { BotConfig } from "../config/bot-config.ts";
import { masksToSign, policiesFor } from "../core/column-masks.ts";
import { findUser } from "../identity/users.ts";
import type { Tx } from "../store/in-transaction.ts";
import type { RequestRecord } from "../store/requests-repo.ts";
import { findSchemaContext } from "../store/schema-contexts-repo.ts";

export async function requestMasks(
  tx: Tx,
  config: BotConfig,
  request: RequestRecord,
): Promise<SignedMask[] | undefined> {
  const db = config.databases.find((d) => d.name === request.database);
  // No policy for the target: nothing to look up (the common case costs no query).
  if (db === undefined || policiesFor(config.masking.policies, db.name, request.environment).length === 0)
    return undefined;
  const user = await findUser(tx, request.requester);
  const schema = await findSchemaContext(tx, request.database, request.environment);
  return masksToSign({
    policies: config.masking.policies,
    database: db.name,
    environment: request.environment,
    dialect: db.dialect,
    sql: request.sql,
    requester: { roles: user?.roles ?? [], groups: user?.groups ?? [] },
    schema: schema?.tables,
  });
}
