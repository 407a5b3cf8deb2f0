/**
 * Every column of a request's story that can quote SQL, values or what people wrote is sealed in
 * an encrypted store (crypto/state-cipher.ts), on both engines: the raw row holds only sealed
 * values, the repositories read them back in the clear, and a sealed value put into another
 * column or row is refused there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { RequestId, SqlReview } from "@dbward/shared";
import { kekFromEnvironment } from "../crypto/key-encryption-key.ts";
import { isSealedText } from "../crypto/sealed-value.ts";
import { unlockStateStore } from "../crypto/unlock-state-store.ts";
import { loadEvent } from "../webhooks/webhook-event.ts";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import { insertExecution, recordExecutionEnd } from "./executions-repo.ts";
import { inTransaction } from "./in-transaction.ts";
import type { Store } from "./open-store.ts";
import {
  claimPreflightRow,
  finishPreflightRow,
  findPlanJson,
  insertPreflight,
  listPreflights,
} from "./preflights-repo.ts";
import {
  casRequestStatus,
  findExecution,
  findRequest,
  insertApproval,
  insertRequest,
  listApprovals,
} from "./requests-repo.ts";

const AT = "2030-01-01T12:00:00.000Z";
const env = { DBWARD_STATE_KEY: randomBytes(32).toString("base64") };
const REVIEW = {
  risk: "low",
  findings: [{ rule: "r", message: "quotes 'lit-review'" }],
} as unknown as SqlReview;

async function storyIn(store: Store): Promise<RequestId> {
  return inTransaction(store, async (tx) => {
    const id = await insertRequest(tx, {
      requester: "alice",
      database: "shop",
      environment: "production",
      operation: "write",
      sql: "UPDATE t SET v = 'lit-sql'",
      sqlSha256: "x",
      reason: "lit-reason",
      review: REVIEW,
      workflow: {
        name: "w",
        auto_approve: "never",
        steps: [],
        allow_self_approval: false,
        allow_same_approver_across_steps: false,
        break_glass_roles: [],
      },
      limits: { statement_timeout_ms: 1000, row_cap: 10, max_executions: null },
      breakGlassReason: "lit-glass",
      createdAt: AT,
      expiresAt: AT,
      rerunOf: null,
    });
    await casRequestStatus(tx, id, "pending_approval", "approved", {
      statusReason: "lit-status",
      updatedAt: AT,
    });
    await insertApproval(tx, id, {
      approver: "bob",
      step: 0,
      selector: "role:approver",
      decision: "approved",
      comment: "lit-comment",
      createdAt: AT,
    });
    const job = `${id}-1`;
    await insertExecution(tx, {
      id: job,
      requestId: id,
      number: 1,
      agentId: "agent-1",
      tokenId: `t-${id}`,
      claimedAt: AT,
      leaseExpiresAt: AT,
    });
    await recordExecutionEnd(tx, job, {
      status: "failed",
      finishedAt: AT,
      durationMs: 1,
      rowCount: null,
      affectedRows: null,
      resultJson: '[{"v":"lit-preview"}]',
      resultChunks: null,
      resultBytes: null,
      resultTruncatedBy: null,
      resultExpiresAt: null,
      errorCode: "db.error",
      errorMessage: "duplicate key (v)=(lit-error)",
    });
    await insertPreflight(tx, id, "explain", AT);
    const pre = `${id}-explain`;
    await claimPreflightRow(tx, pre, {
      agentId: "agent-1",
      tokenId: `p-${id}`,
      claimedAt: AT,
      leaseExpiresAt: AT,
    });
    await finishPreflightRow(tx, pre, "agent-1", {
      status: "failed",
      finishedAt: AT,
      durationMs: 1,
      planJson: '{"Filter":"(v = \'lit-plan\')"}',
      error: { code: "plan.failed", message: "near 'lit-plan-error'" },
    });
    return id;
  });
}

describeEachStoreDialect(
  "sealed columns of an encrypted store",
  (opened) => {
    test("every text of a request, its approval, execution and plan is sealed in the row and reads back clear", async () => {
      const store = await unlockStateStore(opened(), kekFromEnvironment(env), new Date(AT));
      const id = await storyIn(store);
      const raw = JSON.stringify([
        await opened().selectFrom("requests").selectAll().execute(),
        await opened().selectFrom("approvals").selectAll().execute(),
        await opened().selectFrom("executions").selectAll().execute(),
        await opened().selectFrom("preflights").selectAll().execute(),
      ]);
      assert.equal(/lit-/.test(raw), false, raw);
      const row = await opened()
        .selectFrom("requests")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      for (const v of [row.sql_text, row.reason, row.review_json, row.break_glass_reason, row.status_reason])
        assert.ok(v !== null && isSealedText(v));

      const request = await findRequest(store, id);
      assert.equal(request?.sql, "UPDATE t SET v = 'lit-sql'");
      assert.equal(request?.reason, "lit-reason");
      assert.deepEqual(request?.review, REVIEW);
      assert.equal(request?.breakGlassReason, "lit-glass");
      assert.equal(request?.statusReason, "lit-status");
      assert.equal((await listApprovals(store, id))[0]?.comment, "lit-comment");
      const exe = await findExecution(store, `${id}-1`);
      assert.equal(exe?.result_json, '[{"v":"lit-preview"}]');
      assert.equal(exe?.error_message, "duplicate key (v)=(lit-error)");
      assert.equal(await findPlanJson(store, `${id}-explain`), '{"Filter":"(v = \'lit-plan\')"}');
      assert.equal((await listPreflights(store, id))[0]?.error?.message, "near 'lit-plan-error'");
      // Webhooks read the SQL to redact its literals: they get the clear text, not the sealed one.
      const event = await loadEvent(store, {
        seq: 1,
        time: AT,
        actor: "user:alice",
        action: "request.created",
        target: `request:${id}`,
      });
      assert.equal(event?.request.sqlText, "UPDATE t SET v = 'lit-sql'");
    });

    test("a sealed value moved to another column or another request is refused, naming where", async () => {
      const store = await unlockStateStore(opened(), kekFromEnvironment(env), new Date(AT));
      const a = await storyIn(store);
      const b = await storyIn(store);
      const ofA = await opened()
        .selectFrom("requests")
        .selectAll()
        .where("id", "=", a)
        .executeTakeFirstOrThrow();
      await opened().updateTable("requests").set({ sql_text: ofA.reason }).where("id", "=", a).execute();
      await assert.rejects(
        () => findRequest(store, a),
        new RegExp(`state\\.undecryptable: .*requests\\.sql_text:${a}`),
      );
      await opened().updateTable("requests").set({ reason: ofA.reason }).where("id", "=", b).execute();
      await assert.rejects(() => findRequest(store, b), new RegExp(`requests\\.reason:${b} does not open`));
    });
  },
  { freshStoreEachTest: true },
);
