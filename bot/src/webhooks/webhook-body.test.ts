import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, sha256Hex } from "@dbward/shared";
import { WEBHOOK_EVENTS } from "../config/webhooks-config.ts";
import { EVENT_FOR_ACTION, webhookBody, type RequestFacts } from "./webhook-body.ts";

const AUDIT = { seq: 42, time: "2024-05-01T12:00:00.000Z", actor: "user:bob", action: "request.approved" };

function facts(sqlText: string): RequestFacts {
  return {
    id: 7,
    database: "shop",
    environment: "production",
    operation: "write",
    requester: "alice",
    sqlText,
    sqlSha256: sha256Hex(sqlText),
  };
}

describe("webhook bodies", () => {
  before(async () => initSqlReview());

  test("carry the event, the audit sequence and the request with its SQL redacted", () => {
    const sql = "UPDATE customers SET email = 'ada@example.com', credit = 1200 WHERE id = 31337";
    const body = webhookBody("request.approved", AUDIT, facts(sql), "postgres");
    assert.deepEqual(body, {
      type: "request.approved",
      version: 1,
      audit_seq: 42,
      occurred_at: AUDIT.time,
      actor: "user:bob",
      action: "request.approved",
      request: {
        id: 7,
        database: "shop",
        environment: "production",
        operation: "write",
        requester: "alice",
        sql_redacted: "UPDATE customers SET email = ?, credit = ? WHERE id = ?",
        sql_sha256: sha256Hex(sql),
      },
    });
  });

  test("show invisible characters left in the redacted SQL escaped, in any dialect", () => {
    for (const [dialect, sql] of [
      ["postgres", 'UPDATE "orders\u202e" SET a = 1 WHERE id = 2'],
      ["mysql", "UPDATE `orders\u202e` SET a = 1 WHERE id = 2"],
      ["sqlite", "UPDATE `orders\u202e` SET a = 1 WHERE id = 2"],
    ] as const) {
      const body = webhookBody("request.created", AUDIT, facts(sql), dialect);
      assert.match(body.request.sql_redacted, /orders⟨U\+202E⟩/, dialect);
      assert.ok(!body.request.sql_redacted.includes("\u202e"), dialect);
      assert.equal(body.request.sql_sha256, sha256Hex(sql), "the hash is of the text as stored");
    }
  });

  test("leave no literal of the SQL in the body, in any dialect", () => {
    const literals = ["ada@example.com", "1200", "31337", "s3cr3t"];
    for (const [dialect, sql] of [
      ["postgres", "UPDATE t SET a = 'ada@example.com', b = 1200 WHERE id = 31337 -- s3cr3t"],
      ["mysql", 'UPDATE t SET a = "ada@example.com", b = 1200 WHERE id = 31337 /* s3cr3t */'],
      ["sqlite", "UPDATE t SET a = 'ada@example.com', b = 1200 WHERE id = 31337"],
    ] as const) {
      const text = JSON.stringify(webhookBody("request.created", AUDIT, facts(sql), dialect));
      for (const literal of literals)
        assert.ok(!text.includes(literal), `${dialect}: ${literal} leaked in ${text}`);
    }
  });

  test("send only the SHA-256 of SQL that cannot be parsed, or whose database left the config", () => {
    const broken = "UPDATE t SET a = 'ada@example.com' WHERE (((";
    const unparsed = webhookBody("request.created", AUDIT, facts(broken), "postgres");
    assert.equal(unparsed.request.sql_redacted, `sha256:${sha256Hex(broken)}`);
    const sql = "DELETE FROM t WHERE id = 5";
    const unknown = webhookBody("request.created", AUDIT, facts(sql), undefined);
    assert.equal(unknown.request.sql_redacted, `sha256:${sha256Hex(sql)}`);
  });

  test("map every webhook event from at least one audit action, and nothing from partial steps", () => {
    assert.deepEqual(new Set(EVENT_FOR_ACTION.values()), new Set(WEBHOOK_EVENTS));
    for (const action of [
      "request.approval_recorded",
      "request.dispatched",
      "request.claimed",
      "request.cancelled",
      "auth.failed",
      "constructor",
    ]) {
      assert.equal(EVENT_FOR_ACTION.get(action), undefined, action);
    }
    assert.equal(EVENT_FOR_ACTION.get("request.timed_out"), "request.failed");
    assert.equal(EVENT_FOR_ACTION.get("request.auto_approved"), "request.approved");
  });
});
