/**
 * The step-up challenges table (schema.sql `step_up_challenges`). Every move is a
 * compare-and-set on the status it leaves, so two browsers, two callbacks or two approvals racing
 * on one challenge move it once. Secrets are looked up by their SHA-256 only; the row mapper
 * parses the stored decision once (STYLE.md).
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { z } from "zod";
import { openValue, placeOf, sealValue } from "../crypto/state-cipher.ts";
import type { Database, StepUpChallengesTable } from "./tables.ts";

type Db = Kysely<Database>;

export type StepUpStatus = StepUpChallengesTable["status"];

/** What the approver asked for with the click, kept until the approval is recorded. */
export interface StepUpDecision {
  readonly comment?: string;
  readonly as?: string;
  readonly notBefore?: string;
}

export interface StepUpChallenge {
  readonly id: string;
  readonly requestId: number;
  readonly step: number;
  readonly userId: string;
  readonly oidcSubject: string;
  readonly decision: StepUpDecision;
  readonly status: StepUpStatus;
  readonly stateHash: string | null;
  readonly browserHash: string | null;
  readonly nonce: string | null;
  readonly codeVerifier: string | null;
  readonly authTime: string | null;
  readonly createdAt: string;
  /** The last move; while `redirected`, when the sign-in at the provider was started. */
  readonly updatedAt: string;
  readonly expiresAt: string;
}

const decisionSchema = z.strictObject({
  comment: z.string().optional(),
  as: z.string().optional(),
  notBefore: z.string().optional(),
});

/** SHA-256 hex: how every secret of a challenge is stored and looked up. */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export async function insertStepUpChallenge(
  db: Db,
  c: {
    id: string;
    linkSecret: string;
    requestId: number;
    step: number;
    userId: string;
    oidcSubject: string;
    decision: StepUpDecision;
    now: Date;
    expiresAt: Date;
  },
): Promise<void> {
  const at = c.now.toISOString();
  await db
    .insertInto("step_up_challenges")
    .values({
      id: c.id,
      link_hash: secretHash(c.linkSecret),
      request_id: c.requestId,
      step: c.step,
      user_id: c.userId,
      oidc_subject: c.oidcSubject,
      // The approval's comment: sealed in an encrypted store (crypto/state-cipher.ts).
      decision_json: await sealValue(
        db,
        decisionPlace(c.id),
        JSON.stringify(decisionSchema.parse(c.decision)),
      ),
      status: "issued",
      state_hash: null,
      browser_hash: null,
      nonce: null,
      code_verifier: null,
      auth_time: null,
      created_at: at,
      expires_at: c.expiresAt.toISOString(),
      updated_at: at,
    })
    .execute();
}

export async function findChallengeByLink(db: Db, linkSecret: string): Promise<StepUpChallenge | undefined> {
  const row = await db
    .selectFrom("step_up_challenges")
    .selectAll()
    .where("link_hash", "=", secretHash(linkSecret))
    .executeTakeFirst();
  return row === undefined ? undefined : toChallenge(db, row);
}

export async function findChallengeByState(db: Db, state: string): Promise<StepUpChallenge | undefined> {
  const row = await db
    .selectFrom("step_up_challenges")
    .selectAll()
    .where("state_hash", "=", secretHash(state))
    .executeTakeFirst();
  return row === undefined ? undefined : toChallenge(db, row);
}

export async function findChallenge(db: Db, id: string): Promise<StepUpChallenge | undefined> {
  const row = await db.selectFrom("step_up_challenges").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : toChallenge(db, row);
}

/**
 * The link was opened: a new sign-in attempt replaces any earlier one (its state no longer
 * matches). Only an issued or redirected challenge moves; true when this call moved it.
 */
export async function startSignIn(
  db: Db,
  id: string,
  a: { state: string; browser: string; nonce: string; codeVerifier: string; now: Date },
): Promise<boolean> {
  const r = await db
    .updateTable("step_up_challenges")
    .set({
      status: "redirected",
      state_hash: secretHash(a.state),
      browser_hash: secretHash(a.browser),
      nonce: a.nonce,
      code_verifier: a.codeVerifier,
      updated_at: a.now.toISOString(),
    })
    .where("id", "=", id)
    .where("status", "in", ["issued", "redirected"])
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Moves a challenge from `from` to `to`; true when this call moved it (the compare-and-set). */
export async function moveChallenge(
  db: Db,
  id: string,
  from: StepUpStatus,
  to: StepUpStatus,
  now: Date,
  authTime?: string,
): Promise<boolean> {
  const r = await db
    .updateTable("step_up_challenges")
    .set({
      status: to,
      updated_at: now.toISOString(),
      // Spent once it leaves redirected: the verifier and nonce are of no further use.
      ...(from === "redirected" ? { code_verifier: null, nonce: null } : {}),
      ...(authTime !== undefined ? { auth_time: authTime } : {}),
    })
    .where("id", "=", id)
    .where("status", "=", from)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/**
 * Forgets an approver's earlier challenges for a request that approve nothing (never opened,
 * opened, or refused) as a new one replaces them: each Approve click stores a row, and this keeps
 * one open link per approver and request however often the button is clicked, and the older
 * links dead (a leaked one stops working at the next click). A challenge being checked or already
 * verified is left to finish; their audit events stay in any case.
 */
export async function deleteOpenChallengesOf(db: Db, requestId: number, userId: string): Promise<number> {
  const r = await db
    .deleteFrom("step_up_challenges")
    .where("request_id", "=", requestId)
    .where("user_id", "=", userId)
    .where("status", "in", ["issued", "redirected", "refused"])
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Forgets challenges that expired before `before`: a used or refused one has its audit events,
 * and an expired one can never be used. Called as new ones are made, so the table stays small.
 */
export async function deleteChallengesExpiredBefore(db: Db, before: Date): Promise<void> {
  await db.deleteFrom("step_up_challenges").where("expires_at", "<", before.toISOString()).execute();
}

const decisionPlace = (id: string): string => placeOf("step_up_challenges", "decision_json", id);

function toChallenge(db: Db, r: StepUpChallengesTable): StepUpChallenge {
  return {
    id: r.id,
    requestId: Number(r.request_id),
    step: Number(r.step),
    userId: r.user_id,
    oidcSubject: r.oidc_subject,
    decision: parseDecision(r.id, openValue(db, decisionPlace(r.id), r.decision_json)),
    status: r.status,
    stateHash: r.state_hash,
    browserHash: r.browser_hash,
    nonce: r.nonce,
    codeVerifier: r.code_verifier,
    authTime: r.auth_time,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
  };
}

function parseDecision(id: string, json: string): StepUpDecision {
  const parsed = decisionSchema.safeParse(JSON.parse(json));
  if (!parsed.success) throw new Error(`step-up challenge ${id}: decision_json is not a decision`);
  const d = parsed.data;
  return {
    ...(d.comment !== undefined ? { comment: d.comment } : {}),
    ...(d.as !== undefined ? { as: d.as } : {}),
    ...(d.notBefore !== undefined ? { notBefore: d.notBefore } : {}),
  };
}
