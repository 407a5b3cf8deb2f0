/**
 * Write-ahead outcomes (issue 12), with real processes (`dbward bot`, `dbward agent`) on the real
 * PostgreSQL: an agent killed with `kill -9` after its statement committed but before the bot
 * took the result, or while the statement ran, reports what its outcome journal knows once it is
 * restarted. The request, lost in the meantime, then says "executed, result not delivered" with
 * the affected rows, or "outcome unknown: check the target", through the API, `dbward request
 * show` and the audit trail (once, however often the agent sends it); nothing is re-run.
 *
 * The kill after the commit is placed exactly: the agent talks to the bot through a proxy that
 * holds the final result call without answering, so the agent is killed with the commit
 * journaled and the result in flight, never delivered.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore, verifyAuditStore } from "@dbward/bot";
import type { AuditListView, PublicKeysView, RequestView } from "@dbward/shared";
import pg from "pg";
import { createBotClient, Secret } from "@dbward/agent";
import { main } from "../cli/src/main.ts";
import { PG_URL } from "./support/agent-harness.ts";
import { startBotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";
import {
  freePort,
  killAllProcesses,
  startAgentProcess,
  startBotProcess,
  token,
} from "./support/processes.ts";

const ADMIN = token("dbw_");
const AGENT = token("dbwa_");
const TABLE = "wao_items";

function botConfig(port: number): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows:
  - { name: writes, operations: [write], steps: [{ approvers: ["role:approver"] }] }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { lease_margin_ms: 1000 }
`;
}
const botEnv = { DBWARD_ADMIN_TOKEN: ADMIN, DBWARD_AGENT_TOKEN_AGENT_1: AGENT };
const agentEnv = { DBWARD_AGENT_TOKEN: AGENT, SHOP_URL: PG_URL };

interface Stack {
  dir: string;
  url: string;
  tokens: Record<string, string>;
  kid: string;
  publicKey: string;
}

async function call(
  url: string,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text === "" ? undefined : JSON.parse(text);
}

async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "dbward-wao-"));
  const port = await freePort();
  await startBotProcess(dir, botConfig(port), botEnv);
  const url = `http://127.0.0.1:${port}`;
  const key = ((await (await fetch(`${url}/api/public-key`)).json()) as PublicKeysView).keys[0];
  assert.ok(key !== undefined);
  const tokens: Record<string, string> = {};
  for (const user of ["alice", "bob", "olga"]) {
    tokens[user] = (
      (await call(url, ADMIN, "POST", "/api/tokens", { user, name: "wao" })) as { token: string }
    ).token;
  }
  return { dir, url, tokens, kid: key.kid, publicKey: key.public_key };
}

function agentYaml(s: Stack, botUrl: string): string {
  return `
id: agent-1
bot_url: ${botUrl}
keys: { ${s.kid}: ${s.publicKey} }
data_dir: ${join(s.dir, "agent")}
poll_wait_ms: 1000
result_retry_ms: 120000
databases:
  - { name: shop, environment: staging, driver: postgres, url_env: SHOP_URL, operations: [read, write] }
`;
}

async function submitApproved(s: Stack, sql: string): Promise<number> {
  const r = (await call(s.url, s.tokens.alice ?? "", "POST", "/api/requests", {
    database: "shop",
    environment: "staging",
    sql,
    reason: "write-ahead outcome test",
  })) as RequestView;
  await call(s.url, s.tokens.bob ?? "", "POST", `/api/requests/${r.id}/approve`, {});
  return r.id;
}

const view = async (s: Stack, id: number): Promise<RequestView> =>
  (await call(s.url, s.tokens.olga ?? "", "GET", `/api/requests/${id}`)) as RequestView;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Forwards the agent's calls to the bot, but holds every final result call without answering. */
