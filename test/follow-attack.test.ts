/**
 * Hostile review of following a result while it is stored (GET …/result?follow=true, the
 * x-dbward-columns header, `dbward request result --follow`). Each test asserts the secure
 * behaviour: it fails while the bug is there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentCapability, ClaimResponse } from "@dbward/shared";
import { RESULT_COLUMNS_HEADER } from "@dbward/shared";
import { downloadResult } from "../cli/src/commands/result-download.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { followJobs } from "./support/follow-jobs.ts";
import { followReader } from "./support/follow-reader.ts";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production, staging] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [requester] }
  - { id: oscar, name: Oscar, roles: [operator] }
  - { id: ulla, name: Ulla, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { row_cap: 1000, result_max_bytes: 1048576, lease_margin_ms: 30000 }
`;
const CAPS: AgentCapability[] = [
  { database: "shop", environment: "production", operations: ["read"] },
  { database: "shop", environment: "staging", operations: ["read"] },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function harnessHelpers(get: () => BotHarness) {
  const { agent, claimed, chunk } = followJobs(get, CAPS, 100);
  const follow = (requestId: number, token: string, format = "csv") =>
    followReader(get().url, requestId, token, format);
  async function endFailed(claim: ClaimResponse): Promise<void> {
    const res = await get().call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "failed",
      duration_ms: 5,
      error: { code: "execution.failed", message: "ended by the test" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok() && Date.now() < deadline) await sleep(20);
    assert.ok(ok(), what);
  }
  async function downloadText(requestId: number, format: string): Promise<string> {
    const h = get();
    const res = await fetch(`${h.url}/api/requests/${requestId}/result?format=${format}`, {
      headers: { authorization: `Bearer ${await h.tokenFor("alice")}` },
    });
    assert.equal(res.status, 200);
    return res.text();
  }
  return { agent, claimed, chunk, follow, endFailed, until, downloadText };
}

describe("following a result, attacked", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG, { sweepIntervalMs: 50 });
  });
  after(() => h.stop());
  const { agent, claimed, chunk, follow, endFailed, until, downloadText } = harnessHelpers(() => h);

  test("follower slots come back when readers hang up while waiting, and when re-authentication fails; one person holds at most four", async () => {
    const { claim } = await claimed();
    const oscar = await h.tokenFor("oscar");
    // Four readers wait (no column names yet); a fifth from the same person is refused at once.
    const waiting = Array.from({ length: 4 }, () => follow(claim.request_id, oscar));
    await sleep(300);
    for (const w of waiting) assert.equal(w.status(), 0, "still waiting");
    const fifth = follow(claim.request_id, oscar);
    await fifth.ended;
    assert.equal(fifth.status(), 429, fifth.text());
    assert.match(fifth.text(), /you follow 4 results already/);
    for (const w of waiting) w.hangUp();
    await sleep(300);
    // Their slots came back: four more wait, then their holder is suspended (her token revoked),
    // so re-authentication when the rows start fails for each.
    const ulla = await h.tokenFor("ulla");
    const revoked = Array.from({ length: 4 }, () => follow(claim.request_id, ulla));
    const again = Array.from({ length: 4 }, () => follow(claim.request_id, oscar));
    await sleep(300);
    for (const w of [...revoked, ...again])
      assert.equal(w.status(), 0, `slot free after hang-ups (got ${w.status()})`);
    for (const w of again) w.hangUp();
    const suspended = await h.call(h.adminToken, "POST", "/api/users/ulla/suspend", { reason: "left" });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["n"])).status, 200);
    await Promise.all(revoked.map((w) => w.ended));
    for (const w of revoked) assert.equal(w.status(), 401, "a revoked token gets no rows");
    // Ulla active again with a new token: her four slots came back after the refusals.
    const activated = await h.call(h.adminToken, "POST", "/api/users/ulla/activate", { reason: "back" });
    assert.equal(activated.status, 200, JSON.stringify(activated.body));
    const minted = await h.call(h.adminToken, "POST", "/api/tokens", { user: "ulla", name: "again" });
    const fresh = (minted.body as { token: string }).token;
    const served = Array.from({ length: 4 }, () => follow(claim.request_id, fresh));
    await until("her four readers are served", () => served.every((w) => w.text() === "n\n1\n"), 5000);
    for (const w of served) w.hangUp();
    await endFailed(claim);
  });

  test("a late 'succeeded_unreported' report never ends a followed stream cleanly with rows its trailers deny", async () => {
    const { claim } = await claimed();
    const reader = follow(claim.request_id, await h.tokenFor("alice"));
    assert.equal((await chunk(claim.job_id, 0, "[1]\n[2]\n", ["n"])).status, 200);
    await until("chunk 0 reached the reader", () => reader.text() === "n\n1\n2\n");
    const late = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      delivery: "late",
      outcome: "succeeded_unreported",
      started_at: new Date().toISOString(),
      row_count: 2,
    });
    assert.equal(late.status, 200, JSON.stringify(late.body));
    const end = await reader.ended;
    if (end.error === undefined) {
      // A clean end is a claim that the body is the result: its trailers must agree with it.
      const rows = reader.text().trimEnd().split("\n").length - 1;
      assert.equal(
        end.trailers["x-dbward-row-count"],
        String(rows),
        `clean end with ${rows} rows but trailers ${JSON.stringify(end.trailers)}`,
      );
    }
  });

  test("the followed stream is the stored result: column names in the header that the result does not declare cut it off", async () => {
    const { claim } = await claimed();
    const reader = follow(claim.request_id, await h.tokenFor("alice"));
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["password_hash"])).status, 200);
    await until("chunk 0 reached the reader", () => reader.text().endsWith("1\n"));
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: { columns: ["n"], chunks: 1, row_count: 1, bytes: 4, truncated_by: null },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const end = await reader.ended;
    if (end.error === undefined) assert.equal(reader.text(), await downloadText(claim.request_id, "csv"));
  });

  test("an HTTP/1.0 reader (no chunked framing, no trailers) never gets a failed execution's rows as a clean 200", async () => {
    const { claim } = await claimed();
    const token = await h.tokenFor("alice");
    const url = new URL(h.url);
    const sock = connect(Number(url.port), url.hostname);
    const got: Buffer[] = [];
    sock.on("data", (d: Buffer) => got.push(d));
    const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
    sock.on("error", () => {});
    sock.write(
      `GET /api/requests/${claim.request_id}/result?format=csv&follow=true HTTP/1.0\r\n` +
        `Host: ${url.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    await sleep(200);
    assert.equal((await chunk(claim.job_id, 0, "[1]\n[2]\n", ["n"])).status, 200);
    await sleep(400);
    await endFailed(claim);
    await Promise.race([closed, sleep(3000)]);
    sock.destroy();
    const raw = Buffer.concat(got).toString("utf8");
    const status = raw.split("\r\n")[0] ?? "";
    const body = raw.split("\r\n\r\n").slice(1).join("\r\n\r\n");
    // Over HTTP/1.0 the end of the body is the connection's close: a cut-off stream looks whole.
    assert.ok(
      !(/ 200 /.test(status) && body.includes("1\n2\n")),
      `HTTP/1.0 reader got a 200 with the failed execution's rows:\n${raw.slice(0, 400)}`,
    );
    // Refused before any wait, saying why.
    assert.match(status, / 400 /, raw.slice(0, 400));
    assert.match(body, /needs HTTP\/1\.1/);
  });

  test("a cancelled request's followed stream is cut off, never ends cleanly", async () => {
    const { claim, id } = await claimed();
    const reader = follow(id, await h.tokenFor("alice"));
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["n"])).status, 200);
    await until("chunk 0 reached the reader", () => reader.text() === "n\n1\n");
    const c = await h.call(await h.tokenFor("alice"), "POST", `/api/requests/${id}/cancel`, { reason: "no" });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal((await chunk(claim.job_id, 1, "[2]\n")).body.cancel, true);
    const done = await h.call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "cancelled",
      duration_ms: 5,
      error: { code: "execution.cancelled", message: "cancelled" },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const end = await reader.ended;
    assert.ok(end.error !== undefined, "a cancelled execution's stream must be cut off");
  });

  test("a columns header on chunk 1, or on a re-sent chunk 0, does not change the recorded names", async () => {
    const { claim } = await claimed();
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["n"])).status, 200);
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["evil"])).status, 200);
    assert.equal((await chunk(claim.job_id, 1, "[2]\n", ["evil2"])).status, 200);
    const reader = follow(claim.request_id, await h.tokenFor("alice"), "ndjson");
    await until("reader got the rows", () => reader.text() === '["n"]\n[1]\n[2]\n');
    // A header too large for the bot: refused, nothing stored.
    const big = await fetch(`${h.url}/api/agent/jobs/${claim.job_id}/result/chunks/2`, {
      method: "POST",
      headers: { authorization: `Bearer ${agent()}`, [RESULT_COLUMNS_HEADER]: "A".repeat(20000) },
      body: "[3]\n",
    });
    assert.ok(big.status >= 400, `huge header: ${big.status}`);
    await endFailed(claim);
    await reader.ended;
  });

  test("the CLI leaves a file it was given alone when the bot refuses before any byte", async () => {
    const { claim } = await claimed();
    const dir = mkdtempSync(join(tmpdir(), "follow-attack-"));
    const out = join(dir, "precious.csv");
    writeFileSync(out, "keep me\n");
    await assert.rejects(
      downloadResult({
        url: h.url,
        token: await h.tokenFor("bob"),
        id: claim.request_id,
        format: "csv",
        out,
        follow: true,
        progress: { write: () => {} },
      }),
    );
    assert.equal(readFileSync(out, "utf8"), "keep me\n");
    rmSync(dir, { recursive: true, force: true });
    await endFailed(claim);
  });
});

describe("following under state encryption", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG, { env: { DBWARD_STATE_KEY: randomBytes(32).toString("base64") } });
  });
  after(() => h.stop());
  const { claimed, chunk, follow, endFailed, until } = harnessHelpers(() => h);

  test("column names are sealed in the state, clear to the follower", async () => {
    const { claim } = await claimed();
    const reader = follow(claim.request_id, await h.tokenFor("alice"), "ndjson");
    assert.equal((await chunk(claim.job_id, 0, "[1]\n", ["zqSecretColumn"])).status, 200);
    await until("reader got the names", () => reader.text() === '["zqSecretColumn"]\n[1]\n');
    const raw = await h.bot.store
      .selectFrom("executions")
      .select("result_columns")
      .where("id", "=", claim.job_id)
      .executeTakeFirst();
    assert.ok(raw?.result_columns != null);
    assert.doesNotMatch(String(raw.result_columns), /zqSecretColumn/);
    await endFailed(claim);
    await reader.ended;
  });
});

describe("the CLI following a result", () => {
  test("a followed download whose trailers never came (a proxy dropped them) is not reported as a whole, untruncated result", async () => {
    const server = createServer((req, res) => {
      if (!(req.url ?? "").includes("/result")) {
        // The request itself: its execution succeeded, truncated at the row cap.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            id: 1,
            status: "succeeded",
            executions: [{ number: 1, status: "succeeded", row_count: 2, result_truncated_by: "rows" }],
          }),
        );
        return;
      }
      res.writeHead(200, {
        "content-type": "text/csv; charset=utf-8",
        "x-dbward-follow": "true",
        trailer: "x-dbward-row-count, x-dbward-truncated, x-dbward-bytes",
      });
      // What the bot sent before a proxy stripped the trailers: rows, a clean end, no totals.
      res.end("n\n1\n2\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), "follow-attack-"));
    const out = join(dir, "r.csv");
    const notes: string[] = [];
    try {
      let summary: Awaited<ReturnType<typeof downloadResult>> | undefined;
      try {
        summary = await downloadResult({
          url: `http://127.0.0.1:${port}`,
          token: "t",
          id: 1,
          format: "csv",
          out,
          follow: true,
          progress: { write: (t) => void notes.push(t) },
        });
      } catch {
        summary = undefined;
      }
      if (summary !== undefined) {
        assert.ok(
          summary.truncated !== null && notes.some((t) => /warning/i.test(t)),
          `reported as a whole result: ${JSON.stringify(summary)} ${JSON.stringify(notes)}`,
        );
      } else {
        assert.equal(existsSync(out), false);
      }
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
