/**
 * Reads are proven, not presumed, at the bot (T-SQL-SMUGGLING): over real HTTP against a real bot,
 * a read that calls something the allowlist cannot prove is never auto-approved, even by a
 * workflow that auto-approves everything; a function trusted by config for one database ×
 * environment stays a read, is shown as trusted, and the trust is audited when the config loads.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseBotConfig } from "../bot/src/config/bot-config.ts";
import type { AuditListView, RequestView } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
workflows:
  - name: everything-auto
    auto_approve: always
sql_review:
  - database: shop
    environment: production
    trusted_functions: [reporting.monthly_revenue]
    setting_ceilings: { memory: 64MB }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
`;

describe("SQL trust and unproven reads at the bot", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(() => h.stop());

  async function create(sql: string, environment = "production"): Promise<{ status: number; body: unknown }> {
    return h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment,
      sql,
      reason: "test",
    });
  }

  test("never auto-approves a read that calls a function the allowlist cannot prove", async () => {
    const res = await create("SELECT my_report(42)");
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.status, "pending_approval");
    assert.equal(view.review.class, "write");
    const finding = view.review.findings.find((f) => f.rule === "unverified_call");
    assert.match(finding?.message ?? "", /my_report\(\)/);
  });

  test("auto-approves a proven read under the same workflow", async () => {
    const res = await create("SELECT lower(owner) FROM accounts");
    assert.equal((res.body as RequestView).status === "pending_approval", false, JSON.stringify(res.body));
    assert.equal((res.body as RequestView).review.class, "read");
  });

  test("keeps a trusted function a read on its database × environment, and says it is trusted", async () => {
    const trusted = (await create("SELECT reporting.monthly_revenue(2026)")).body as RequestView;
    assert.equal(trusted.review.class, "read");
    assert.ok(trusted.review.findings.some((f) => f.rule === "trusted_function"));
    const elsewhere = (await create("SELECT reporting.monthly_revenue(2026)", "staging")).body as RequestView;
    assert.equal(elsewhere.review.class, "write");
    assert.equal(elsewhere.status, "pending_approval");
  });

  test("refuses a memory setting above the database's configured ceiling", async () => {
    const res = await create("SET work_mem = '128MB'; SELECT 1");
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), /ceiling of 64 MB/);
    assert.equal((await create("SET work_mem = '32MB'; SELECT 1")).status, 201);
  });

  test("audits the trust declaration when the config is loaded", async () => {
    const res = await h.call(h.adminToken, "GET", "/api/audit?action=sql.trust_declared");
    const events = (res.body as AuditListView).events;
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.details, {
      declarations: [
        { database: "shop", environment: "production", functions: ["reporting.monthly_revenue"] },
      ],
    });
  });

  test("refuses a config that trusts a never-a-read function or trusts on every database", () => {
    assert.throws(
      () => parseBotConfig(CONFIG.replace("reporting.monthly_revenue", "public.pg_advisory_lock")),
      /cannot be trusted: a function of this name takes or releases an advisory lock/,
    );
    assert.throws(
      () => parseBotConfig(CONFIG.replace("reporting.monthly_revenue", "pg_catalog.lower")),
      /pg_catalog holds built-ins/,
    );
    assert.throws(
      () =>
        parseBotConfig(
          CONFIG.replace(
            "database: shop\n    environment: production",
            "database: '*'\n    environment: production",
          ),
        ),
      /trusted_functions needs a named database and environment/,
    );
  });
});
