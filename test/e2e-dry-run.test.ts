/**
 * Dry runs end to end, with a real `dbward bot` and a real `dbward agent` process on the real
 * PostgreSQL: a write waiting for approval is run by the agent in a transaction it always rolls
 * back, and approvers see how many rows it would change while the table stays as it was; the
 * approved write then runs for real. Under `guard: dry_run_count` no approval counts before the
 * count is in, and the signed bound stops a write that would now change more rows (rows added
 * after the count) with `execution.row_guard`, nothing committed. `auto_approve: { max_rows }`
 * approves and runs a small write with no human click and leaves a larger one for a person. A
 * table with a user trigger gets no dry run, with the reason shown, and the trigger never fires
 * (its side table's sequence is never drawn: ROLLBACK would undo the row, not the draw).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type {
  AuditEventView,
  PreflightView,
  PublicKeysView,
  RequestView,
  SchemaContextView,
} from "@dbward/shared";
import pg from "pg";
import { PG_URL } from "./support/agent-harness.ts";
import {
  freePort,
  killAllProcesses,
  startAgentProcess,
  startBotProcess,
  token,
  type Proc,
} from "./support/processes.ts";
import { waitFor } from "./support/wait.ts";

const ADMIN = token("dbw_");
const AGENT = token("dbwa_");
const ENVIRONMENTS = ["plain", "guarded", "autorows"] as const;

const botConfig = (port: number): string => `
listen: { host: 127.0.0.1, port: ${port} }
databases:
  - { name: shop, dialect: postgres, environments: [${ENVIRONMENTS.join(", ")}], dry_run: true }
workflows:
  - name: writes-approved
    environment: plain
    operations: [write]
    steps: [{ approvers: ["role:approver"] }]
  - name: guarded-writes
    environment: guarded
    operations: [write]
    guard: dry_run_count
    guard_tolerance: "0%"
    steps: [{ approvers: ["role:approver"] }]
  - name: small-writes-auto
    environment: autorows
    operations: [write]
    auto_approve: { max_rows: 5 }
    steps: [{ approvers: ["role:approver"] }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
`;

// Named per run, so two runs on one server never share a table.
const plain = `dbward_dry_${process.pid}`;
const guarded = `dbward_dry_guard_${process.pid}`;
const auto = `dbward_dry_auto_${process.pid}`;
const triggered = `dbward_dry_trg_${process.pid}`;
const side = `dbward_dry_side_${process.pid}`;
const triggerFn = `dbward_dry_fn_${process.pid}`;

describe("dry runs end to end", () => {
  const db = new pg.Client(PG_URL);
  const dir = mkdtempSync(join(tmpdir(), "dbward-dry-run-"));
  let url = "";
  let bot: Proc | undefined;
  let agent: Proc | undefined;
  let agentYaml = "";
  const tokens: Record<string, string> = {};

  before(async () => {
    await db.connect();
    for (const t of [plain, guarded, auto, triggered]) {
      await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL)`);
      await db.query(`INSERT INTO ${t} SELECT g, 0 FROM generate_series(1, 10) g`);
    }
    // The trigger writes a row into the side table, drawing from its serial's sequence: a draw
    // that ROLLBACK keeps, so the sequence tells whether the trigger ever fired.
    await db.query(`CREATE TABLE ${side} (id serial PRIMARY KEY, note text NOT NULL)`);
    await db.query(`CREATE FUNCTION ${triggerFn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${side} (note) VALUES ('row ' || NEW.id); RETURN NEW; END $$`);
    await db.query(
      `CREATE TRIGGER ${triggered}_audit AFTER UPDATE ON ${triggered} FOR EACH ROW EXECUTE FUNCTION ${triggerFn}()`,
    );

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    bot = await startBotProcess(dir, botConfig(port), {
      DBWARD_ADMIN_TOKEN: ADMIN,
      DBWARD_AGENT_TOKEN_AGENT_1: AGENT,
    });
    const key = ((await call(ADMIN, "GET", "/api/public-key")).body as PublicKeysView).keys[0];
    assert.ok(key !== undefined, "the bot publishes its signing key");
    for (const user of ["alice", "bob"]) {
      const res = await call(ADMIN, "POST", "/api/tokens", { user, name: "dry-run-test" });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      tokens[user] = (res.body as { token: string }).token;
    }
    agentYaml = [
      "id: agent-1",
      `bot_url: ${url}`,
      `keys: { ${key.kid}: ${key.public_key} }`,
      `data_dir: ${join(dir, "agent")}`,
      "poll_wait_ms: 1000",
      "databases:",
      ...ENVIRONMENTS.map(
        (env) =>
          `  - { name: shop, environment: ${env}, driver: postgres, url_env: SHOP_URL, operations: [read, write], dry_run: true }`,
      ),
    ].join("\n");
  });

  after(async () => {
    for (const p of [agent, bot]) {
      if (p === undefined || p.child.exitCode !== null) continue;
      p.child.kill("SIGTERM");
      await p.exited;
    }
    killAllProcesses();
    await db.query(`DROP TABLE IF EXISTS ${[plain, guarded, auto, triggered, side].join(", ")}`);
    await db.query(`DROP FUNCTION IF EXISTS ${triggerFn}()`);
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Started on first use: the first test needs a request the agent has not seen yet. */
  function agentUp(): void {
    agent ??= startAgentProcess(dir, agentYaml, { DBWARD_AGENT_TOKEN: AGENT, SHOP_URL: PG_URL });
  }

  async function call(bearer: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
  }

  async function create(environment: string, sql: string): Promise<RequestView> {
    const res = await call(tokens.alice ?? "", "POST", "/api/requests", {
      database: "shop",
      environment,
      sql,
      reason: "dry run e2e",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as RequestView;
    assert.equal(view.status, "pending_approval");
    return view;
  }
  const view = async (id: number): Promise<RequestView> =>
    (await call(tokens.bob ?? "", "GET", `/api/requests/${id}`)).body as RequestView;
  const approve = (id: number) => call(tokens.bob ?? "", "POST", `/api/requests/${id}/approve`, {});
  const errorOf = (body: unknown) => (body as { error: { code: string; message: string } }).error;

  /** Polls until `probe` answers, failing at once with the agent's stderr if its process died. */
  function settled<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const running = agent;
    const died =
      running?.exited.then((code) =>
        assert.fail(`the agent exited (${String(code)}): ${running.stderr().slice(-2000)}`),
      ) ?? new Promise<never>(() => undefined);
    return Promise.race([waitFor(what, probe, 20_000), died]);
  }
  const dryRunDone = (id: number): Promise<PreflightView> =>
    settled(`the dry run of request ${id}`, async () => {
      const p = (await view(id)).preflights.find((x) => x.kind === "dry_run");
      return p?.status === "succeeded" || p?.status === "failed" ? p : undefined;
    });
  const finished = (id: number): Promise<RequestView> =>
    settled(`request ${id} to finish`, async () => {
      const v = await view(id);
      return v.status === "succeeded" || v.status === "failed" ? v : undefined;
    });
  async function auditOf(id: number): Promise<AuditEventView[]> {
    const res = await call(ADMIN, "GET", `/api/audit?target=request:${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { events: AuditEventView[] }).events;
  }
  async function checksum(table: string): Promise<string> {
    const r = await db.query<{ sum: string }>(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(id || '=' || n, ',' ORDER BY id)), '') AS sum FROM ${table}`,
    );
    return r.rows[0]?.sum ?? "";
  }
  async function changed(table: string): Promise<number> {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE n <> 0`);
    return r.rows[0]?.n ?? -1;
  }

  test("guard: an approval before the dry run has counted is refused 409 request.awaiting_count; once the count is in it goes through and the write runs", async () => {
    // Created before the agent process starts: nobody can have counted it yet.
    const r = await create("guarded", `UPDATE ${guarded} SET n = 1 WHERE id <= 3`);
    assert.deepEqual(r.workflow.row_guard_from_dry_run, { tolerance_percent: 0 });
    const early = await approve(r.id);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(errorOf(early.body).code, "request.awaiting_count");
    assert.match(errorOf(early.body).message, /has not counted/);
    assert.deepEqual((await view(r.id)).approvals, [], "the refused approval recorded nothing");

    agentUp();
    const dry = await dryRunDone(r.id);
    assert.equal(dry.status, "succeeded", JSON.stringify(dry));
    assert.equal(dry.affected_rows, 3);
    assert.equal((await view(r.id)).workflow.row_guard, 3, "the count with 0% tolerance");
    const approved = await approve(r.id);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await finished(r.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.executions));
    assert.equal(done.executions[0]?.affected_rows, 3);
    assert.equal(await changed(guarded), 3);
  });

  test("a pending write is counted by a dry run and rolled back, audited as a preflight; approved, it changes the rows", async () => {
    agentUp();
    const before = await checksum(plain);
    const r = await create("plain", `UPDATE ${plain} SET n = n + 1 WHERE id <= 4`);
    const dry = await dryRunDone(r.id);
    assert.equal(dry.status, "succeeded", JSON.stringify(dry));
    assert.equal(dry.affected_rows, 4);
    assert.equal(dry.agent, "agent-1");
    assert.equal(await checksum(plain), before, "the dry run changed nothing");
    const counted = await view(r.id);
    assert.equal(counted.status, "pending_approval");
    assert.deepEqual(counted.executions, []);

    const events = await auditOf(r.id);
    const actions = events.map((e) => e.action);
    const finishedEvent = events.find(
      (e) => e.action === "request.preflight_finished" && e.details.kind === "dry_run",
    );
    assert.equal(finishedEvent?.details.affected_rows, 4, actions.join(", "));
    assert.equal(finishedEvent.actor, "agent:agent-1");
    assert.ok(
      !actions.some((a) => a.startsWith("execution.") || a === "request.claimed"),
      `no execution before approval: ${actions.join(", ")}`,
    );

    const approved = await approve(r.id);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await finished(r.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.executions));
    assert.equal(done.executions[0]?.affected_rows, 4);
    assert.equal(await changed(plain), 4);
    assert.notEqual(await checksum(plain), before);
  });

  test("guard: rows added after the count push the approved write over its bound; the agent rolls it back with execution.row_guard", async () => {
    agentUp();
    const r = await create("guarded", `UPDATE ${guarded} SET n = n + 10 WHERE n >= 0`);
    const dry = await dryRunDone(r.id);
    assert.equal(dry.status, "succeeded", JSON.stringify(dry));
    assert.equal(dry.affected_rows, 10);
    assert.equal((await view(r.id)).workflow.row_guard, 10);
    await db.query(`INSERT INTO ${guarded} SELECT g, 0 FROM generate_series(11, 15) g`);
    const before = await checksum(guarded);

    const approved = await approve(r.id);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const done = await finished(r.id);
    assert.equal(done.status, "failed", JSON.stringify(done.executions));
    assert.equal(done.executions[0]?.error?.code, "execution.row_guard", JSON.stringify(done.executions[0]));
    assert.match(done.executions[0]?.error?.message ?? "", /15 rows.*10/);
    assert.equal(await checksum(guarded), before, "nothing committed");
  });

  test("auto_approve max_rows 5: a write changing 2 rows runs with no human click; one changing 6 waits for a person", async () => {
    agentUp();
    const small = await create("autorows", `UPDATE ${auto} SET n = 1 WHERE id <= 2`);
    const done = await finished(small.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.executions));
    assert.equal(done.executions[0]?.affected_rows, 2);
    assert.deepEqual(done.approvals, [], "no person approved it");
    assert.equal(done.preflights.find((p) => p.kind === "dry_run")?.affected_rows, 2);
    const autoApproved = (await auditOf(small.id)).find((e) => e.action === "request.auto_approved");
    assert.equal(autoApproved?.actor, "system");
    assert.equal(autoApproved.details.dry_run_rows, 2);
    assert.equal(await changed(auto), 2);

    const before = await checksum(auto);
    const large = await create("autorows", `UPDATE ${auto} SET n = 2 WHERE id > 4`);
    const dry = await dryRunDone(large.id);
    assert.equal(dry.status, "succeeded", JSON.stringify(dry));
    assert.equal(dry.affected_rows, 6);
    const waiting = await view(large.id);
    assert.equal(waiting.status, "pending_approval");
    assert.deepEqual(waiting.executions, []);
    assert.equal(await checksum(auto), before);
  });

  // Fails today: the count an auto-approval rests on is not signed into the execution token
  // (rowBound in bot/src/core/row-bounds.ts reads only max_rows and guard), so the write runs
  // unbounded. Here the statement reads a setting the dry run sets LOCAL (lock_timeout 2s): its
  // dry run counts 2 rows, its execution changes all 10, approved by nobody.
  test("auto_approve max_rows 5: a write that changes more rows when it runs than its dry run counted is rolled back, not committed unapproved", async () => {
    agentUp();
    const before = await checksum(auto);
    const r = await create(
      "autorows",
      `UPDATE ${auto} SET n = 7 WHERE id <= 2 OR current_setting('lock_timeout') <> '2s'`,
    );
    const done = await finished(r.id);
    assert.equal(done.preflights.find((p) => p.kind === "dry_run")?.affected_rows, 2);
    assert.deepEqual(done.approvals, [], "auto-approved on the count of 2");
    assert.equal(
      done.executions[0]?.error?.code,
      "execution.row_guard",
      `BUG: auto_approve { max_rows: 5 } approved a count of 2 but signed no bound (workflow.row_guard ${String(done.workflow.row_guard)}); the write ran and changed ${String(done.executions[0]?.affected_rows)} rows`,
    );
    assert.equal(await checksum(auto), before, "nothing committed");
  });

  test("a table with a user trigger gets no dry run, with the reason shown, and the trigger never fires", async () => {
    agentUp();
    const before = await checksum(triggered);
    const r = await create("plain", `UPDATE ${triggered} SET n = 1 WHERE id = 1`);
    const dry = await dryRunDone(r.id);
    assert.equal(dry.status, "failed", JSON.stringify(dry));
    assert.equal(dry.affected_rows, null);
    assert.equal(dry.error?.code, "sql.unverified");
    assert.match(dry.error?.message ?? "", new RegExp(`trigger ${triggered}_audit`));
    assert.equal((await view(r.id)).status, "pending_approval", "approvers decide without a count");
    assert.equal(await checksum(triggered), before);
    await assertTriggerNeverFired();
  });

  test("guard: a write on a table with a user trigger cannot be approved, and the refusal says why", async () => {
    agentUp();
    const r = await create("guarded", `UPDATE ${triggered} SET n = 2 WHERE id = 2`);
    const dry = await dryRunDone(r.id);
    assert.equal(dry.status, "failed", JSON.stringify(dry));
    const refused = await approve(r.id);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(errorOf(refused.body).code, "request.awaiting_count");
    assert.match(
      errorOf(refused.body).message,
      new RegExp(`could not count.*trigger ${triggered}_audit.*cannot be approved`),
    );
    const after = await view(r.id);
    assert.equal(after.status, "pending_approval");
    assert.deepEqual(after.approvals, []);
    await assertTriggerNeverFired();

    // The probe can see a firing: an update rolled back by hand still draws from the sequence.
    await db.query("BEGIN");
    await db.query(`UPDATE ${triggered} SET n = n WHERE id = 1`);
    await db.query("ROLLBACK");
    assert.equal(await sideSequenceDrawn(), true);
  });

  async function sideSequenceDrawn(): Promise<boolean> {
    const r = await db.query<{ drawn: boolean }>(`SELECT is_called AS drawn FROM ${side}_id_seq`);
    return r.rows[0]?.drawn ?? true;
  }
  async function assertTriggerNeverFired(): Promise<void> {
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${side}`);
    assert.equal(rows.rows[0]?.n, 0, "the side table is empty");
    assert.equal(await sideSequenceDrawn(), false, "its sequence was never drawn: the trigger never ran");
  }

  test("the agent's schema context reaches the bot, and a request names the table it changes with its size", async () => {
    await db.query(`ANALYZE ${plain}`);
    const ctx = await waitFor("the schema context of shop/plain, with the table", async () => {
      const res = await call(tokens.alice ?? "", "GET", "/api/schema/shop/plain");
      if (res.status !== 200) return undefined;
      const found = (res.body as SchemaContextView).tables.find((t) => t.name === plain);
      return found === undefined ? undefined : (res.body as SchemaContextView);
    });
    assert.equal(ctx.agent, "agent-1");
    const table = ctx.tables.find((t) => t.name === plain);
    assert.deepEqual(table?.primary_key, ["id"]);
    assert.ok((table?.size_bytes ?? 0) > 0, "a size");
    const r = await create("plain", `DELETE FROM ${plain} WHERE id = 1`);
    const touched = r.touched_tables.find((t) => t.name === plain);
    assert.ok(touched !== undefined, JSON.stringify(r.touched_tables));
    assert.equal(touched.schema, "public");
    assert.ok(r.schema_collected_at !== null);
  });
});