async function resultHoldingProxy(
  botUrl: string,
): Promise<{ url: string; held: () => number; close(): void }> {
  let held = 0;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const path = req.url ?? "/";
      if (req.method === "POST" && /^\/api\/agent\/jobs\/[^/]+\/result$/.test(path)) {
        held += 1;
        return; // never answered: the agent waits for it until it is killed
      }
      const body = Buffer.concat(parts);
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type"]) {
        const v = req.headers[name];
        if (typeof v === "string") headers[name] = v;
      }
      fetch(`${botUrl}${path}`, {
        method: req.method ?? "GET",
        headers,
        ...(body.length > 0 ? { body } : {}),
      })
        .then(async (up) => {
          res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" });
          res.end(Buffer.from(await up.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => held,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function auditOf(s: Stack, id: number, action: string): Promise<AuditListView["events"]> {
  const list = (await call(
    s.url,
    ADMIN,
    "GET",
    `/api/audit?target=${encodeURIComponent(`request:${id}`)}&action=${action}&limit=100`,
  )) as AuditListView;
  return list.events;
}

async function chainVerifies(s: Stack): Promise<void> {
  const store = openStore(join(s.dir, "bot"), { readonly: true });
  try {
    const verdict = await verifyAuditStore(store);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await store.destroy();
  }
}

async function requestShow(s: Stack, id: number): Promise<string> {
  const out = captureOutput();
  await main(["request", "show", String(id)], { DBWARD_URL: s.url, DBWARD_TOKEN: s.tokens.olga ?? "" }, out);
  return out.stdout.join("\n");
}

describe("write-ahead outcomes: an agent killed mid-job reports what it knows after a restart", () => {
  const db = new pg.Client(PG_URL);
  const dirs: string[] = [];
  before(async () => {
    await db.connect();
    await db.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await db.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, n int NOT NULL)`);
    await db.query(`INSERT INTO ${TABLE} VALUES (1, 0), (2, 0), (3, 0), (4, 0)`);
  });
  after(async () => {
    killAllProcesses();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%wao_marker%' AND pid <> pg_backend_pid()",
    );
    await db.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await db.end();
  });

  test("kill -9 after the commit, before the bot took the result: the request says executed, result not delivered, with the affected rows", async () => {
    const s = await startStack();
    dirs.push(s.dir);
    const proxy = await resultHoldingProxy(s.url);
    const agent = startAgentProcess(s.dir, agentYaml(s, proxy.url), agentEnv);
    const id = await submitApproved(s, `UPDATE ${TABLE} SET n = n + 1 WHERE id <= 3`);
    await until("the result call held at the proxy", () => Promise.resolve(proxy.held() > 0 || undefined));
    agent.child.kill("SIGKILL");
    await agent.exited;
    proxy.close();
    const committed = await db.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE n = 1`);
    assert.equal((committed.rows[0] as { n: number }).n, 3, "the statement committed");
    await until("lost", async () => ((await view(s, id)).status === "lost" ? true : undefined));

    const restarted = startAgentProcess(s.dir, agentYaml(s, s.url), agentEnv);
    const shown = await until("the late result", async () => {
      const v = await view(s, id);
      return v.executions[0]?.error?.code === "execution.result_undelivered" ? v : undefined;
    });
    assert.equal(shown.status, "lost", "a final state is never overwritten");
    assert.match(shown.status_reason ?? "", /^executed, result not delivered: 3 rows affected/);
    assert.equal(shown.executions.length, 1, "nothing re-ran");
    assert.equal(shown.executions[0]?.affected_rows, 3);
    const cli = await requestShow(s, id);
    assert.match(cli, /lost \(executed, result not delivered: 3 rows affected/);
    assert.match(cli, /execution 1 on agent-1: lost \(executed, result not delivered\), 3 row\(s\) changed/);

    // The same report again (an agent that did not hear the answer) is audited once.
    const again = {
      delivery: "late",
      outcome: "succeeded_unreported",
      affected_rows: 3,
      row_count: 0,
      started_at: new Date().toISOString(),
    };
    restarted.child.kill("SIGTERM");
    assert.equal(await restarted.exited, 0, restarted.stderr());
    await call(s.url, AGENT, "POST", `/api/agent/jobs/${id}-1/result`, again);
    const late = await auditOf(s, id, "execution.late_result");
    assert.equal(late.length, 1, JSON.stringify(late));
    assert.equal(late[0]?.details.outcome, "succeeded_unreported");
    assert.equal(late[0]?.details.affected_rows, 3);
    const rows = await db.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE n = 1`);
    assert.equal((rows.rows[0] as { n: number }).n, 3, "applied once");
    // It ran: an operator's retry would apply it twice, so the bot refuses one.
    const retry = await fetch(`${s.url}/api/requests/${id}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.tokens.olga ?? ""}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "try again" }),
    });
    assert.equal(retry.status, 409);
    assert.match(await retry.text(), /has run: its agent reported the commit \(3 rows\)/);
    await chainVerifies(s);
  });

  test("kill -9 while the statement runs, before it committed: the request says outcome unknown, check the target", async () => {
    const s = await startStack();
    dirs.push(s.dir);
    const agent = startAgentProcess(s.dir, agentYaml(s, s.url), agentEnv);
    const id = await submitApproved(
      s,
      `UPDATE ${TABLE} SET n = n + 100 WHERE id = 4 AND pg_sleep(30) IS NOT NULL /* wao_marker_run */`,
    );
    const onServer = async (): Promise<true | undefined> => {
      const r = await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%wao_marker_run%' AND pid <> pg_backend_pid()",
      );
      return (r.rows[0] as { n: number }).n === 1 ? true : undefined;
    };
    await until("the statement running on the server", onServer);
    agent.child.kill("SIGKILL");
    await agent.exited;
    // The server would finish the statement by itself; stop it so the target stays as it was.
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%wao_marker_run%' AND pid <> pg_backend_pid()",
    );
    await until("lost", async () => ((await view(s, id)).status === "lost" ? true : undefined));

    const restarted = startAgentProcess(s.dir, agentYaml(s, s.url), agentEnv);
    const shown = await until("the late result", async () => {
      const v = await view(s, id);
      return v.executions[0]?.error?.code === "execution.outcome_unknown" ? v : undefined;
    });
    assert.equal(shown.status, "lost");
    assert.match(shown.status_reason ?? "", /^outcome unknown: check the target/);
    assert.match(shown.status_reason ?? "", /stopped while the statement ran/);
    assert.equal(shown.executions.length, 1, "nothing re-ran");
    assert.match(await requestShow(s, id), /execution 1 on agent-1: lost \(outcome unknown\)/);
    const late = await auditOf(s, id, "execution.late_result");
    assert.equal(late.length, 1);
    assert.equal(late[0]?.details.outcome, "unknown");
    restarted.child.kill("SIGTERM");
    assert.equal(await restarted.exited, 0, restarted.stderr());
    const untouched = await db.query(`SELECT n FROM ${TABLE} WHERE id = 4`);
    assert.equal((untouched.rows[0] as { n: number }).n, 0);
    await chainVerifies(s);
  });
});

