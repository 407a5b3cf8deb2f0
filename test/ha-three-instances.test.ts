/**
 * Several bot instances on one PostgreSQL state, as real processes (issue 14): three `dbward bot`
 * processes with the same config (only `listen.port` differs) on one state database, each on its
 * own port behind a round-robin TCP front, and two `dbward agent` processes (agent-1 and agent-2:
 * one live session per agent id) that know only the front. The instances share one signing key:
 * any of them may sign an execution token, and an agent pins one public key, so the first
 * instance's `signing-key.json` is copied into the others' data directories before they start.
 *
 * - A request created on one instance and approved on a second is run by an agent whose long poll
 *   may sit on any of them, and its result is read from the third.
 * - 100 approvals at once, spread over the three instances, for a request needing one: one
 *   approval is recorded, the SQL runs once, every other call is `request.already_decided`.
 * - kill -9 of the instance leading the periodic jobs, while a request it recorded waits for its
 *   second approval: the approval through the front reaches a survivor, the request runs, a
 *   survivor takes the sweeper over (an unclaimed dispatch is still timed out), and new work
 *   created and approved through the front runs.
 * - Slack calls signed as Slack signs them, at any instance (one fake Slack Web API for all
 *   three): a `/dbward query` on the first posts for approval, an Approve click on the second
 *   approves, the post is redrawn once the request has run, and the same signed click replayed to
 *   the third is refused 401 (the replay memory is in the store).
 * - kill -9 of the instance receiving a large result's chunks, mid-upload: the agent sends the
 *   rest (the chunk in flight again) through the front to a survivor, and the whole result,
 *   every row once and in order, is read from another instance.
 * - kill -9 of the instance that recorded a claim, before its answer reached the agent (the front
 *   withholds it): the job is lost once its lease runs out, never run and never handed out again,
 *   and new work runs on the survivor.
 * - `dbward audit verify --state-url` finds one chain with no gap, written by all three.
 *
 * A PostgreSQL restart is not done here: the server on 127.0.0.1:5432 is this machine's shared
 * one, and restarting it would cut every other suite's connections. test/state-postgres-restart
 * restarts a private server under two instances instead.
 */
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KEY_FILE } from "../bot/src/keys/signing-key-file.ts";
import { SLACK_IDS } from "../bot/src/slack/ids.ts";
import type { ErrorBody, PublicKeysView, RequestView, ResultView } from "@dbward/shared";
import pg from "pg";
import { PG_URL } from "./support/agent-harness.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import { dropStateDatabase, ensureStateDatabase } from "./support/postgres-state.ts";
import {
  freePort,
  killAllProcesses,
  spawnDbward,
  startAgentProcess,
  startBotProcess,
  token,
  type Proc,
} from "./support/processes.ts";
import { startTcpRelay, type TcpRelay } from "./support/tcp-relay.ts";
import { waitFor } from "./support/wait.ts";
import { SlackRequests } from "./slack/slack-requests.ts";

const ADMIN = token("dbw_");
const AGENT_TOKENS = { "agent-1": token("dbwa_"), "agent-2": token("dbwa_") } as const;
const BOT_ENV = {
  DBWARD_LOG_LEVEL: "info",
  DBWARD_ADMIN_TOKEN: ADMIN,
  DBWARD_AGENT_TOKEN_AGENT_1: AGENT_TOKENS["agent-1"],
  DBWARD_AGENT_TOKEN_AGENT_2: AGENT_TOKENS["agent-2"],
};
/**
 * Where the agents' writes land, in the target database `test`: named per run, so a run of this
 * file elsewhere on the machine's shared server cannot drop it half way.
 */
const TABLE = `dbward_ha_three_instances_${process.pid}`;
const APPROVERS = ["bob", "carol", "dave"] as const;
const USERS = ["alice", ...APPROVERS, "olga"] as const;
type User = (typeof USERS)[number];
const SLACK_IDS_OF = { alice: "U0ALICE01", bob: "U0BOB0001" } as const;
const APPROVALS_CHANNEL = "C0APPROVALS";
/** Rows of the large read: about 42 MB of NDJSON, some 40 chunks of 1 MiB. */
const BIG_ROWS = 200_000;
const CHUNK_ROUTE = "/api/agent/jobs/:job/result/chunks/:seq";

