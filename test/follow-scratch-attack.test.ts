/**
 * Hostile review of following a result with one read buffer per reader (ReadScratch,
 * file-result-store.ts `readInto`, follow-download.ts `writeFlushed`): a followed stream must carry
 * the stored result's bytes whatever the reader does with its socket, and a reader's slot must
 * come back however it leaves.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentCapability, ClaimResponse } from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";
import { followJobs } from "./support/follow-jobs.ts";
import { followReader } from "./support/follow-reader.ts";

const CONFIG = `
databases: [{ name: shop, dialect: postgres, environments: [production, staging] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: oscar, name: Oscar, roles: [operator] }
  - { id: mallory, name: Mallory, roles: [operator] }
  - { id: r0, name: R0, roles: [operator] }
  - { id: r1, name: R1, roles: [operator] }
  - { id: r2, name: R2, roles: [operator] }
  - { id: r3, name: R3, roles: [operator] }
  - { id: q0, name: Q0, roles: [operator] }
  - { id: q1, name: Q1, roles: [operator] }
  - { id: q2, name: Q2, roles: [operator] }
  - { id: q3, name: Q3, roles: [operator] }
  - { id: pia, name: Pia, roles: [operator] }
  - { id: pete, name: Pete, roles: [operator] }
  - { id: nina, name: Nina, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { row_cap: 10000000, result_max_bytes: 268435456, lease_margin_ms: 30000 }
`;
const CAPS: AgentCapability[] = [{ database: "shop", environment: "staging", operations: ["read"] }];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A CSV chunk (`%csv text,number`) of about `bytes` bytes whose every row names `tag` (`width`
 * times over).
 */
function csvChunk(tag: string, bytes: number, width = 40): { body: string; rows: number } {
  const lines: string[] = [];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const line = `${tag}-${i}-${tag.repeat(width)},${i}\n`;
    lines.push(line);
    size += line.length;
    i += 1;
  }
  return { body: `%csv text,number\n${lines.join("")}`, rows: lines.length };
}

/** An NDJSON chunk of about `bytes` bytes whose every row names `tag`. */
function ndjsonChunk(tag: string, bytes: number): { body: string; rows: number } {
  const lines: string[] = [];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const line = `${JSON.stringify([`${tag}-${i}-${tag.repeat(40)}`, i])}\n`;
    lines.push(line);
    size += line.length;
    i += 1;
  }
  return { body: lines.join(""), rows: lines.length };
}

interface Parsed {
  status: number;
  headers: string;
  body: Buffer;
  /** The last (zero-size) chunk and the trailers came. */
  complete: boolean;
  trailers: Record<string, string>;
}

/** Reads a chunked HTTP/1.1 response as a client sees it on the wire. */
function parseChunked(raw: Buffer): Parsed {
  const headEnd = raw.indexOf("\r\n\r\n");
  if (headEnd < 0) return { status: 0, headers: "", body: Buffer.alloc(0), complete: false, trailers: {} };
  const headers = raw.toString("latin1", 0, headEnd);
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1] ?? 0);
  const parts: Buffer[] = [];
  let at = headEnd + 4;
  for (;;) {
    const eol = raw.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(raw.toString("latin1", at, eol), 16);
    if (Number.isNaN(size)) break;
    if (size === 0) {
      const end = raw.indexOf("\r\n\r\n", eol);
      const trailerEnd = raw.indexOf("\r\n", eol + 2) === eol + 2 ? eol + 2 : end;
      if (trailerEnd < 0) break;
      const trailers: Record<string, string> = {};
      for (const line of raw.toString("latin1", eol + 2, trailerEnd).split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) trailers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      return { status, headers, body: Buffer.concat(parts), complete: true, trailers };
    }
    if (raw.length < eol + 2 + size + 2) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return { status, headers, body: Buffer.concat(parts), complete: false, trailers: {} };
}

interface RawFollower {
  readonly sock: Socket;
  raw(): Buffer;
  received(): number;
  readonly closed: Promise<void>;
}

/**
 * A reader following over a raw socket. With `slow`, it stops reading for `pauseMs` after every
 * `every` bytes it took (a reader on a slow link), so the bot's writes wait on it; with `quitAt`,
 * it hangs up (destroys its socket) once it has taken that many bytes.
 */