describe("a late result while the execution still holds its lease ends the request at once", () => {
  test("executed-not-delivered ends it succeeded, outcome-unknown ends it lost, each with its reason and audited once", async () => {
    const h = await startBotHarness();
    try {
      const agent = createBotClient({
        botUrl: h.url,
        agentToken: new Secret(h.agentTokens["agent-1"] ?? ""),
        session: "late-result-test-session",
      });
      const [alice, bob, olga] = [
        await h.tokenFor("alice"),
        await h.tokenFor("bob"),
        await h.tokenFor("olga"),
      ];
      const running = async (sql: string): Promise<{ id: number; job: string }> => {
        const created = await h.call(alice, "POST", "/api/requests", {
          database: "shop",
          environment: "staging",
          sql,
          reason: "late result while running",
        });
        const id = (created.body as RequestView).id;
        await h.call(bob, "POST", `/api/requests/${id}/approve`, {});
        const { jobs } = await agent.poll({
          capabilities: [{ database: "shop", environment: "staging", operations: ["write"] }],
          wait_ms: 5000,
        });
        const job = jobs.find((j) => j.request_id === id)?.job_id ?? assert.fail("no offer");
        await agent.claim(job);
        return { id, job };
      };
      const shown = async (id: number): Promise<RequestView> =>
        (await h.call(olga, "GET", `/api/requests/${id}`)).body as RequestView;
      const started_at = new Date().toISOString();

      const a = await running("UPDATE orders SET paid = true WHERE id = 1");
      const committed = {
        delivery: "late",
        outcome: "succeeded_unreported",
        affected_rows: 1,
        started_at,
      } as const;
      await agent.submitResult(a.job, committed);
      await agent.submitResult(a.job, committed);
      const va = await shown(a.id);
      assert.equal(va.status, "succeeded");
      assert.match(va.status_reason ?? "", /^executed, result not delivered: 1 row affected/);
      assert.equal(va.executions[0]?.affected_rows, 1);

      const b = await running("UPDATE orders SET paid = true WHERE id = 2");
      const unknown = {
        delivery: "late",
        outcome: "unknown",
        error: { code: "execution.outcome_unknown", message: "the connection broke" },
        started_at,
      } as const;
      await agent.submitResult(b.job, unknown);
      await agent.submitResult(b.job, unknown);
      const vb = await shown(b.id);
      assert.equal(vb.status, "lost");
      assert.match(vb.status_reason ?? "", /^outcome unknown: check the target.*the connection broke/);

      const events = async (id: number, action: string): Promise<number> =>
        (
          (await h.call(h.adminToken, "GET", `/api/audit?target=request:${id}&action=${action}`))
            .body as AuditListView
        ).events.length;
      assert.equal(await events(a.id, "request.executed"), 1);
      assert.equal(await events(b.id, "request.lost"), 1);
      assert.equal(await events(a.id, "execution.late_result"), 0, "the resubmission added nothing");
      assert.equal(await events(b.id, "execution.late_result"), 0);
    } finally {
      await h.stop();
    }
  });
});