/**
 * The one config of every instance. `archive` is served by no agent: a read there is dispatched
 * and only the sweeper moves it on (back to approved once `dispatch_timeout_ms` has passed).
 */
function botConfig(stateUrl: string, port: number): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
state: { url: "${stateUrl}" }
databases: [{ name: shop, dialect: postgres, environments: [staging, production, archive] }]
workflows:
  - { name: reads-auto, operations: [read], auto_approve: always }
  - name: staging-writes
    database: shop
    environment: staging
    operations: [write]
    steps: [{ approvers: ["role:approver"] }]
  - name: production-writes
    database: shop
    environment: production
    operations: [write]
    steps: [{ approvers: ["role:approver"], min: 2 }]
users:
  - { id: alice, name: Alice, slack_user_id: ${SLACK_IDS_OF.alice}, roles: [requester] }
  - { id: bob, name: Bob, slack_user_id: ${SLACK_IDS_OF.bob}, roles: [approver] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dave, name: Dave, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }, { id: agent-2 }]
execution: { dispatch_timeout_ms: 2000, row_cap: ${BIG_ROWS} }
slack: { approvals_channel: ${APPROVALS_CHANNEL} }
`;
}

function agentYaml(dir: string, id: keyof typeof AGENT_TOKENS, frontUrl: string, key: Key): string {
  return `
id: ${id}
bot_url: ${frontUrl}
keys: { ${key.kid}: ${key.public_key} }
data_dir: ${join(dir, "data")}
poll_wait_ms: 1000
databases:
  - { name: shop, environment: staging, driver: postgres, url_env: SHOP_URL, operations: [read, write] }
  - { name: shop, environment: production, driver: postgres, url_env: SHOP_URL, operations: [read, write] }
