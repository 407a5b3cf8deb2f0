/**
 * The download's failure paths against a real HTTP server standing where the bot would: a body
 * cut off before its end, an error answer, a bot that is not there. The whole path through the
 * real bot is test/e2e-results.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { downloadResult } from "./result-download.ts";

const ROWS = "id\n1\n2\n3\n";
let server: Server;
let url: string;
let dir: string;
const seen: { path: string; auth: string | undefined }[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "dbward-download-"));
  server = createServer((req, res: ServerResponse) => {
    seen.push({ path: req.url ?? "", auth: req.headers.authorization });
    if (req.url?.startsWith("/api/requests/1/")) {
      res.writeHead(200, {
        "content-type": "text/csv",
        "x-dbward-row-count": "3",
        "x-dbward-truncated": "false",
      });
      res.end(ROWS);
    } else if (req.url?.startsWith("/api/requests/2/")) {
      // Declares more bytes than it sends, then drops the connection: the bot stopping mid-body.
      res.writeHead(200, { "content-length": "100000", "x-dbward-row-count": "9" });
      res.write("id\n1\n");
      setTimeout(() => res.socket?.destroy(), 20);
    } else if (req.url?.startsWith("/api/requests/4/")) {
      // Followed, behind a proxy that drops trailers (nginx does).
      res.writeHead(200, { "content-type": "text/csv", "x-dbward-follow": "true" });
      res.end(ROWS);
    } else if (req.url?.startsWith("/api/requests/5/")) {
      res.writeHead(200, {
        "content-type": "text/csv",
        "x-dbward-follow": "true",
        trailer: "x-dbward-row-count",
      });
      res.write(ROWS);
      res.addTrailers({ "x-dbward-row-count": "3", "x-dbward-truncated": "bytes" });
      res.end();
    } else if (req.url === "/api/requests/4") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: "succeeded",
          executions: [
            { number: 1, status: "lost", row_count: null, result_truncated_by: null },
            { number: 2, status: "succeeded", row_count: 3, result_truncated_by: "rows" },
          ],
        }),
      );
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "request.not_found", message: "no request 3" } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const quiet = { write: () => undefined };

describe("downloadResult", () => {
  test("writes the body to the file and sends the token", async () => {
    const out = join(dir, "ok.csv");
    const summary = await downloadResult({ url, token: "t0k", id: 1, format: "csv", out, progress: quiet });
    assert.deepEqual(summary, { bytes: ROWS.length, rows: 3, truncated: null });
    assert.equal(readFileSync(out, "utf8"), ROWS);
    assert.deepEqual(seen.at(-1), { path: "/api/requests/1/result?format=csv", auth: "Bearer t0k" });
  });

  test("a body cut off before its end fails rather than reporting a partial file as the result", async () => {
    const notes: string[] = [];
    await assert.rejects(
      downloadResult({
        url,
        token: "t",
        id: 2,
        format: "csv",
        out: join(dir, "cut.csv"),
        progress: { write: (t) => notes.push(t) },
      }),
      /aborted|ECONNRESET|socket hang up|premature/i,
    );
    assert.equal(notes.join("").includes("written"), false);
    assert.equal(existsSync(join(dir, "cut.csv")), false, "the partial file is removed");
  });

  test("a followed result's totals come from its trailers, or from the request when a proxy dropped them", async () => {
    const notes: string[] = [];
    const progress = { write: (t: string) => notes.push(t) };
    const dropped = await downloadResult({
      url,
      token: "t",
      id: 4,
      format: "csv",
      follow: true,
      out: join(dir, "f4.csv"),
      progress,
    });
    assert.deepEqual(dropped, { bytes: ROWS.length, rows: 3, truncated: "rows" });
    assert.match(
      notes.join(""),
      /warning: the result is truncated \(it reached the execution policy's row cap\)/,
    );
    assert.equal(seen.at(-2)?.path, "/api/requests/4/result?format=csv&follow=true");
    const trailed = await downloadResult({
      url,
      token: "t",
      id: 5,
      format: "csv",
      follow: true,
      out: join(dir, "f5.csv"),
      progress,
    });
    assert.deepEqual(trailed, { bytes: ROWS.length, rows: 3, truncated: "bytes" });
  });

  test("an error answer becomes the bot's message and the code's exit status", async () => {
    await assert.rejects(
      downloadResult({ url, token: "t", id: 3, format: "csv", progress: quiet }),
      (err: unknown) =>
        err instanceof CliError &&
        /no request 3 \(request\.not_found\)/.test(err.message) &&
        err.exitCode === EXIT.notFound,
    );
  });

  test("a bot that is not there is `unreachable`", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      downloadResult({ url: `http://127.0.0.1:${port}`, token: "t", id: 1, format: "csv", progress: quiet }),
      (err: unknown) =>
        err instanceof CliError &&
        err.exitCode === EXIT.unreachable &&
        /cannot reach the bot/.test(err.message),
    );
  });
});
