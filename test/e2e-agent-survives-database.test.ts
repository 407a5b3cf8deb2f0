/**
 * A dependency failing under us (SECURITY.md threat table), with a real `dbward agent` process on
 * the real PostgreSQL and MariaDB: a backend terminated mid-statement, a TCP connection cut
 * mid-job, a database dropped mid-job. Each time the job's result is `execution.failed` with the
 * server's own error, the agent process stays up, and it runs the next job once the server, the
 * link or the database is back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";
import type { RequestStatus, RequestView } from "@dbward/shared";
import { base64url } from "@dbward/shared";
import { MARIADB_URL, PG_URL } from "./support/agent-harness.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { killAllProcesses, startAgentProcess, type Proc } from "./support/processes.ts";
import { startTcpRelay, type TcpRelay } from "./support/tcp-relay.ts";
import { waitForStatus } from "./support/wait.ts";

const BOT_CONFIG = `
databases:
  - { name: shop, dialect: postgres, environments: [direct, relayed, scratch] }
  - { name: legacy, dialect: mysql, environments: [direct] }
workflows:
  - { name: reads-auto, operations: [read], auto_approve: always }
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { dispatch_timeout_ms: 60000 }
`;

const PG_LONG_READ = (marker: string): string =>
  `SELECT count(*) AS ${marker} FROM generate_series(1, 100000) a, generate_series(1, 100000) b`;
const MARIADB_LONG_READ = (marker: string): string =>
  `SELECT COUNT(*) AS ${marker} FROM seq_1_to_100000 a, seq_1_to_100000 b`;

describe("the agent survives its databases", () => {
  const scratch = `dbward_scratch_${randomBytes(4).toString("hex")}`;
  const pgAdmin = new pg.Client(PG_URL);
  let myAdmin: mysql.Connection;
  let h: BotHarness;
  let relay: TcpRelay;
  let agent: Proc;

  before(async () => {
    await pgAdmin.connect();
    await pgAdmin.query(`CREATE DATABASE ${scratch}`);
    myAdmin = await mysql.createConnection(MARIADB_URL);
    relay = await startTcpRelay(5432);
    h = await startBotHarness(BOT_CONFIG);
    const pgAt = (port: number, db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
    agent = startAgentProcess(
      h.dataDir,
      [
        "id: agent-1",
        `bot_url: ${h.url}`,
        `keys: { ${h.bot.signingKey.kid}: ${base64url(h.bot.signingKey.publicKey)} }`,
        `data_dir: ${join(h.dataDir, "agent-1")}`,
        "poll_wait_ms: 1000",
        "databases:",
        "  - { name: shop, environment: direct, driver: postgres, url_env: PG_DIRECT, operations: [read] }",
        "  - { name: shop, environment: relayed, driver: postgres, url_env: PG_RELAYED, operations: [read] }",
        "  - { name: shop, environment: scratch, driver: postgres, url_env: PG_SCRATCH, operations: [read] }",
        "  - { name: legacy, environment: direct, driver: mysql, url_env: MY_DIRECT, operations: [read] }",
      ].join("\n"),
      {
        DBWARD_AGENT_TOKEN: h.agentTokens["agent-1"] ?? "",
        PG_DIRECT: PG_URL,
        PG_RELAYED: pgAt(relay.port, "test"),
        PG_SCRATCH: pgAt(5432, scratch),
        MY_DIRECT: MARIADB_URL,
      },
    );
  });
  after(async () => {
    agent.child.kill("SIGTERM");
    await agent.exited;
    killAllProcesses();
    await h.stop();
    await relay.close();
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await pgAdmin.end();
    await myAdmin.end();
  });

  async function request(database: string, environment: string, sql: string): Promise<number> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database,
      environment,
      sql,
      reason: "connection loss test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as RequestView).id;
  }

  /** The request's final view, or a failure naming the agent's exit if it died meanwhile. */
  async function reaches(id: number, status: RequestStatus): Promise<RequestView> {
    const died = agent.exited.then((code) =>
      assert.fail(`the agent process exited (${String(code)}): ${agent.stderr().slice(-2000)}`),
    );
    return Promise.race([waitForStatus(h, id, status, 20_000), died]);
  }

  function assertAlive(): void {
    assert.equal(agent.child.exitCode, null, "the agent process is still running");
    const pid = agent.child.pid;
    assert.ok(pid !== undefined && process.kill(pid, 0), "its pid exists");
  }

  async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) assert.fail("the job never started on the server");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const pgBackend = (marker: string): Promise<number | undefined> =>
    until(async () => {
      const r = await pgAdmin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      return r.rows[0]?.pid;
    });

  /** Breaks the running job, then checks the failure, the process, and a next job. */
  async function survives(
    database: string,
    environment: string,
    longRead: string,
    serverError: RegExp,
    breakIt: () => Promise<void>,
    restore: () => Promise<void> = () => Promise.resolve(),
  ): Promise<void> {
    const id = await request(database, environment, longRead);
    await breakIt();
    const failed = await reaches(id, "failed");
    assert.equal(failed.executions[0]?.error?.code, "execution.failed");
    assert.match(failed.executions[0]?.error?.message ?? "", serverError);
    assertAlive();
    await restore();
    await reaches(await request(database, environment, "SELECT 1 AS next"), "succeeded");
    assertAlive();
  }

  test("a PostgreSQL backend terminated mid-statement fails the job; the agent runs the next one", async () => {
    const marker = "terminated_marker";
    await survives(
      "shop",
      "direct",
      PG_LONG_READ(marker),
      /terminating connection due to administrator command \(57P01\)/,
      async () => {
        await pgAdmin.query("SELECT pg_terminate_backend($1)", [await pgBackend(marker)]);
      },
    );
  });

  test("a MariaDB connection killed mid-statement fails the job; the agent runs the next one", async () => {
    const marker = "killed_marker";
    await survives(
      "legacy",
      "direct",
      MARIADB_LONG_READ(marker),
      /Connection lost|Connection was killed/,
      async () => {
        const thread = await until(async () => {
          const [rows] = await myAdmin.query(
            "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()",
            [`%${marker}%`],
          );
          const first = (rows as { id: number }[])[0];
          return first === undefined ? undefined : Number(first.id);
        });
        await myAdmin.query(`KILL CONNECTION ${thread}`);
      },
    );
  });

  test("a TCP connection cut mid-job fails the job; the agent runs the next one over the restored link", async () => {
    const marker = "cut_marker";
    let backend: number | undefined;
    await survives(
      "shop",
      "relayed",
      PG_LONG_READ(marker),
      /ECONNRESET|Connection terminated unexpectedly/,
      async () => {
        backend = await pgBackend(marker);
        relay.cut();
      },
      async () => {
        // The server has not noticed the cut yet; its statement must not outlive the test.
        await pgAdmin.query("SELECT pg_terminate_backend($1)", [backend]);
      },
    );
  });

  test("a database dropped WITH (FORCE) mid-job fails the job; the agent runs the next one once it exists again", async () => {
    const marker = "dropped_marker";
    await survives(
      "shop",
      "scratch",
      PG_LONG_READ(marker),
      /terminating connection due to administrator command \(57P01\)/,
      async () => {
        await pgBackend(marker);
        await pgAdmin.query(`DROP DATABASE ${scratch} WITH (FORCE)`);
      },
      async () => {
        await pgAdmin.query(`CREATE DATABASE ${scratch}`);
      },
    );
  });
});