`;
}

type Key = PublicKeysView["keys"][number];

interface Instance {
  readonly name: string;
  readonly url: string;
  readonly dir: string;
  readonly config: string;
  proc: Proc;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One API call on its own connection (`connection: close`), so a call through the front is
 * routed afresh, as a load balancer routes each new connection.
 */
async function attempt(
  base: string,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      connection: "close",
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

/** The periodic jobs an instance's log says it leads now (taken and not let go since). */
function ledJobs(p: Proc): Set<string> {
  const jobs = new Set<string>();
  // The last piece may be a line still being written.
  for (const line of p.stdout().split("\n").slice(0, -1)) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; job?: string };
    if (entry.job === undefined) continue;
    if (entry.msg === "this instance leads a periodic job") jobs.add(entry.job);
    if (entry.msg === "this instance stopped leading a job") jobs.delete(entry.job);
  }
  return jobs;
}

/** Result chunks an instance's log says it stored (one access-log line per chunk answered). */
function chunksStored(p: Proc): number {
  let n = 0;
  for (const line of p.stdout().split("\n").slice(0, -1)) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { route?: string; status?: number };
    if (entry.route === CHUNK_ROUTE && entry.status === 200) n += 1;
  }
  return n;
}

const isLive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;

describe("three bot instances on one PostgreSQL state behind a round-robin front", () => {
  const root = mkdtempSync(join(tmpdir(), "dbward-ha-"));
  const target = new pg.Client(PG_URL);
  const tokens = {} as Record<User, string>;
  const bots: Instance[] = [];
  const agents: Proc[] = [];
  let stateUrl = "";
  let front: TcpRelay | undefined;
  let frontUrl = "";
  let fake: FakeSlack | undefined;
  let botEnv: Record<string, string> = {};

  const api = async (base: string, user: User, method: string, path: string, body?: unknown) => {
    const a = await attempt(base, tokens[user], method, path, body);
    assert.ok(
      a.status >= 200 && a.status < 300,
      `${method} ${path} on ${base}: ${a.status} ${JSON.stringify(a.body)}`,
    );
    return a.body;
  };
  const create = async (base: string, environment: string, sql: string): Promise<RequestView> =>
    (await api(base, "alice", "POST", "/api/requests", {
      database: "shop",
      environment,
      sql,
      reason: "several bot instances",
    })) as RequestView;
  const view = async (base: string, id: number): Promise<RequestView> =>
    (await api(base, "olga", "GET", `/api/requests/${id}`)) as RequestView;
  const reaches = (base: string, id: number, status: RequestView["status"]) =>
    waitFor(`request #${id} ${status} (read on ${base})`, async () => {
      const v = await view(base, id);
      return v.status === status ? v : undefined;
    });
  const rowsInTarget = async (step: string): Promise<number> =>
    (await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${TABLE} WHERE step = $1`, [step]))
      .rows[0]?.n ?? -1;

  /** Rows of the audit trail, read from the state database itself. */
  const audited = async (sql: string, params: unknown[] = []) => {
    const state = new pg.Client(stateUrl);
    await state.connect();
    try {
      return (await state.query<{ seq?: number; details?: string }>(sql, params)).rows;
    } finally {
      await state.end();
    }
  };

  before(async () => {
    await target.connect();
    await target.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await target.query(`CREATE TABLE ${TABLE} (id serial PRIMARY KEY, step text NOT NULL)`);
    stateUrl = await ensureStateDatabase(root);
    fake = await FakeSlack.start();
    const env = { ...BOT_ENV, ...fake.env() };
    botEnv = env;
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const instances = [...ports].map((port, i) => ({
      name: `bot-${i + 1}`,
      url: `http://127.0.0.1:${port}`,
      dir: join(root, `bot-${i + 1}`),
      config: botConfig(stateUrl, port),
    }));
    for (const b of instances) mkdirSync(join(b.dir, "bot"), { recursive: true, mode: 0o700 });
    const [first, ...others] = instances;
    assert.ok(first !== undefined);
    bots.push({ ...first, proc: await startBotProcess(first.dir, first.config, env) });
    // The first instance made the key; the others sign with the same one.
    for (const b of others) {
      const copy = join(b.dir, "bot", KEY_FILE);
      copyFileSync(join(first.dir, "bot", KEY_FILE), copy);
      chmodSync(copy, 0o600);
    }
    // These two start at once, on state the first one has already migrated.
    const started = await Promise.all(others.map((b) => startBotProcess(b.dir, b.config, env)));
    others.forEach((b, i) => bots.push({ ...b, proc: started[i] as Proc }));

    const published = await Promise.all(
      bots.map(async (b) => ((await (await fetch(`${b.url}/api/public-key`)).json()) as PublicKeysView).keys),
    );
    for (const keys of published) assert.deepEqual(keys, published[0], "every instance signs with one key");
    const key = published[0]?.[0];
    assert.ok(key !== undefined);
    for (const user of USERS) {
      const issued = await attempt(bots[0]?.url ?? "", ADMIN, "POST", "/api/tokens", {
        user,
        name: "ha-test",
      });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      tokens[user] = (issued.body as { token: string }).token;
    }

    front = await startTcpRelay([...ports]);
    frontUrl = `http://127.0.0.1:${front.port}`;
    for (const id of ["agent-1", "agent-2"] as const) {
      const dir = join(root, id);
      mkdirSync(dir, { recursive: true });
      agents.push(
        startAgentProcess(dir, agentYaml(dir, id, frontUrl, key), {
          DBWARD_AGENT_TOKEN: AGENT_TOKENS[id],
          SHOP_URL: PG_URL,
        }),
      );
    }
  });

  after(async () => {
    killAllProcesses();
    await Promise.all([...bots.map((b) => b.proc.exited), ...agents.map((a) => a.exited)]);
    await front?.close();
    await fake?.close();
    await dropStateDatabase(root);
    await target.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await target.end();
    rmSync(root, { recursive: true, force: true });
  });

  const bot = (i: number): Instance => {
    const b = bots[i];
    assert.ok(b !== undefined, `instance ${i + 1} started`);
    return b;
  };

  test("a request created on one instance and approved on another runs, and its result is read on the third", async () => {
    const created = await create(
      bot(0).url,
      "staging",
      `INSERT INTO ${TABLE} (step) VALUES ('across') RETURNING step`,
    );
    assert.equal(created.status, "pending_approval");
    const approved = (await api(
      bot(1).url,
      "bob",
      "POST",
      `/api/requests/${created.id}/approve`,
      {},
    )) as RequestView;
    assert.equal(approved.status, "dispatched");
    const done = await reaches(bot(2).url, created.id, "succeeded");
    assert.equal(done.executions.length, 1);
    assert.ok(["agent-1", "agent-2"].includes(done.executions[0]?.agent ?? ""), done.executions[0]?.agent);
    const result = (await api(
      bot(2).url,
      "alice",
      "GET",
      `/api/requests/${created.id}/result`,
    )) as ResultView;
    assert.deepEqual(result.rows, [["across"]]);
    assert.equal(await rowsInTarget("across"), 1);
  });

  test("100 approvals at once over the three instances record one approval and run the SQL once", async () => {
    const created = await create(
      frontUrl,
      "staging",
      `INSERT INTO ${TABLE} (step) VALUES ('race') RETURNING step`,
    );
    assert.equal(created.status, "pending_approval");
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        attempt(
          bot(i % 3).url,
          tokens[APPROVERS[Math.floor(i / 3) % 3] ?? "bob"],
          "POST",
          `/api/requests/${created.id}/approve`,
          {},
        ),
      ),
    );
    const won = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.status)));
    for (const r of refused) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal((r.body as ErrorBody).error.code, "request.already_decided");
    }
    const done = await reaches(frontUrl, created.id, "succeeded");
    assert.equal(done.approvals.length, 1);
    assert.equal(done.executions.length, 1);
    assert.equal(await rowsInTarget("race"), 1);
    assert.ok(
      front?.connections().every((n) => n > 0),
      `the front hands connections to every instance: ${front?.connections().join(", ")}`,
    );
  });

  test("Slack calls signed as Slack signs them are served by any instance, and a replay to another is refused", async () => {
    assert.ok(fake !== undefined);
    const slack = fake;
    const to = (i: number) => new SlackRequests(`${bot(i).url}/slack/events`, slack);
    const asked = await to(0).command(
      SLACK_IDS_OF.alice,
      `query shop staging "asked in Slack" INSERT INTO ${TABLE} (step) VALUES ('slack') RETURNING step`,
    );
    assert.equal(asked.status, 200, asked.text);
    const id = await waitFor("the command's answer naming the new request", () => {
      const answers = slack.of("response_url").map((c) => JSON.stringify(c.args));
      const found = answers.map((a) => /Request #(\d+) created/.exec(a)?.[1]).find((n) => n !== undefined);
      return Promise.resolve(found === undefined ? undefined : Number(found));
    });
    await waitFor("the approval post in the channel", () =>
      Promise.resolve(
        slack
          .of("chat.postMessage")
          .find(
            (c) =>
              c.args.channel === APPROVALS_CHANNEL &&
              c.args.thread_ts === undefined &&
              JSON.stringify(c.args).includes(`#${id}`),
          ),
      ),
    );
    assert.equal((await view(frontUrl, id)).status, "pending_approval");

    const click = await to(1).click(
      SLACK_IDS_OF.bob,
      SLACK_IDS.actions.approve,
      String(id),
      APPROVALS_CHANNEL,
    );
    assert.equal(click.status, 200, click.text);
    const done = await reaches(bot(2).url, id, "succeeded");
    assert.deepEqual(
      done.approvals.map((a) => a.approver),
      ["bob"],
    );
    assert.equal(await rowsInTarget("slack"), 1);
    await waitFor("the approval post redrawn in the channel", () =>
      Promise.resolve(
        slack
          .of("chat.update")
          .find((c) => c.args.channel === APPROVALS_CHANNEL && JSON.stringify(c.args).includes(`#${id}`)),
      ),
    );

    const seqBefore = (await audited("SELECT max(seq)::int AS seq FROM audit_events"))[0]?.seq ?? 0;
    const replay = await to(2).sendRaw(click.sent.body, click.sent.headers);
    assert.equal(replay.status, 401, replay.text);
    const after = await view(frontUrl, id);
    assert.equal(after.approvals.length, 1, "the replay approved nothing");
    assert.equal(after.executions.length, 1);
    const refusals = await audited(
      "SELECT details FROM audit_events WHERE action = 'auth.failed' AND seq > $1",
      [seqBefore],
    );
    assert.deepEqual(
      refusals.map((r) => (JSON.parse(r.details ?? "{}") as { why?: string }).why),
      ["replayed request"],
    );
  });

  test("kill -9 of the instance receiving a large result mid-upload: a survivor takes the rest and the whole result reads back", async () => {
    const live = bots.filter((b) => isLive(b.proc));
    assert.equal(live.length, 3);
    const before = new Map(live.map((b) => [b, chunksStored(b.proc)]));
    const fresh = (b: Instance): number => chunksStored(b.proc) - (before.get(b) ?? 0);
    const created = await create(
      frontUrl,
      "staging",
      `SELECT g, repeat('x', 200) AS pad FROM generate_series(1, ${BIG_ROWS}) g`,
    );
    assert.equal(created.status, "dispatched");
    // Two chunks stored by one instance: the upload is under way, and that one receives it.
    const receiver = await waitFor("an instance storing the result's chunks", () =>
      Promise.resolve(live.find((b) => fresh(b) >= 2)),
    );
    receiver.proc.child.kill("SIGKILL");
    await receiver.proc.exited;
    const storedByReceiver = fresh(receiver);
    const survivors = live.filter((b) => b !== receiver);

    const done = await reaches(survivors[0]?.url ?? "", created.id, "succeeded");
    assert.equal(done.executions.length, 1);
    assert.equal(done.executions[0]?.row_count, BIG_ROWS);
    const taken = survivors.map(fresh);
    assert.ok(
      taken.some((n) => n > 0),
      `a survivor stored chunks after the kill (${storedByReceiver} before it on ${receiver.name}; survivors: ${taken.join(", ")})`,
    );

    const reader = survivors[1] ?? survivors[0];
    assert.ok(reader !== undefined);
    const meta = (await api(reader.url, "alice", "GET", `/api/requests/${created.id}/result`)) as ResultView;
    assert.equal(meta.row_count, BIG_ROWS);
    assert.equal(meta.truncated, false, JSON.stringify(meta.truncated_by));
    const res = await fetch(`${reader.url}/api/requests/${created.id}/result?format=ndjson`, {
      headers: { authorization: `Bearer ${tokens.alice}`, connection: "close" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-dbward-row-count"), String(BIG_ROWS));
    const lines = (await res.text()).split("\n");
    if (lines.at(-1) === "") lines.pop();
    assert.deepEqual(JSON.parse(lines[0] ?? "null"), ["g", "pad"]);
    assert.equal(lines.length, BIG_ROWS + 1);
    const pad = "x".repeat(200);
    for (let g = 1; g <= BIG_ROWS; g += 1) {
      const line = lines[g];
      if (line !== `[${g},"${pad}"]`) assert.fail(`row ${g} is ${line?.slice(0, 40)}`);
    }
  });

  test("kill -9 of the instance leading the periodic jobs: the others finish its request, take the sweeper over and run new work", async () => {
    const leader = await waitFor("one instance leading the sweeper", () => {
      // A log ends with what its process led when it died: only live instances count.
      const leading = bots.filter((b) => isLive(b.proc) && ledJobs(b.proc).has("sweeper"));
      return Promise.resolve(leading.length === 1 ? leading[0] : undefined);
    });
    const survivors = bots.filter((b) => b !== leader && isLive(b.proc));

    // Created and given its first of two approvals on the leader, which then dies.
    const created = await create(
      leader.url,
      "production",
      `INSERT INTO ${TABLE} (step) VALUES ('orphan') RETURNING step`,
    );
    const half = (await api(
      leader.url,
      "bob",
      "POST",
      `/api/requests/${created.id}/approve`,
      {},
    )) as RequestView;
    assert.equal(half.status, "pending_approval");
    leader.proc.child.kill("SIGKILL");
    await leader.proc.exited;

    const approved = (await api(
      frontUrl,
      "carol",
      "POST",
      `/api/requests/${created.id}/approve`,
      {},
    )) as RequestView;
    assert.equal(approved.status, "dispatched");
    const done = await reaches(survivors[0]?.url ?? "", created.id, "succeeded");
    assert.deepEqual(
      done.approvals.map((a) => a.approver),
      ["bob", "carol"],
    );
    assert.equal(done.executions.length, 1);
    assert.equal(await rowsInTarget("orphan"), 1);

    // The sweeper on a survivor: a dispatch no agent can take goes back to approved.
    await waitFor("a survivor leading the sweeper", () =>
      Promise.resolve(survivors.find((b) => ledJobs(b.proc).has("sweeper"))),
    );
    const unserved = await create(frontUrl, "archive", "SELECT 1 AS nobody_serves_archive");
    assert.equal(unserved.status, "dispatched");
    const timedOut = await reaches(frontUrl, unserved.id, "approved");
    assert.equal(timedOut.executions.length, 0);

    const fresh = await create(
      frontUrl,
      "staging",
      `INSERT INTO ${TABLE} (step) VALUES ('after the kill') RETURNING step`,
    );
    await api(frontUrl, "dave", "POST", `/api/requests/${fresh.id}/approve`, {});
    const ran = await reaches(frontUrl, fresh.id, "succeeded");
    assert.equal(ran.executions.length, 1);
    assert.equal(await rowsInTarget("after the kill"), 1);
  });

  test("kill -9 of an instance after it recorded a claim and before its answer left: the job is lost, never run, and a survivor serves new work", async () => {
    // An instance killed earlier comes back on its data directory and serves again.
    const dead = bots.find((b) => !isLive(b.proc));
    assert.ok(dead !== undefined, "an instance killed by an earlier test");
    dead.proc = await startBotProcess(dead.dir, dead.config, botEnv);
    assert.ok(bots.filter((b) => isLive(b.proc)).length >= 2);
    // The winning claim reaches an instance and is committed there; its answer (the token) never
    // reaches the agent, as when the instance dies between the two. A losing claim by the other
    // agent is answered 409 as usual.
    const held = front?.withholdAnswerTo(/^POST \/api\/agent\/jobs\/[^ ]+\/claim /, /^HTTP\/1\.1 200 /);
    assert.ok(held !== undefined);
    const created = await create(
      frontUrl,
      "staging",
      `INSERT INTO ${TABLE} (step) VALUES ('claim answer lost') RETURNING step`,
    );
    await api(frontUrl, "dave", "POST", `/api/requests/${created.id}/approve`, {});
    const answeredBy = bot(await held);
    assert.ok(isLive(answeredBy.proc), `${answeredBy.name} answered the claim`);
    answeredBy.proc.child.kill("SIGKILL");
    await answeredBy.proc.exited;
    const survivor = bots.find((b) => isLive(b.proc));
    assert.ok(survivor !== undefined);

    const claimed = await view(survivor.url, created.id);
    assert.equal(claimed.status, "running", "the claim was recorded before the instance died");
    assert.equal(claimed.executions.length, 1);
    // No agent holds the token, so nothing heartbeats: once the lease runs out the survivor's
    // sweeper declares the job lost. It is never handed out again: whether it ran cannot be
    // known from the state, so only a person may run it again.
    const lost = await waitFor(
      `request #${created.id} lost`,
      async () => {
        const v = await view(survivor.url, created.id);
        return v.status === "lost" ? v : undefined;
      },
      90_000,
    );
    assert.equal(lost.executions.length, 1);
    assert.equal(await rowsInTarget("claim answer lost"), 0, "the SQL never ran");
    const lostEvents = await audited(
      "SELECT details FROM audit_events WHERE target = $1 AND action = 'request.lost'",
      [`request:${created.id}`],
    );
    assert.equal(lostEvents.length, 1, "lost once, by one instance");
    assert.match(lostEvents[0]?.details ?? "", /not re-run automatically/);

    const fresh = await create(
      frontUrl,
      "staging",
      `INSERT INTO ${TABLE} (step) VALUES ('after the lost claim') RETURNING step`,
    );
    await api(frontUrl, "dave", "POST", `/api/requests/${fresh.id}/approve`, {});
    const ran = await reaches(frontUrl, fresh.id, "succeeded");
    assert.equal(ran.executions.length, 1);
    assert.equal(await rowsInTarget("after the lost claim"), 1);
  });

  test("dbward audit verify --state-url finds one chain with no gap, written by every instance", async () => {
    const cli = spawnDbward(["audit", "verify", "--state-url", stateUrl, "--json"], {});
    assert.equal(await cli.exited, 0, cli.stderr());
    const verdict = JSON.parse(cli.stdout()) as { ok: boolean; count: number };
    assert.equal(verdict.ok, true, cli.stdout());
    const state = new pg.Client(stateUrl);
    await state.connect();
    try {
      const seqs = (
        await state.query<{ n: number; first: number; last: number }>(
          "SELECT count(*)::int AS n, min(seq)::int AS first, max(seq)::int AS last FROM audit_events",
        )
      ).rows[0];
      assert.deepEqual(seqs, { n: verdict.count, first: 1, last: verdict.count });
    } finally {
      await state.end();
    }
  });
});
