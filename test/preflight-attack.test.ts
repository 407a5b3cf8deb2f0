/**
 * Attacks on plans for approvers (preflights): tokens of one purpose used for the other, agents
 * without the capability or the claim, plans read by people who may not see the request, hostile
 * plan bodies (huge, deeply nested, non-finite numbers, invisible characters), bodies before
 * authentication, statements that must never be planned, a plan reported after the decision,
 * and a plan connection killed while idle. Against the real bot, the real agent and the real
 * PostgreSQL and MariaDB.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import {
  sha256Hex,
  signExecutionTokenWith,
  summarizePlan,
  verifyExecutionToken,
  type ClaimResponse,
  type ExecutionClaims,
  type ErrorBody,
  type PollResponse,
  type PreflightClaimResponse,
  type PreflightView,
  type RequestView,
} from "@dbward/shared";
import mysql from "mysql2/promise";
import pg from "pg";
import { planLine } from "../bot/src/slack/views/approval-message.ts";
import { main } from "../cli/src/main.ts";
import { MARIADB_URL, PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";
import { waitFor } from "./support/wait.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: legacy
    dialect: mysql
    environments: [production]
workflows:
  - name: everything-approved
    steps:
      - approvers: ["role:approver"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: eve, name: Eve, roles: [requester] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
  - id: agent-2
http:
  rate_limits:
    request_create: { burst: 1000, per_minute: 100000 }
`;

const ALL = ["read", "write", "ddl"];
const CAPS = [
  { database: "shop", environment: "production", operations: ALL },
  { database: "shop", environment: "staging", operations: ALL },
  { database: "legacy", environment: "production", operations: ALL },
];
const BIDI = "\u202E";
const pgPlan = (relation: string, extra: Record<string, unknown> = {}) => [
  {
    Plan: {
      "Node Type": "Seq Scan",
      "Relation Name": relation,
      Schema: "public",
      "Total Cost": 10,
      "Plan Rows": 100,
      ...extra,
    },
  },
];

describe("preflight attacks on the bot's API (a hostile agent over HTTP)", () => {
  let h: BotHarness;
  let n = 0;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  const agent = (id = "agent-1") => h.agentTokens[id] ?? "";
  async function create(sql: string, user = "alice", database = "shop", environment = "production") {
    const res = await h.call(await h.tokenFor(user), "POST", "/api/requests", {
      database,
      environment,
      sql: `${sql} /* attack ${++n} */`,
      reason: "preflight attack",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  async function view(id: number): Promise<RequestView> {
    return (await h.call(await h.tokenFor("carol"), "GET", `/api/requests/${id}`)).body as RequestView;
  }
  async function poll(caps: unknown, id = "agent-1"): Promise<PollResponse> {
    const res = await h.call(agent(id), "POST", "/api/agent/poll", {
      capabilities: caps,
      wait_ms: 0,
      preflights: ["explain"],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PollResponse;
  }
  async function claim(requestId: number, id = "agent-1"): Promise<PreflightClaimResponse> {
    await poll(CAPS, id);
    const res = await h.call(agent(id), "POST", `/api/agent/preflights/${requestId}-explain/claim`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PreflightClaimResponse;
  }
  const report = (preflightId: string, body: unknown, id = "agent-1") =>
    h.call(agent(id), "POST", `/api/agent/preflights/${preflightId}/result`, body);
  const keys = () => new Map([[h.bot.signingKey.kid, h.bot.signingKey]]);

  test("a plan token never verifies as an execution token, and an execution token never as a plan token", async () => {
    const write = await create("UPDATE orders SET state = 'a' WHERE id > 0");
    const claimed = await claim(write.id);
    const check = (token: string, sql: string, purpose: "execute" | "explain") =>
      verifyExecutionToken(token, {
        keys: keys(),
        now: Math.floor(Date.now() / 1000),
        sql,
        agentId: "agent-1",
        purpose,
        allows: () => true,
      });
    assert.equal(check(claimed.token, claimed.sql, "explain").ok, true, "the plan token is good for a plan");
    const asExecution = check(claimed.token, claimed.sql, "execute");
    assert.equal(asExecution.ok, false);
    assert.equal(!asExecution.ok && asExecution.code, "token.purpose_mismatch");

    // The request is approved and dispatched: its execution token must not make a plan.
    const approved = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${write.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const offer = (await poll(CAPS)).jobs.find((j) => j.request_id === write.id);
    assert.ok(offer !== undefined, "the approved request is offered as a job");
    const job = await h.call(agent(), "POST", `/api/agent/jobs/${offer.job_id}/claim`, {});
    assert.equal(job.status, 200, JSON.stringify(job.body));
    const exe = job.body as ClaimResponse;
    const asPlan = check(exe.token, exe.sql, "explain");
    assert.equal(asPlan.ok, false);
    assert.equal(!asPlan.ok && asPlan.code, "token.purpose_mismatch");
    // The preflight claimed before the approval cannot be claimed again through the job.
    const again = await h.call(agent(), "POST", `/api/agent/preflights/${write.id}-explain/claim`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
  });

  test("an agent without the capability can neither claim a plan nor report one", async () => {
    const write = await create("DELETE FROM orders WHERE id = 1");
    const readOnly = [{ database: "shop", environment: "production", operations: ["read"] }];
    const offered = await poll(readOnly, "agent-2");
    assert.ok(!(offered.preflights ?? []).some((o) => o.request_id === write.id), "not offered");
    const res = await h.call(agent("agent-2"), "POST", `/api/agent/preflights/${write.id}-explain/claim`, {});
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal((res.body as ErrorBody).error.code, "auth.forbidden");
    assert.equal((await view(write.id)).preflights[0]?.status, "pending");
    const rep = await report(
      `${write.id}-explain`,
      { outcome: "succeeded", duration_ms: 1, engine: "postgres", plan: pgPlan("orders") },
      "agent-2",
    );
    assert.equal(rep.status, 409, JSON.stringify(rep.body));
    assert.equal((await view(write.id)).preflights[0]?.status, "pending");
  });

  test("a second agent can overwrite neither a running nor a finished plan", async () => {
    const write = await create("UPDATE orders SET state = 'b' WHERE id > 0");
    const claimed = await claim(write.id);
    await poll(CAPS, "agent-2");
    const forged = { outcome: "succeeded", duration_ms: 1, engine: "postgres", plan: pgPlan("forged") };
    assert.equal((await report(claimed.preflight_id, forged, "agent-2")).status, 409);
    const good = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 2,
      engine: "postgres",
      plan: pgPlan("orders"),
    });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal((await report(claimed.preflight_id, forged, "agent-2")).status, 409);
    assert.equal((await report(claimed.preflight_id, forged)).status, 409, "not even by its own agent");
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.summary?.sequential_scans[0]?.relation, "public.orders");
  });

  test("a request's plan is hidden from a requester who may not see the request, as the request is", async () => {
    const write = await create("UPDATE orders SET state = 'c' WHERE id > 0");
    const claimed = await claim(write.id);
    await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan: pgPlan("orders"),
    });
    const eve = await h.tokenFor("eve");
    const req = await h.call(eve, "GET", `/api/requests/${write.id}`);
    const plan = await h.call(eve, "GET", `/api/requests/${write.id}/plan`);
    assert.equal(req.status, 404);
    assert.equal(plan.status, 404, JSON.stringify(plan.body));
    assert.deepEqual(plan.body, req.body, "the same answer as for the request itself");
    const mine = await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${write.id}/plan`);
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const none = await h.call(eve, "GET", `/api/requests/999999/plan`);
    assert.equal(none.status, 404);
    assert.equal((none.body as ErrorBody).error.code, "request.not_found");
  });

  test("a plan reported after the request was approved is kept, and changes nothing of the request", async () => {
    const write = await create("UPDATE orders SET state = 'd' WHERE id > 0");
    const claimed = await claim(write.id);
    const approved = await h.call(await h.tokenFor("carol"), "POST", `/api/requests/${write.id}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const before = await view(write.id);
    const res = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan: pgPlan("orders"),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = await view(write.id);
    assert.equal(after.status, before.status);
    assert.deepEqual(after.executions, before.executions);
    assert.equal(after.preflights[0]?.status, "succeeded");
  });

  test("a cancelled request's plan is no longer offered nor claimable", async () => {
    const write = await create("UPDATE orders SET state = 'e' WHERE id > 0");
    const cancelled = await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${write.id}/cancel`, {
      reason: "not needed",
    });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.ok(!((await poll(CAPS)).preflights ?? []).some((o) => o.request_id === write.id));
    const res = await h.call(agent(), "POST", `/api/agent/preflights/${write.id}-explain/claim`, {});
    assert.equal(res.status, 409, JSON.stringify(res.body));
  });

  test("refuses a 20 MB plan body from an unauthenticated client before reading it, declared or chunked", async () => {
    const path = "/api/agent/preflights/1-explain/result";
    const declared = await rawPost(h.url, path, { "content-length": String(20 * 1024 * 1024) }, 0);
    assert.equal(declared.status, 413);
    const chunked = await rawPost(h.url, path, { "transfer-encoding": "chunked" }, 20 * 1024 * 1024);
    assert.equal(chunked.status, 401, "refused on its headers");
    assert.ok(chunked.sent < 20 * 1024 * 1024, `the bot stopped it early (${chunked.sent} bytes sent)`);
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
  });

  test("summarizePlan never throws on hostile plans", () => {
    const deep = (depth: number, make: (inner: unknown) => unknown) => {
      let v: unknown = {};
      for (let i = 0; i < depth; i += 1) v = make(v);
      return v;
    };
    const hostile: unknown[] = [
      null,
      42,
      "plan",
      [],
      [null],
      [{ Plan: null }],
      [{ Plan: { "Node Type": 1, Plans: "x", "Total Cost": "NaN" } }],
      [{ Plan: { "Node Type": "Seq Scan", "Total Cost": 1e308, Plans: [{ "Total Cost": -1e308 }] } }],
      deep(200_000, (inner) => [{ Plan: { "Node Type": "Seq Scan", Plans: [inner] } }]),
      deep(200_000, (inner) => ({ query_block: inner, table: { table_name: "t", access_type: "ALL" } })),
      { query_block: { nested_loop: Array.from({ length: 50_000 }, () => ({ table: { rows: "1e300" } })) } },
      { query_block: { union_result: { query_specifications: [null, 1, { query_block: [] }] } } },
      Object.create(null) as unknown,
      { ["__proto__"]: { query_block: {} } },
    ];
    for (const plan of hostile) {
      for (const engine of ["postgres", "mysql"] as const) {
        assert.doesNotThrow(() => summarizePlan(engine, plan), `${engine}`);
      }
    }
  });

  test("a plan whose numbers overflow is still stored and read back as a plan", async () => {
    // Two tables of 1e200 rows each: their join estimate is not a finite number.
    const write = await create("SELECT a FROM t1, t2", "alice", "legacy", "production");
    const claimed = await claim(write.id);
    const plan = {
      query_block: {
        nested_loop: [
          { table: { table_name: "t1", access_type: "ALL", rows: 1e200 } },
          { table: { table_name: "t2", access_type: "ALL", rows: 1e200 } },
        ],
      },
    };
    const res = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "mysql",
      plan,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "succeeded", JSON.stringify(seen));
    assert.notEqual(seen?.summary, null, "its summary reads back");
  });

  test("a PostgreSQL plan whose node costs overflow still reads back with its summary", async () => {
    const write = await create("UPDATE orders SET state = 'o' WHERE id > 0");
    const claimed = await claim(write.id);
    const plan = pgPlan("orders", {
      "Total Cost": 1e308,
      Plans: [{ "Node Type": "Result", "Total Cost": -1e308 }],
    });
    const res = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "succeeded");
    assert.equal(seen?.error, null, JSON.stringify(seen));
    assert.notEqual(seen?.summary, null, "its summary reads back");
  });

  test("a plan that is not in EXPLAIN's shape is not shown to approvers as a plan without full scans", async () => {
    for (const plan of [42, "no plan", [], { Plan: "x" }, [{ nothing: true }]]) {
      const write = await create("UPDATE orders SET state = 'p' WHERE id > 0");
      const claimed = await claim(write.id);
      const res = await report(claimed.preflight_id, {
        outcome: "succeeded",
        duration_ms: 1,
        engine: "postgres",
        plan,
      });
      assert.ok(res.status === 200 || res.status === 400, `${res.status} ${JSON.stringify(res.body)}`);
      const line = planLine(await view(write.id)) ?? "";
      assert.doesNotMatch(line, /no full scans/, `${JSON.stringify(plan)} → ${line}`);
    }
  });

  test("a deeply nested plan is recorded as a failure to plan, never a server error, and the bot stays up", async () => {
    const write = await create("UPDATE orders SET state = 'f' WHERE id > 0");
    const claimed = await claim(write.id);
    const depth = 500_000;
    const body = `{"outcome":"succeeded","duration_ms":1,"engine":"postgres","plan":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const res = await report(claimed.preflight_id, body);
    assert.ok(res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    const seen = (await view(write.id)).preflights[0];
    assert.equal(seen?.status, "failed");
    assert.equal(seen?.error?.code, "preflight.invalid");
    assert.match(seen?.error?.message ?? "", /nested too deeply/);
  });

  test("invisible characters in a plan's names are shown escaped: Slack, request show and request plan", async () => {
    const write = await create("UPDATE orders SET state = 'g' WHERE id > 0");
    const claimed = await claim(write.id);
    const relation = `orders${BIDI}txt.exe`;
    const res = await report(claimed.preflight_id, {
      outcome: "succeeded",
      duration_ms: 1,
      engine: "postgres",
      plan: pgPlan(relation),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = await view(write.id);
    const line = planLine(seen) ?? "";
    assert.ok(line.includes("U+202E"), line);
    assert.ok(!line.includes(BIDI), "Slack shows it escaped");
    const cli = async (...argv: string[]) => {
      const out = captureOutput();
      const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("carol") };
      const code = await main(argv, env, out);
      return { code, text: out.stdout.join("\n"), err: out.stderr.join("\n") };
    };
    const show = await cli("request", "show", String(write.id));
    assert.equal(show.code, 0, show.err);
    assert.ok(!show.text.includes(BIDI), "request show escapes it");
    const plan = await cli("request", "plan", String(write.id));
    assert.equal(plan.code, 0, plan.err);
    assert.ok(plan.text.includes("orders"), plan.text);
    assert.ok(!plan.text.includes(BIDI), "request plan escapes it");
    const json = await cli("request", "plan", String(write.id), "--json");
    assert.ok(!json.text.includes(BIDI), "request plan --json escapes it");
  });

  test("a plan another agent may make is offered even behind 200 older plans no agent here can make", async () => {
    // 200 reads waiting on shop/staging, which this agent does not serve, then one on production.
    for (let i = 0; i < 201; i += 1) await create(`SELECT ${i} FROM orders`, "alice", "shop", "staging");
    const mine = await create("SELECT id FROM orders");
    const productionOnly = [{ database: "shop", environment: "production", operations: ALL }];
    const offered = (await poll(productionOnly, "agent-2")).preflights ?? [];
    assert.ok(
      offered.some((o) => o.request_id === mine.id),
      `request ${mine.id} is offered (got ${offered.map((o) => o.request_id).join(", ")})`,
    );
  });
});

/** Posts `bytes` of body (chunked when no length is given) without credentials; stops when answered. */
function rawPost(
  base: string,
  path: string,
  headers: Record<string, string>,
  bytes: number,
): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    let sent = 0;
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        answered = true;
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
      },
    );
    req.on("error", (err) => (answered ? undefined : reject(err)));
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!answered && sent < bytes) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    if (bytes === 0) req.flushHeaders();
    else pump();
  });
}

describe("preflight attacks end to end (the real agent, PostgreSQL and MariaDB)", () => {
  const suffix = randomBytes(4).toString("hex");
  const table = `dbward_pfatk_${suffix}`;
  const fn = `dbward_pfatk_fn_${suffix}`;
  const role = `dbward_pfatk_${suffix}`;
  const lockKey = 100_000 + (randomBytes(3).readUIntBE(0, 3) % 1_000_000_000);
  let h: BotHarness;
  let agent: AgentHandle;
  let asked = 0;
  /** What a compromised bot hands the agent in place of the request's SQL, signed with its key. */
  let swapSql: string | undefined;
  const compromisedBot: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const hostile = swapSql;
    if (hostile === undefined || res.status !== 200 || !/\/api\/agent\/preflights\/[^/]+\/claim$/.test(url))
      return res;
    const claim = (await res.json()) as PreflightClaimResponse;
    const c = JSON.parse(
      Buffer.from(claim.token.split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as ExecutionClaims;
    const token = await signExecutionTokenWith(h.bot.signingKey, {
      jti: c.jti,
      req: c.req,
      exe: c.exe,
      purpose: c.purpose,
      max_rows: c.max_rows,
      db: c.db,
      env: c.env,
      op: c.op,
      sql_sha256: sha256Hex(hostile),
      agent: c.agent,
      iat: c.iat,
      exp: c.exp,
    });
    return new Response(JSON.stringify({ ...claim, sql: hostile, token }), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };
  const pgDb = new pg.Client(PG_URL);
  let myDb: mysql.Connection;

  before(async () => {
    await pgDb.connect();
    myDb = await mysql.createConnection(MARIADB_URL);
    await pgDb.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await pgDb.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 50) g`);
    // A function that says it is IMMUTABLE and is not: the planner folds it while it plans.
    await pgDb.query(
      `CREATE FUNCTION ${fn}() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_advisory_lock(${lockKey}); RETURN 1; END $$`,
    );
    await pgDb.query(`CREATE ROLE ${role} LOGIN`);
    await pgDb.query(`GRANT SELECT, UPDATE, DELETE ON ${table} TO ${role}`);
    await myDb.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB`);
    await myDb.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
    await myDb.query(`CREATE USER '${role}'@'%'`);
    await myDb.query(`GRANT SELECT ON test.${table} TO '${role}'@'%'`);
    h = await startBotHarness(CONFIG);
    const pgUrl = `postgres://${role}@127.0.0.1:5432/test`;
    agent = await startTestAgent(
      h,
      "agent-1",
      [
        {
          name: "shop",
          environment: "production",
          driver: "postgres",
          url: pgUrl,
          operations: ["read", "write"],
        },
        {
          name: "legacy",
          environment: "production",
          driver: "mysql",
          url: `mysql://${role}@127.0.0.1:3306/test`,
          operations: ["read", "write"],
        },
      ],
      { fetch: compromisedBot },
    );
  });
  after(async () => {
    await agent.stop();
    await h.stop();
    await pgDb.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
    await pgDb.query(`DROP TABLE IF EXISTS ${table}`);
    await pgDb.query(`DROP FUNCTION IF EXISTS ${fn}()`);
    await pgDb.query(`DROP ROLE IF EXISTS ${role}`);
    await myDb.query(`DROP TABLE IF EXISTS ${table}`);
    await myDb.query(`DROP USER IF EXISTS '${role}'@'%'`);
    await pgDb.end();
    await myDb.end();
  });

  async function ask(database: string, sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database,
      environment: "production",
      sql,
      reason: "plan attack",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  function planned(id: number): Promise<PreflightView> {
    return waitFor(`a finished plan of request ${id}`, async () => {
      const res = await h.call(await h.tokenFor("carol"), "GET", `/api/requests/${id}`);
      const p = (res.body as RequestView).preflights[0];
      return p !== undefined && (p.status === "succeeded" || p.status === "failed") ? p : undefined;
    });
  }
  const pgCount = async (where: string) =>
    (await pgDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`)).rows[0]?.n;

  /** Asks for a plan of `sql`, while the (compromised) bot hands the agent `hostile` instead. */
  async function planSwapped(database: string, sql: string, hostile: string): Promise<PreflightView> {
    swapSql = hostile;
    try {
      return await planned((await ask(database, sql)).id);
    } finally {
      swapSql = undefined;
    }
  }

  test("a bot that hands over EXPLAIN ANALYZE or two statements, signed, gets no plan on PostgreSQL, and nothing runs", async () => {
    for (const hostile of [
      `EXPLAIN ANALYZE DELETE FROM ${table}`,
      `EXPLAIN (ANALYZE, FORMAT JSON) UPDATE ${table} SET n = 5`,
      `/* plan */ explain analyse delete from ${table}`,
      `UPDATE ${table} SET n = 6 WHERE id = 1; DELETE FROM ${table}`,
      `DELETE FROM ${table} WHERE id = 2; SELECT 1`,
      `COMMIT; DELETE FROM ${table}`,
      `ANALYZE ${table}`,
    ]) {
      const p = await planSwapped("shop", `UPDATE ${table} SET n = 7 WHERE id = 1 /* ${++asked} */`, hostile);
      assert.equal(p.status, "failed", `${hostile}: ${JSON.stringify(p)}`);
      assert.match(p.error?.code ?? "", /^sql\./, `${hostile}: ${JSON.stringify(p)}`);
    }
    assert.equal(await pgCount("true"), 50, "no row deleted");
    assert.equal(await pgCount("n <> 0"), 0, "no row changed");
  });

  test("a bot that hands over ANALYZE or two statements for a MariaDB read gets no plan, and nothing runs", async () => {
    for (const hostile of [
      `ANALYZE SELECT * FROM ${table}`,
      `ANALYZE FORMAT=JSON DELETE FROM ${table}`,
      `SELECT 1; DELETE FROM ${table}`,
      `EXPLAIN SELECT * FROM ${table}`,
    ]) {
      const p = await planSwapped("legacy", `SELECT id FROM ${table} WHERE n > 99 /* ${++asked} */`, hostile);
      assert.equal(p.status, "failed", `${hostile}: ${JSON.stringify(p)}`);
      assert.match(p.error?.code ?? "", /^sql\./, `${hostile}: ${JSON.stringify(p)}`);
    }
    const [rows] = await myDb.query(`SELECT count(*) AS n FROM ${table}`);
    assert.deepEqual(rows, [{ n: 2 }]);
  });

  test("an idle plan connection killed by the server does not stop the agent; the next plan is made", async () => {
    const first = await ask("shop", `SELECT id FROM ${table} WHERE n > 1`);
    assert.equal((await planned(first.id)).status, "succeeded");
    const killed = await pgDb.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE usename = $1 AND state = 'idle'`,
      [role],
    );
    assert.ok(killed.rows.length > 0, "the agent's idle connections were found");
    await new Promise((r) => setTimeout(r, 300));
    const second = await ask("shop", `SELECT id FROM ${table} WHERE n > 2`);
    const p = await planned(second.id);
    assert.equal(p.status, "succeeded", JSON.stringify(p));
  });

  test("an idle MariaDB plan connection killed by the server does not stop the agent; the next plan is made", async () => {
    const first = await ask("legacy", `SELECT id FROM ${table} WHERE n > 1`);
    assert.equal((await planned(first.id)).status, "succeeded");
    const [idle] = await myDb.query<mysql.RowDataPacket[]>(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND = 'Sleep'",
      [role],
    );
    assert.ok(idle.length > 0, "the agent's idle connections were found");
    for (const row of idle) await myDb.query(`KILL ${Number(row.id)}`);
    await new Promise((r) => setTimeout(r, 300));
    const second = await ask("legacy", `SELECT id FROM ${table} WHERE n > 2`);
    const p = await planned(second.id);
    assert.equal(p.status, "succeeded", JSON.stringify(p));
  });

  test("a write calling a function the agent cannot prove free of side effects is not planned", async () => {
    // The test holds the lock the function takes: if planning calls the function, it waits here.
    await pgDb.query("SELECT pg_advisory_lock($1::bigint)", [lockKey]);
    let calledWhilePlanning = false;
    let p: PreflightView;
    try {
      const r = await ask("shop", `UPDATE ${table} SET n = n + 1 WHERE id = ${fn}()`);
      p = await waitFor(`request ${r.id}'s plan, or its function called`, async () => {
        const waiting = await pgDb.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.objid = $1 AND NOT l.granted AND a.usename = $2`,
          [lockKey, role],
        );
        if (waiting.rows.length > 0) calledWhilePlanning = true;
        if (calledWhilePlanning) await pgDb.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey]);
        const res = await h.call(await h.tokenFor("carol"), "GET", `/api/requests/${r.id}`);
        const v = (res.body as RequestView).preflights[0];
        return v !== undefined && (v.status === "succeeded" || v.status === "failed") ? v : undefined;
      });
    } finally {
      await pgDb.query("SELECT pg_advisory_unlock_all()");
    }
    assert.equal(calledWhilePlanning, false, "the function ran while the unapproved write was planned");
    assert.equal(p.status, "failed", JSON.stringify(p));
    assert.equal(p.error?.code, "sql.unverified");
  });
});