function rawFollow(
  url: string,
  id: number,
  token: string,
  format: string,
  slow?: { every: number; pauseMs: number; quitAt?: number },
): RawFollower {
  const u = new URL(url);
  const sock = connect(Number(u.port), u.hostname);
  const got: Buffer[] = [];
  let total = 0;
  let sincePause = 0;
  sock.on("error", () => {});
  sock.on("data", (d: Buffer) => {
    got.push(d);
    total += d.length;
    sincePause += d.length;
    if (slow?.quitAt !== undefined && total >= slow.quitAt) {
      sock.destroy();
      return;
    }
    if (slow !== undefined && sincePause >= slow.every) {
      sincePause = 0;
      sock.pause();
      setTimeout(() => sock.resume(), slow.pauseMs);
    }
  });
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  sock.write(
    `GET /api/requests/${id}/result?format=${format}&follow=true HTTP/1.1\r\n` +
      `Host: ${u.host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
  );
  return { sock, raw: () => Buffer.concat(got), received: () => total, closed };
}

function helpers(get: () => BotHarness) {
  const jobs = followJobs(get, CAPS, 200);
  const agent = jobs.agent;
  const claimed = async (): Promise<ClaimResponse> => (await jobs.claimed()).claim;
  async function chunk(jobId: string, seq: number, body: string, names?: string[]): Promise<void> {
    const res = await jobs.chunk(jobId, seq, body, names);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function finish(claim: ClaimResponse, chunks: { body: string; rows: number }[]): Promise<void> {
    const res = await get().call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "succeeded",
      duration_ms: 5,
      streamed: {
        columns: ["tag", "n"],
        chunks: chunks.length,
        row_count: chunks.reduce((sum, c) => sum + c.rows, 0),
        bytes: chunks.reduce((sum, c) => sum + Buffer.byteLength(c.body), 0),
        truncated_by: null,
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function endFailed(claim: ClaimResponse): Promise<void> {
    const res = await get().call(agent(), "POST", `/api/agent/jobs/${claim.job_id}/result`, {
      outcome: "failed",
      duration_ms: 5,
      error: { code: "execution.failed", message: "ended by the test" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function stored(requestId: number, format: string): Promise<Buffer> {
    const h = get();
    const res = await fetch(`${h.url}/api/requests/${requestId}/result?format=${format}`, {
      headers: { authorization: `Bearer ${await h.tokenFor("alice")}` },
    });
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  }
  async function until(what: string, ok: () => boolean, ms = 8000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok() && Date.now() < deadline) await sleep(20);
    assert.ok(ok(), what);
  }
  /**
   * Whether `user` can hold all four follower slots (MAX_FOLLOWERS_PER_USER) at once: four readers
   * wait on a running request, then its chunk 0 comes; each has a slot (200) or was refused (429).
   * Asked again for a while: a slot comes back once the bot has seen its reader go.
   */
  async function canFollow(user: string): Promise<boolean> {
    const h = get();
    const token = await h.tokenFor(user);
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      const claim = await claimed();
      const readers = Array.from({ length: 4 }, () => followReader(h.url, claim.request_id, token, "csv"));
      await chunk(claim.job_id, 0, "[1]\n", ["tag", "n"]);
      await until("every reader has an answer", () => readers.every((r) => r.status() !== 0));
      const statuses = readers.map((r) => r.status());
      for (const r of readers) r.hangUp();
      await Promise.all(readers.map((r) => r.ended));
      await endFailed(claim);
      if (statuses.every((s) => s === 200)) return true;
      for (const s of statuses) assert.ok(s === 200 || s === 429, `status ${s}`);
      await sleep(100);
    }
    return false;
  }
  return { claimed, chunk, finish, endFailed, stored, until, canFollow };
}

/** A first byte-level difference, for a readable failure. */
function firstDifference(a: Buffer, b: Buffer): string {
  const len = Math.min(a.length, b.length);
  let i = 0;
  while (i < len && a[i] === b[i]) i += 1;
  return `lengths ${a.length} / ${b.length}; first difference at ${i}: ${JSON.stringify(
    a.toString("utf8", Math.max(0, i - 40), i + 40),
  )} vs ${JSON.stringify(b.toString("utf8", Math.max(0, i - 40), i + 40))}`;
}

function assertSameBytes(got: Parsed, want: Buffer, who: string): void {
  assert.equal(got.status, 200, `${who}: ${got.headers}`);
  assert.ok(got.complete, `${who}: the stream ended without its last chunk`);
  assert.ok(got.body.equals(want), `${who} got other bytes than stored: ${firstDifference(got.body, want)}`);
}

/** The chunk files under a bot's data directory (file results). */
function chunkFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ndjson"))
    .map((f) => join(dir, f));
}

const COMBOS = [
  ["csv", "csv"],
  ["ndjson", "csv"],
  ["ndjson", "ndjson"],
  ["csv", "ndjson"],
] as const;

/**
 * The attack, for one bot: for each format and chunk kind at once, chunks of different content
 * and sizes (small, 1.5 MiB, small, 2 MiB, small, 0.5 MiB: the buffer grows twice, then is used
 * again for smaller ones), stored while two slow readers and a fast one follow, and a fourth
 * reader hangs up in the middle of the 1.5 MiB chunk.
 */
function scratchSuite(name: string, opts: { env?: Record<string, string>; pgResults?: boolean } = {}) {
  describe(name, () => {
    let h: BotHarness;
    const saved = process.env.DBWARD_TEST_STATE;
    const withState = async <T>(work: () => Promise<T>): Promise<T> => {
      if (opts.pgResults === true) process.env.DBWARD_TEST_STATE = "postgres";
      try {
        return await work();
      } finally {
        if (saved === undefined) delete process.env.DBWARD_TEST_STATE;
        else process.env.DBWARD_TEST_STATE = saved;
      }
    };
    before(async () => {
      h = await withState(() => startBotHarness(CONFIG, { env: opts.env ?? {} }));
    });
    after(() => withState(() => h.stop()));
    const { claimed, chunk, finish, stored, until, canFollow } = helpers(() => h);

    async function attack(format: string, kind: string, user: string, quitterUser: string): Promise<void> {
      const make = kind === "csv" ? csvChunk : ndjsonChunk;
      const sizes = [300, 1536 * 1024, 700, 2 * 1024 * 1024 + 13, 50, 512 * 1024 + 17];
      const chunks = sizes.map((bytes, seq) => make(`${String.fromCharCode(97 + seq)}${user}`, bytes));
      const claim = await claimed();
      const token = await h.tokenFor(user);
      const slow = rawFollow(h.url, claim.request_id, token, format, { every: 256 * 1024, pauseMs: 20 });
      const slower = rawFollow(h.url, claim.request_id, token, format, { every: 1024 * 1024, pauseMs: 200 });
      const fast = rawFollow(h.url, claim.request_id, token, format);
      const quitter = rawFollow(h.url, claim.request_id, await h.tokenFor(quitterUser), format, {
        every: 128 * 1024,
        pauseMs: 20,
        // In the middle of the 1.5 MiB chunk 1.
        quitAt: 700 * 1024,
      });
      // Chunk 0 starts the streams; the rest come while the readers are behind.
      await chunk(claim.job_id, 0, chunks[0]?.body ?? "", ["tag", "n"]);
      await until("the readers started", () => slow.received() > 0 && fast.received() > 0);
      for (let seq = 1; seq < chunks.length; seq += 1)
        await chunk(claim.job_id, seq, chunks[seq]?.body ?? "");
      await finish(claim, chunks);
      await Promise.all([slow.closed, slower.closed, fast.closed, quitter.closed]);
      const want = await stored(claim.request_id, format);
      // The stored download (read a fresh buffer per chunk) is the chunks themselves, where the
      // bot passes them through untouched.
      if (format === kind) {
        const rows = chunks.map((c) => (kind === "csv" ? c.body.slice(c.body.indexOf("\n") + 1) : c.body));
        const head = format === "csv" ? "tag,n\n" : '["tag","n"]\n';
        assert.ok(
          want.equals(Buffer.from(head + rows.join(""))),
          `${format}: the stored download is the chunks`,
        );
      }
      for (const [who, reader] of [
        ["slow", slow],
        ["slower", slower],
        ["fast", fast],
      ] as const) {
        const got = parseChunked(reader.raw());
        assertSameBytes(got, want, `${format}/${kind} ${who}`);
        assert.equal(got.trailers["x-dbward-row-count"], String(chunks.reduce((sum, c) => sum + c.rows, 0)));
      }
      const quit = parseChunked(quitter.raw());
      assert.equal(quit.complete, false);
      assert.ok(quit.body.length < want.length, "the quitter left mid-stream");
      assert.ok(
        want.subarray(0, quit.body.length).equals(quit.body),
        "the quitter's bytes were the stored ones",
      );
    }

    test("slow, fast and hanging-up readers of csv and ndjson, over CSV and NDJSON chunks, get the stored bytes", async () => {
      await Promise.all(COMBOS.map(([format, kind], i) => attack(format, kind, `r${i}`, `q${i}`)));
      // The readers that stayed: the quitters' slots are the hang-up tests' below.
      const users = COMBOS.map((_, i) => `r${i}`);
      const back = await Promise.all(users.map((user) => canFollow(user)));
      assert.deepEqual(
        back,
        users.map(() => true),
        `follower slots came back: ${users.join(", ")}`,
      );
      if (opts.pgResults === true) {
        const rows = await h.bot.store.selectFrom("result_chunks").select("seq").execute();
        assert.ok(rows.length > 0, "the chunks were rows in PostgreSQL");
      } else if (opts.env?.DBWARD_STATE_KEY !== undefined) {
        const files = chunkFiles(h.dataDir);
        assert.ok(files.length > 0, "chunk files");
        for (const f of files) assert.ok(!readFileSync(f).includes("%csv"), `${f} is sealed`);
      }
    });

    test("a reader that pauses before the first byte, while every chunk is already stored, gets them whole", async () => {
      const chunks = [csvChunk("p", 3 * 1024 * 1024), csvChunk("q", 100), csvChunk("r", 2 * 1024 * 1024)];
      const claim = await claimed();
      for (const [seq, c] of chunks.entries()) {
        await chunk(claim.job_id, seq, c.body, seq === 0 ? ["tag", "n"] : undefined);
      }
      const readers = ["csv", "ndjson"].map((format) => {
        const r = rawFollow(h.url, claim.request_id, token(), format);
        r.sock.pause();
        return r;
      });
      await sleep(300);
      for (const r of readers) r.sock.resume();
      await finish(claim, chunks);
      await Promise.all(readers.map((r) => r.closed));
      assertSameBytes(
        parseChunked(readers[0]?.raw() ?? Buffer.alloc(0)),
        await stored(claim.request_id, "csv"),
        "csv",
      );
      assertSameBytes(
        parseChunked(readers[1]?.raw() ?? Buffer.alloc(0)),
        await stored(claim.request_id, "ndjson"),
        "ndjson",
      );
    });
    let oscar = "";
    const token = () => oscar;
    before(async () => {
      oscar = await h.tokenFor("oscar");
    });
  });
}

scratchSuite("following with one read buffer per reader (file results)");
scratchSuite("following with one read buffer per reader (sealed file results)", {
  env: { DBWARD_STATE_KEY: Buffer.alloc(32, 7).toString("base64") },
});
scratchSuite("following with results in PostgreSQL (no read buffer)", { pgResults: true });

describe("readers that leave oddly while the bot writes to them", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(() => h.stop());
  const { claimed, chunk, endFailed, until, canFollow } = helpers(() => h);

  async function storedChunks(claim: ClaimResponse, count: number, bytes: number, width?: number) {
    // Every chunk is stored before anyone follows: the bot writes them back to back.
    for (let seq = 0; seq < count; seq += 1) {
      const c = csvChunk(String.fromCharCode(107 + seq), bytes, width);
      await chunk(claim.job_id, seq, c.body, seq === 0 ? ["tag", "n"] : undefined);
    }
  }

  // Found by this file, fixed: a reader that shuts down its sending side (TCP half-close, as
  // `nc -N` or a proxy does) while the bot's write to it is pending makes Node's HTTP server end
  // the socket, so the next `res.write` was queued and its callback never came: the follower's
  // slot was never given back. follow-download.ts now ends a write when the connection closes.
  test("a half-closed reader's follower slot comes back", async () => {
    const claim = await claimed();
    // Rows of half a KiB: 2000 of them (a slice, one piece) are 1 MiB, converted fast, and a
    // chunk is 7 of them, more than loopback's buffers hold: the bot waits on a write in the
    // middle of a chunk, whose next slice comes one turn after that write's callback.
    await storedChunks(claim, 2, 7 * 1024 * 1024, 500);
    const token = await h.tokenFor("oscar");
    const readers = Array.from({ length: 4 }, () => {
      const r = rawFollow(h.url, claim.request_id, token, "ndjson");
      // Stop reading at the first bytes (the stream has begun): the bot's writes wait on us.
      r.sock.once("data", () => r.sock.pause());
      return r;
    });
    for (const r of readers) {
      await new Promise<void>((resolve) =>
        r.received() > 0 ? resolve() : r.sock.once("data", () => resolve()),
      );
    }
    await sleep(200);
    for (const r of readers) r.sock.end();
    await sleep(200);
    for (const r of readers) r.sock.resume();
    await Promise.all(readers.map((r) => r.closed));
    for (const r of readers) assert.equal(parseChunked(r.raw()).complete, false, "cut off, never whole");
    await endFailed(claim);
    assert.ok(await canFollow("oscar"), "oscar's follower slots never came back");
  });

  // Found by this file, fixed: a reader hanging up in the middle of a format=ndjson stream over
  // CSV chunks (converted a slice at a time, one event-loop turn between slices) leaked its slot:
  // the next slice was written in the same turn the bot saw the hang-up, before the response's
  // 'close', and Node queued or dropped that write without ever calling its callback.
  test("readers hanging up in the middle of an NDJSON stream converted from CSV give their slots back", async () => {
    const claim = await claimed();
    await storedChunks(claim, 3, 3 * 1024 * 1024);
    const token = await h.tokenFor("nina");
    // Two over raw sockets, two as the CLI reads (node:http), hanging up as Ctrl-C does.
    const raw = [400, 1500].map((kib) =>
      rawFollow(h.url, claim.request_id, token, "ndjson", {
        every: Infinity,
        pauseMs: 0,
        quitAt: kib * 1024,
      }),
    );
    const http = [900, 2500].map((kib) => {
      const r = followReader(h.url, claim.request_id, token, "ndjson");
      return {
        r,
        quit: until("the reader is mid-stream", () => r.text().length > kib * 1024).then(() => r.hangUp()),
      };
    });
    await Promise.all([
      ...raw.map((r) => r.closed),
      ...http.map(async ({ r, quit }) => (await quit, await r.ended)),
    ]);
    for (const r of raw) assert.equal(parseChunked(r.raw()).complete, false, "cut off, never whole");
    await endFailed(claim);
    assert.ok(await canFollow("nina"), "nina's follower slots never came back");
  });

  // Found by this file, fixed (older than the read buffer): a follow pipelined behind another
  // request on one connection has a response with no socket yet; when the reader closed the
  // connection first, Node emitted no 'close' on that queued response, so its slot was held for
  // good. The follower now listens to the connection's own 'close' as well.
  test("a follow pipelined behind a waiting request gives its slot back when the connection closes", async () => {
    const waiting = await claimed();
    const streaming = await claimed();
    await storedChunks(streaming, 1, 3 * 1024 * 1024);
    const u = new URL(h.url);
    const pete = await h.tokenFor("pete");
    const pia = await h.tokenFor("pia");
    const socks = Array.from({ length: 4 }, () => {
      const sock = connect(Number(u.port), u.hostname);
      sock.on("error", () => {});
      const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
      const get = (id: number, token: string) =>
        `GET /api/requests/${id}/result?format=csv&follow=true HTTP/1.1\r\n` +
        `Host: ${u.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`;
      // Pia's follow waits (no rows yet); Pete's, behind it, has rows to send.
      sock.write(get(waiting.request_id, pia) + get(streaming.request_id, pete));
      return { sock, closed };
    });
    await sleep(300);
    for (const s of socks) s.sock.destroy();
    await Promise.all(socks.map((s) => s.closed));
    assert.ok(await canFollow("pia"), "the first request's slots came back");
    assert.ok(await canFollow("pete"), "the pipelined follows' slots never came back");
    await endFailed(waiting);
    await endFailed(streaming);
  });
});
