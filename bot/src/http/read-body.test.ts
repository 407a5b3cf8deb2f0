/**
 * The body reader's refusal paths, on real HTTP requests to a bare Node server: a large body with
 * no free slot is refused at once (429 rate.limited), a body that grows past its limit while
 * streaming is refused (413) without keeping what came, a body cut off before its end is refused,
 * and a slot is given back however the read ends.
 */
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { DbwardError, MAX_REQUEST_BODY_BYTES } from "@dbward/shared";
import type { Request } from "express";
import { attachBodySlots, LargeBodySlots, readRawBody } from "./read-body.ts";

const LIMIT = 4 * MAX_REQUEST_BODY_BYTES;
const slots = new LargeBodySlots(() => 1);

/** Each request's outcome: the bytes read, or the error code it was refused with. */
const outcomes: ((outcome: string) => void)[] = [];
let server: Server;
let port = 0;

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const r = req as unknown as Request;
    attachBodySlots(r, slots);
    const report = outcomes.shift();
    readRawBody(r, LIMIT).then(
      (raw) => {
        report?.(`read ${raw.length}`);
        res.end();
      },
      (err: unknown) => {
        report?.(err instanceof DbwardError ? err.code : String(err));
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Starts a POST and answers with the request (to write to or destroy) and its outcome. */
function start(headers: Record<string, string>): {
  req: ReturnType<typeof request>;
  outcome: Promise<string>;
} {
  const outcome = new Promise<string>((resolve) => outcomes.push(resolve));
  const req = request({ host: "127.0.0.1", port, method: "POST", path: "/", headers });
  req.on("error", () => undefined);
  req.flushHeaders();
  return { req, outcome };
}

const waitFor = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

describe("reading a body within its limit", { timeout: 10_000 }, () => {
  test("refuses a second large body while the only slot is taken, and gives the slot back after", async () => {
    const first = start({ "content-length": String(2 * MAX_REQUEST_BODY_BYTES) });
    first.req.write(Buffer.alloc(MAX_REQUEST_BODY_BYTES));
    await waitFor(() => slots.busy === 1);
    const second = start({ "content-length": String(2 * MAX_REQUEST_BODY_BYTES) });
    assert.equal(await second.outcome, "rate.limited");
    second.req.destroy();
    first.req.end(Buffer.alloc(MAX_REQUEST_BODY_BYTES));
    assert.equal(await first.outcome, `read ${2 * MAX_REQUEST_BODY_BYTES}`);
    assert.equal(slots.busy, 0);
  });

  test("refuses a chunked body once it grows past the limit, and frees its slot", async () => {
    const big = start({ "transfer-encoding": "chunked" });
    big.req.write(Buffer.alloc(LIMIT));
    big.req.write(Buffer.alloc(1024));
    assert.equal(await big.outcome, "request.too_large");
    big.req.destroy();
    assert.equal(slots.busy, 0);
  });

  test("refuses a body cut off before its end, and frees its slot", async () => {
    const cut = start({ "content-length": String(3 * MAX_REQUEST_BODY_BYTES) });
    cut.req.write(Buffer.alloc(2 * MAX_REQUEST_BODY_BYTES));
    await waitFor(() => slots.busy === 1);
    cut.req.destroy();
    assert.equal(await cut.outcome, "request.invalid");
    assert.equal(slots.busy, 0);
  });
});
