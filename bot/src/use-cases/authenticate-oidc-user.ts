/**
 * Who is behind a bearer JWT from the identity provider. The token is verified first (signature,
 * issuer, audience, expiry: oidc-verifier.ts); then the subject is looked up. A user the provider
 * created just in time (`source: oidc`) gets the roles and groups of the group mappings on every
 * sign-in, so a change at the provider lands on the next call. A subject dbward has not seen is
 * created with the mapped roles when `jit: create`, or refused. An existing user of another
 * source is never taken over by name: an admin links it (`oidc_subject`).
 *
 * Every refusal is audited; token problems all answer the same 401 (SECURITY.md: forged token).
 */
import { DbwardError } from "@dbward/shared";
import { appendAudit } from "../audit/audit-log.ts";
import type { OidcConfig } from "../config/bot-config.ts";
import { profileFromClaims, type OidcProfile } from "../identity/oidc-claims.ts";
import { userIdFrom } from "../identity/user-input.ts";
import {
  changedFields,
  findUser,
  findUserByOidcSubject,
  insertUser,
  listColumn,
  type User,
  type UserFields,
} from "../identity/users.ts";
import { inTransaction, type Tx } from "../store/in-transaction.ts";
import { findUserRow, updateUserProfile } from "../store/users-repo.ts";
import type { BotContext } from "./bot-context.ts";
import { recordAuthFailure } from "./record-auth-failure.ts";
import { userCaller, type UserCaller } from "./caller.ts";

export interface CallSite {
  readonly path: string;
  readonly ip: string | null;
}

type Resolution = { readonly user: User } | { readonly refused: string; readonly message: string };

export async function authenticateOidcUser(
  ctx: BotContext,
  token: string,
  site: CallSite,
): Promise<UserCaller> {
  const cfg = ctx.config().oidc;
  const verdict = ctx.oidc === undefined || cfg === undefined ? undefined : await ctx.oidc.verify(token);
  if (verdict === undefined || !verdict.ok) {
    const why = verdict?.why ?? "oidc_not_configured";
    await audit(ctx, "anonymous", { kind: "oidc", why, detail: verdict?.detail ?? null, ...site });
    throw new DbwardError("auth.invalid", "authentication required: send a valid bearer token");
  }
  const profile = profileFromClaims(verdict.claims, cfg as OidcConfig);
  const resolution = await inTransaction(ctx.store, (tx) =>
    resolveUser(ctx, tx, cfg as OidcConfig, verdict.subject, profile),
  );
  if ("refused" in resolution) {
    await audit(ctx, "anonymous", {
      kind: "oidc",
      why: resolution.refused,
      oidc_subject: verdict.subject,
      username: profile.username ?? null,
      idp_groups: [...profile.idpGroups],
      ...site,
    });
    throw new DbwardError("auth.forbidden", resolution.message);
  }
  const { user } = resolution;
  if (user.status !== "active") {
    await audit(ctx, `user:${user.id}`, { kind: "oidc", why: "suspended", ...site });
    throw new DbwardError("auth.suspended", "your dbward account is suspended; ask an admin");
  }
  const authTime = verdict.claims.auth_time;
  // Kept for step-up approvals (step-up-evidence.ts): a fresh `dbward login` may approve.
  const signedInAt = typeof authTime === "number" ? { authTime: new Date(authTime * 1000) } : {};
  return { ...userCaller(ctx, user, "oidc"), ...signedInAt };
}

async function resolveUser(
  ctx: BotContext,
  tx: Tx,
  cfg: OidcConfig,
  subject: string,
  p: OidcProfile,
): Promise<Resolution> {
  const now = ctx.clock.now();
  const known = await findUserByOidcSubject(tx, subject);
  if (known !== undefined)
    return { user: known.source === "oidc" ? await syncFromProvider(tx, known, p, now) : known };
  if (cfg.jit === "refuse")
    return { refused: "not_enrolled", message: "you are not a dbward user yet; ask an admin to add you" };
  if (p.roles.length === 0)
    return {
      refused: "no_mapped_role",
      message: "none of your identity provider groups grants a dbward role",
    };
  const id = userIdFrom(p.username ?? p.email?.split("@")[0] ?? "");
  if (id === undefined)
    return {
      refused: "no_usable_username",
      message: "your identity provider sends no usable user name; ask an admin",
    };
  if ((await findUser(tx, id)) !== undefined) {
    // Never take over an existing account by name: that needs an admin's explicit link.
    return {
      refused: "id_taken",
      message: `dbward user ${id} exists but is not linked to you; ask an admin to link it`,
    };
  }
  const fields: UserFields = { ...profileFields(p), slack_user_id: null, oidc_subject: subject };
  await insertUser(tx, { id, source: "oidc", fields, now });
  await appendAudit(
    tx,
    {
      actor: "system",
      action: "user.created",
      target: `user:${id}`,
      outcome: "success",
      details: { source: "oidc", jit: true, ...fields, idp_groups: [...p.idpGroups] },
    },
    now,
  );
  const created = await findUser(tx, id);
  if (created === undefined) throw new DbwardError("internal", `user ${id} vanished after it was created`);
  return { user: created };
}

/** The provider owns a just-in-time user's profile, roles and groups: refresh them when they moved. */
async function syncFromProvider(tx: Tx, user: User, p: OidcProfile, now: Date): Promise<User> {
  const row = await findUserRow(tx, user.id);
  if (row === undefined) throw new DbwardError("internal", `user ${user.id} vanished while signing in`);
  const wanted = profileFields(p);
  const changed = changedFields(row, wanted);
  if (changed.length === 0) return user;
  await updateUserProfile(tx, user.id, wanted, now);
  await appendAudit(
    tx,
    {
      actor: "system",
      action: "user.updated",
      target: `user:${user.id}`,
      outcome: "success",
      details: {
        source: "oidc",
        changed,
        before: Object.fromEntries(changed.map((k) => [k, row[k]])),
        after: wanted,
      },
    },
    now,
  );
  return (await findUser(tx, user.id)) ?? user;
}

function profileFields(p: OidcProfile): Pick<UserFields, "display_name" | "email" | "roles" | "groups_json"> {
  return {
    display_name: p.name,
    email: p.email,
    roles: listColumn(p.roles),
    groups_json: listColumn(p.groups),
  };
}

function audit(ctx: BotContext, actor: string, details: Record<string, unknown>): Promise<void> {
  return recordAuthFailure(ctx, { actor, details });
}
