/**
 * Every refusal path of the job runner (token tampering, T-REPLAY, capabilities, review), with real
 * tokens signed by shared's `signExecutionToken`: the statement must not run, and a refused
 * token's id must not be spent.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { initSqlReview, type ClaimResponse } from "@dbward/shared";
import { assertRefused, jobFixture as setup, type JobFixture } from "../../test/support/agent/job-fixture.ts";
import { generateSigningKey, NOW_MS, signedClaim } from "../../test/support/agent/unit-helpers.ts";

before(() => initSqlReview());

describe("token tampering and capabilities: runJob refuses and runs nothing", () => {
  async function refused(s: JobFixture, claim: ClaimResponse, code: string): Promise<void> {
    assertRefused((await s.run(claim)).body, code);
    assert.deepEqual(s.executed, [], "nothing was executed");
    assert.equal(s.ledgerSize(), 0, "the token id was not spent");
  }

  test("refuses a token whose payload was altered after signing", async (t) => {
    const s = setup(t);
    const claim = s.claim();
    const [h, p, sig] = claim.token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, op: "write" })).toString("base64url");
    await refused(s, { ...claim, token: `${h}.${forged}.${sig}` }, "token.bad_signature");
  });

  test("refuses a token whose signature was altered", async (t) => {
    const s = setup(t);
    const claim = s.claim();
    const last = claim.token.at(-2) === "A" ? "B" : "A";
    await refused(
      s,
      { ...claim, token: `${claim.token.slice(0, -2)}${last}${claim.token.at(-1) ?? ""}` },
      "token.bad_signature",
    );
  });

  test("refuses SQL that differs from the signed SQL by one byte", async (t) => {
    const s = setup(t);
    const claim = s.claim({ sql: "SELECT id FROM items WHERE id = 1" });
    await refused(s, { ...claim, sql: "SELECT id FROM items WHERE id = 2" }, "token.sql_mismatch");
  });

  test("refuses a token signed with a key this agent has not pinned", async (t) => {
    const s = setup(t);
    const stranger = generateSigningKey();
    const claim = signedClaim(stranger, {
      sql: "SELECT 1",
      database: "app",
      environment: "production",
      operation: "read",
    });
    await refused(s, claim, "token.unknown_key");
  });

  test("refuses an expired token", async (t) => {
    const s = setup(t);
    const claim = s.claim({ iat: NOW_MS / 1000 - 400, exp: NOW_MS / 1000 - 100 });
    await refused(s, claim, "token.expired");
  });

  test("refuses a token once the clock passes its expiry", async (t) => {
    const s = setup(t);
    const claim = s.claim();
    s.clock.set(NOW_MS + 301_000);
    await refused(s, claim, "token.expired");
  });

  test("refuses a token issued to another agent", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ agent: "agent-two" }), "token.agent_mismatch");
  });

  test("refuses a token for a database this agent does not have", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ database: "billing" }), "token.capability");
  });

  test("refuses a token for an environment this agent does not serve", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ environment: "staging" }), "token.capability");
  });

  test("refuses a token for an operation the database's capability list lacks", async (t) => {
    const s = setup(t);
    await refused(
      s,
      s.claim({ database: "reports", sql: "UPDATE items SET name = 'x'", operation: "write" }),
      "token.capability",
    );
  });

  test("refuses a job whose database differs from its token's, though both are configured", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ database: "reports" }, { database: "app" }), "token.capability");
  });

  test("refuses a job whose request id differs from its token's", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ request_id: 8 }, { request_id: 9 }), "token.capability");
  });

  test("refuses a write under a token that says read, whatever the token says", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ sql: "UPDATE items SET name = 'x'", operation: "read" }), "sql.rejected");
  });

  test("refuses SQL whose reviewed class the database does not allow", async (t) => {
    const s = setup(t);
    await refused(
      s,
      s.claim({ database: "writer", sql: "SELECT id FROM items", operation: "write" }),
      "token.capability",
    );
  });

  test("refuses SQL the reviewer rejects", async (t) => {
    const s = setup(t);
    await refused(s, s.claim({ sql: "SELECT 1\0" }), "sql.rejected");
  });
});

describe("T-REPLAY: runJob refuses a token id it has executed", () => {
  test("refuses the same token a second time and runs the statement once", async (t) => {
    const s = setup(t);
    const claim = s.claim();
    assert.equal((await s.run(claim)).body.outcome, "succeeded");
    assertRefused((await s.run(claim)).body, "token.replayed");
    assert.equal(s.executed.length, 1);
  });

  test("refuses a new token that reuses an executed token id", async (t) => {
    const s = setup(t);
    await s.run(s.claim({ jti: "same-id" }));
    assertRefused((await s.run(s.claim({ jti: "same-id", request_id: 99 }))).body, "token.replayed");
  });

  test("refuses a replayed token after the ledger is reloaded from its file", async (t) => {
    const s = setup(t);
    const claim = s.claim();
    await s.run(claim);
    s.reopenLedger();
    assertRefused((await s.run(claim)).body, "token.replayed");
    assert.equal(s.executed.length, 1);
  });

  test("never re-runs a token whose first execution failed", async (t) => {
    const s = setup(t);
    const claim = s.claim({ sql: "SELECT id FROM missing" });
    assert.equal((await s.run(claim)).body.outcome, "failed");
    assertRefused((await s.run(claim)).body, "token.replayed");
  });
});
