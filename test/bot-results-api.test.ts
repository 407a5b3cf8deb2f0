/**
 * The bot's side of result chunks and of an operator's retry, over real HTTP with a scripted
 * agent: every refusal path of the chunk route, idempotent retries, the bot's own cap check, and
 * a lost request run again only by an explicit retry with a new token.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentCapability, ClaimResponse, PollResponse, RequestView } from "@dbward/shared";
import { DbwardError, encodeColumnsHeader, RESULT_COLUMNS_HEADER } from "@dbward/shared";
import type { ResultStore } from "../bot/src/results/result-store.ts";
import { submitResultChunk } from "../bot/src/use-cases/submit-result-chunk.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { followReader } from "./support/follow-reader.ts";
import { stateOnPostgres } from "./support/postgres-state.ts";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production, staging] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: bob, name: Bob, roles: [requester] }
  - { id: oscar, name: Oscar, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }, { id: agent-2 }]
execution: { row_cap: 5, result_max_bytes: 2048, lease_margin_ms: 1000 }
execution_policies: [{ database: shop, environment: staging, result_max_bytes: 4194304 }]
`;
const CAPS: AgentCapability[] = [
  { database: "shop", environment: "production", operations: ["read"] },
  { database: "shop", environment: "staging", operations: ["read"] },
];

describe("result chunks and retries on the bot", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG, { sweepIntervalMs: 50 });
  });
  after(() => h.stop());

  const agent = (id = "agent-1"): string => h.agentTokens[id] ?? assert.fail("no agent token");

  async function claimed(
    sql = "SELECT 1",
    environment = "production",
  ): Promise<{ claim: ClaimResponse; id: number }> {
    const r = (
      await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
        database: "shop",
        environment,
        sql,
        reason: "test",
      })
    ).body as RequestView;
    const poll = (await h.call(agent(), "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 }))
      .body as PollResponse;
    const offer = poll.jobs.find((j) => j.request_id === r.id) ?? assert.fail("not offered");
    const claim = (await h.call(agent(), "POST", `/api/agent/jobs/${offer.job_id}/claim`, {}))
      .body as ClaimResponse;
    return { claim, id: r.id };
  }

  async function chunk(jobId: string, seq: number | string, body: string, id = "agent-1") {
    const res = await fetch(`${h.url}/api/agent/jobs/${jobId}/result/chunks/${seq}`, {
      method: "POST",
      headers: { authorization: `Bearer ${agent(id)}`, "content-type": "application/x-ndjson" },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  test("stores chunks in order, acknowledges a repeated one without storing it twice, and refuses a gap", async () => {
    const { claim } = await claimed();
    assert.equal(claim.result_max_bytes, 2048);
    assert.deepEqual((await chunk(claim.job_id, 0, "[1]\n[2]\n")).body, { next_seq: 1, cancel: false });
    assert.deepEqual((await chunk(claim.job_id, 0, "[1]\n[2]\n")).body, { next_seq: 1, cancel: false });
    // Beside PostgreSQL state the chunks are rows of its result_chunks table; beside SQLite, files.
    const rows = await h.bot.store.selectFrom("result_chunks").select("seq").execute();
    assert.deepEqual(rows, stateOnPostgres() ? [{ seq: 0 }] : []);
    const gap = await chunk(claim.job_id, 2, "[3]\n");
    assert.equal(gap.status, 409);
    assert.equal((gap.body.error as { code: string }).code, "job.chunk_out_of_order");
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns: ["n"], chunks: 1, row_count: 2, bytes: 8, truncated_by: null },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const view = (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${claim.request_id}/result`))
      .body as {
      rows: unknown[][];
      row_count: number;
    };
    assert.deepEqual([view.rows, view.row_count], [[[1], [2]], 2]);
  });

  /** Ends a claimed job as the agent does once its chunks are stored. */
  function finish(claim: ClaimResponse, columns: string[], rows: number, bytes: number) {
    return h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns, chunks: 1, row_count: rows, bytes, truncated_by: null },
    });
  }

  async function downloadText(requestId: number, format: string): Promise<string> {
    const res = await fetch(`${h.url}/api/requests/${requestId}/result?format=${format}`, {
      headers: { authorization: `Bearer ${await h.tokenFor("alice")}` },
    });
    assert.equal(res.status, 200);
    return res.text();
  }

  test("values too deep to read back (a hostile 200,000-deep array, 10,000-deep JSON) still record the finished read", async () => {
    const hostile = `${"{".repeat(200_000)}1${"}".repeat(200_000)}`;
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const csv = `%csv text[],json\n${hostile},${deep}\n`;
    const first = await claimed("SELECT 3", "staging");
    assert.deepEqual((await chunk(first.claim.job_id, 0, csv)).body, { next_seq: 1, cancel: false });
    const done = await finish(first.claim, ["a", "j"], 1, Buffer.byteLength(csv));
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const ndjson = (await downloadText(first.claim.request_id, "ndjson")).trimEnd().split("\n");
    assert.equal(ndjson[1], `[${JSON.stringify(hostile)},${deep}]`);
    // An NDJSON row too deep for JSON.stringify: the preview cannot hold it, the record still lands.
    const line = `[${deep}]\n`;
    const second = await claimed("SELECT 4", "staging");
    await chunk(second.claim.job_id, 0, line);
    const ended = await finish(second.claim, ["j"], 1, line.length);
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    for (const { claim } of [first, second]) {
      const view = (await h.call(await h.tokenFor("alice"), "GET", `/api/requests/${claim.request_id}`))
        .body as RequestView;
      assert.equal(view.status, "succeeded");
    }
  });

  test("a reader that hangs up mid-download costs nothing: the next reader gets the whole result", async () => {
    // Three 1 MB chunks: more than the sockets between bot and reader hold, so the bot is still
    // writing the result when the reader goes.
    const { claim } = await claimed("SELECT 9", "staging");
    const row = `${"x".repeat(1024 * 1024)}\n`;
    for (const seq of [0, 1, 2]) {
      assert.deepEqual((await chunk(claim.job_id, seq, `%csv text\n${row}`)).body, {
        next_seq: seq + 1,
        cancel: false,
      });
    }
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns: ["x"], chunks: 3, row_count: 3, bytes: 3 * (row.length + 10), truncated_by: null },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const url = `${h.url}/api/requests/${claim.request_id}/result?format=csv`;
    const headers = { authorization: `Bearer ${await h.tokenFor("alice")}` };
    const gone = new AbortController();
    const first = await fetch(url, { headers, signal: gone.signal });
    assert.equal(first.status, 200);
    const reader = first.body?.getReader() ?? assert.fail("no body");
    assert.equal((await reader.read()).done, false);
    gone.abort();
    const whole = await (await fetch(url, { headers })).text();
    assert.equal(whole, `x\n${row.repeat(3)}`);
  });

  const follow = (requestId: number, token: string, format = "csv") =>
    followReader(h.url, requestId, token, format);

  /** Ends a claimed job as failed, so it holds none of the agent's slots in the tests after it. */
  async function endFailed(claim: ClaimResponse): Promise<void> {
    const res = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "failed",
      duration_ms: 5,
      error: { code: "execution.failed", message: "ended by the test" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 400 && !ok(); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(ok(), what);
  }

  function chunkWithColumns(jobId: string, seq: number, body: string, names: string[]) {
    return fetch(`${h.url}/api/agent/jobs/${jobId}/result/chunks/${seq}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${agent()}`,
        "content-type": "application/x-ndjson",
        [RESULT_COLUMNS_HEADER]: encodeColumnsHeader(names) ?? assert.fail("names too wide"),
      },
      body,
    });
  }

  test("a reader following a running result gets each chunk as it lands, then the totals as trailers", async () => {
    const { claim } = await claimed("SELECT 21", "staging");
    const reader = follow(claim.request_id, await h.tokenFor("alice"));
    assert.equal((await chunkWithColumns(claim.job_id, 0, "[1]\n[2]\n", ["n"])).status, 200);
    await until("chunk 0 reached the reader", () => reader.text() === "n\n1\n2\n");
    assert.equal(reader.headers()["x-dbward-follow"], "true");
    assert.deepEqual((await chunk(claim.job_id, 1, "[3]\n")).body, { next_seq: 2, cancel: false });
    await until("chunk 1 reached the reader", () => reader.text() === "n\n1\n2\n3\n");
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns: ["n"], chunks: 2, row_count: 3, bytes: 12, truncated_by: null },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const end = await reader.ended;
    assert.equal(end.error, undefined);
    assert.deepEqual(
      [
        end.trailers["x-dbward-row-count"],
        end.trailers["x-dbward-truncated"],
        end.trailers["x-dbward-bytes"],
      ],
      ["3", "false", "12"],
    );
    // The same bytes as the stored result's download, and the read audited as followed.
    assert.equal(reader.text(), await downloadText(claim.request_id, "csv"));
    const audit = await h.bot.store
      .selectFrom("audit_events")
      .select("details")
      .where("action", "=", "result.read")
      .where("target", "=", `request:${claim.request_id}`)
      .execute();
    assert.ok(audit.some((a) => (JSON.parse(a.details) as { follow?: boolean }).follow === true));
  });

  test("a followed execution that fails cuts the stream off: the rows sent are never a whole result", async () => {
    const { claim } = await claimed("SELECT 22", "staging");
    const reader = follow(claim.request_id, await h.tokenFor("alice"), "ndjson");
    await chunkWithColumns(claim.job_id, 0, "[1]\n", ["n"]);
    await until("chunk 0 reached the reader", () => reader.text() === '["n"]\n[1]\n');
    await endFailed(claim);
    const end = await reader.ended;
    assert.ok(end.error !== undefined, "the stream must not end cleanly");
    assert.deepEqual(end.trailers, {});
  });

  test("a chunk 0 sent again brings the names the bot lost (stored the chunk, went down before the names): the result can still be followed", async () => {
    const { claim } = await claimed("SELECT 26", "staging");
    // What a bot killed between storing chunk 0 and recording its names leaves: the chunk alone.
    assert.deepEqual((await chunk(claim.job_id, 0, "[1]\n")).body, { next_seq: 1, cancel: false });
    // The agent, never having seen the answer, sends chunk 0 again, with the names.
    const again = await chunkWithColumns(claim.job_id, 0, "[1]\n", ["n"]);
    assert.deepEqual(await again.json(), { next_seq: 1, cancel: false });
    const reader = follow(claim.request_id, await h.tokenFor("alice"));
    await until("the reader follows", () => reader.text() === "n\n1\n");
    assert.equal(reader.headers()["x-dbward-follow"], "true");
    reader.hangUp();
    await endFailed(claim);
  });

  test("follow refuses JSON, a follow value other than true, and a reader the result policy refuses, before waiting", async () => {
    const { claim } = await claimed("SELECT 23", "staging");
    const alice = await h.tokenFor("alice");
    for (const [query, code] of [
      ["format=json&follow=true", "request.invalid"],
      ["follow=true", "request.invalid"],
      ["format=csv&follow=1", "request.invalid"],
    ] as const) {
      const res = await h.call(alice, "GET", `/api/requests/${claim.request_id}/result?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal((res.body as { error: { code: string } }).error.code, code, query);
    }
    // Bob is no reader of Alice's results (results.readers: requester, by default).
    const bob = await h.tokenFor("bob");
    const refused = await h.call(
      bob,
      "GET",
      `/api/requests/${claim.request_id}/result?format=csv&follow=true`,
    );
    assert.ok(refused.status === 403 || refused.status === 404, JSON.stringify(refused.body));
    await endFailed(claim);
  });

  test("chunk 0 with column names that are not base64url JSON names is refused and stores nothing", async () => {
    const { claim } = await claimed("SELECT 24", "staging");
    for (const bad of [
      "not base64!",
      Buffer.from('{"a":1}').toString("base64url"),
      Buffer.from("[1,2]").toString("base64url"),
    ]) {
      const res = await fetch(`${h.url}/api/agent/jobs/${claim.job_id}/result/chunks/0`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${agent()}`,
          "content-type": "application/x-ndjson",
          [RESULT_COLUMNS_HEADER]: bad,
        },
        body: "[1]\n",
      });
      assert.equal(res.status, 400, bad);
    }
    assert.deepEqual(await h.bot.ctx.results.listChunks(claim.job_id), []);
    await endFailed(claim);
  });

  test("a reader whose token is revoked while they wait gets the refusal, not the rows", async () => {
    const { claim } = await claimed("SELECT 25", "staging");
    const oscar = await h.tokenFor("oscar");
    const reader = follow(claim.request_id, oscar);
    // Oscar (an operator, who may read any result) waits; then he is suspended, which revokes his token.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const suspended = await h.call(h.adminToken, "POST", "/api/users/oscar/suspend", { reason: "left" });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    await chunkWithColumns(claim.job_id, 0, "[1]\n", ["n"]);
    const end = await reader.ended;
    assert.equal(reader.status(), 401, reader.text());
    assert.doesNotMatch(reader.text(), /^n\n1/);
    assert.equal(end.error, undefined);
    await endFailed(claim);
  });

  test("refuses a later chunk whose CSV head is not chunk 0's, CSV and NDJSON chunks mixed, and a head wider than the columns", async () => {
    const csv = await claimed("SELECT 5");
    assert.equal((await chunk(csv.claim.job_id, 0, "%csv number\n1\n")).status, 200);
    for (const other of ["%csv text\n2\n", "%csv number,number\n2,3\n", "[2]\n"]) {
      const refused = await chunk(csv.claim.job_id, 1, other);
      assert.equal(refused.status, 400, other);
      assert.equal((refused.body.error as { code: string }).code, "request.invalid");
    }
    assert.equal((await chunk(csv.claim.job_id, 1, "%csv number\n2\n")).status, 200);
    const ndjson = await claimed("SELECT 6");
    assert.equal((await chunk(ndjson.claim.job_id, 0, "[1]\n")).status, 200);
    assert.equal((await chunk(ndjson.claim.job_id, 1, "%csv number\n2\n")).status, 400);
    const wide = await claimed("SELECT 7");
    assert.equal((await chunk(wide.claim.job_id, 0, "%csv number,number\n1,2\n")).status, 200);
    const refused = await finish(wide.claim, ["n"], 1, 21);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /declares 1 columns but its CSV chunks hold 2/);
  });

  test("refuses a CSV chunk with an unquoted \\. as a one-column row, or a NUL byte outside quotes", async () => {
    const { claim } = await claimed("SELECT 8");
    for (const bad of ["%csv text\na\n\\.\n", "%csv text,text\na,b\u0000c\n", "%csv text\n\u0000\n"]) {
      assert.equal((await chunk(claim.job_id, 0, bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await chunk(claim.job_id, 0, '%csv text,text\n\\.,"\\."\n')).status, 200);
    assert.equal((await chunk(claim.job_id, 1, '%csv text,text\n"a\n\\.\nb",x\n')).status, 200);
    // MySQL text can hold NUL; quoted, it is stored and reads back as it was.
    assert.equal((await chunk(claim.job_id, 2, '%csv text,text\n"a\u0000b",x\n')).status, 200);
  });

  test("answers 410 'no longer available', never 500, for a result whose stored chunks are gone", async () => {
    const { claim } = await claimed("SELECT 2");
    await chunk(claim.job_id, 0, "[1]\n[2]\n");
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns: ["n"], chunks: 1, row_count: 2, bytes: 8, truncated_by: null },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    // What a restore without the results leaves: the state says stored, the chunks are gone (files
    // under the data directory, or rows in PostgreSQL when the state is there).
    await h.bot.ctx.results.remove(claim.job_id);
    const alice = await h.tokenFor("alice");
    for (const path of [
      `/api/requests/${claim.request_id}/result`,
      `/api/requests/${claim.request_id}/result?format=csv`,
    ]) {
      const res = await h.call(alice, "GET", path);
      assert.equal(res.status, 410, `${path}: ${JSON.stringify(res.body)}`);
      assert.match(JSON.stringify(res.body), /no longer available/);
    }
  });

  test("refuses a chunk that is not NDJSON rows, a bad seq, another agent's job, and rows past the cap", async () => {
    const { claim } = await claimed();
    assert.equal((await chunk(claim.job_id, 0, '{"not":"a row"}\n')).status, 400);
    assert.equal((await chunk(claim.job_id, 0, "[1]")).status, 400, "a chunk ends in a newline");
    assert.equal((await chunk(claim.job_id, "-1", "[1]\n")).status, 400);
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", "agent-2")).status, 404);
    const over = await chunk(claim.job_id, 0, "[1]\n[2]\n[3]\n[4]\n[5]\n[6]\n");
    assert.equal(over.status, 413);
  });

  test("a cancelled request's chunks are not stored, and the answer says to stop", async () => {
    const { claim, id } = await claimed();
    await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${id}/cancel`, { reason: "no" });
    assert.deepEqual((await chunk(claim.job_id, 0, "[1]\n")).body, { next_seq: 0, cancel: true });
  });

  test("a lost request runs again only by an operator's retry, as a new execution with a new token", async () => {
    const { claim, id } = await claimed();
    const deadline = Date.now() + 15_000;
    let view: RequestView;
    do {
      await new Promise((resolve) => setTimeout(resolve, 50));
      view = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${id}`)).body as RequestView;
    } while (view.status !== "lost" && Date.now() < deadline);
    assert.equal(view.status, "lost");
    const late = await chunk(claim.job_id, 0, "[1]\n");
    assert.equal((late.body.error as { code: string }).code, "job.lease_lost");
    const refused = await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${id}/retry`, {
      reason: "again",
    });
    assert.equal(refused.status, 403);
    const noReason = await h.call(await h.tokenFor("olga"), "POST", `/api/requests/${id}/retry`, {
      reason: " ",
    });
    assert.equal(noReason.status, 400);
    const retried = await h.call(await h.tokenFor("olga"), "POST", `/api/requests/${id}/retry`, {
      reason: "checked: it did not run",
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((retried.body as RequestView).status, "dispatched");
    const poll = (await h.call(agent(), "POST", "/api/agent/poll", { capabilities: CAPS, wait_ms: 0 }))
      .body as PollResponse;
    const offer = poll.jobs.find((j) => j.request_id === id) ?? assert.fail("not offered again");
    const second = (await h.call(agent(), "POST", `/api/agent/jobs/${offer.job_id}/claim`, {}))
      .body as ClaimResponse;
    assert.equal(second.execution, 2);
    assert.notEqual(second.token, claim.token);
    const again = await h.call(await h.tokenFor("olga"), "POST", `/api/requests/${id}/retry`, {
      reason: "twice",
    });
    assert.equal(again.status, 409, "only a lost request can be retried");
  });

  test("a chunk that lands after the sweep marked its execution lost and removed its rows is removed too", async () => {
    const { claim } = await claimed();
    const real = h.bot.ctx.results;
    // The sweep's loss lands while this chunk is on its way: the execution is lost and its rows
    // removed just before the chunk is written, as a sweep on another instance may do.
    const racing: ResultStore = {
      putChunk: async (key, seq, rows, body) => {
        await h.bot.store.updateTable("executions").set({ status: "lost" }).where("id", "=", key).execute();
        await real.remove(key);
        await real.putChunk(key, seq, rows, body);
      },
      listChunks: (key) => real.listChunks(key),
      read: (key, count) => real.read(key, count),
      seal: (key) => real.seal(key),
      remove: (key) => real.remove(key),
    };
    await assert.rejects(
      submitResultChunk(
        { ...h.bot.ctx, results: racing },
        "agent-1",
        claim.job_id,
        "0",
        Buffer.from("[1]\n"),
      ),
      (err: unknown) => err instanceof DbwardError && err.code === "job.lease_lost",
    );
    assert.deepEqual(await real.listChunks(claim.job_id), [], "no rows of the lost execution stay behind");
  });
});
