import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { LEDGER_FILE, openLedger } from "./ledger.ts";
import { tempDir } from "../../test/support/agent/unit-helpers.ts";

describe("T-REPLAY: the executed-token ledger", () => {
  test("refuses to record a token id twice", (t) => {
    const ledger = openLedger(tempDir(t));
    t.after(() => ledger.close());
    ledger.record("jti-1");
    assert.ok(ledger.has("jti-1"));
    assert.throws(() => ledger.record("jti-1"), { code: "token.replayed" });
  });

  test("remembers recorded ids after it is reopened from its file", (t) => {
    const dir = tempDir(t);
    const first = openLedger(dir);
    first.record("jti-a");
    first.record("jti-b");
    first.close();
    const second = openLedger(dir);
    t.after(() => second.close());
    assert.equal(second.size, 2);
    assert.ok(second.has("jti-a") && second.has("jti-b"));
    assert.throws(() => second.record("jti-b"), { code: "token.replayed" });
  });

  test("keeps an id with a newline in it as one entry", (t) => {
    const dir = tempDir(t);
    const first = openLedger(dir);
    first.record("evil\njti-x");
    first.close();
    const second = openLedger(dir);
    t.after(() => second.close());
    assert.ok(second.has("evil\njti-x"));
    assert.equal(second.has("jti-x"), false);
    assert.equal(second.size, 1);
  });

  test("creates its file readable by the owner only, in a private directory", (t) => {
    const dir = join(tempDir(t), "data");
    const ledger = openLedger(dir);
    t.after(() => ledger.close());
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(ledger.path).mode & 0o777, 0o600);
  });

  test("cuts off a torn last line and keeps appending on a fresh line", (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, LEDGER_FILE), '"jti-ok"\n"jti-tor');
    const ledger = openLedger(dir);
    ledger.record("jti-next");
    ledger.close();
    assert.equal(readFileSync(join(dir, LEDGER_FILE), "utf8"), '"jti-ok"\n"jti-next"\n');
  });

  test("refuses to open when a line in the middle is damaged", (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, LEDGER_FILE), '"jti-1"\nnot json\n"jti-2"\n');
    assert.throws(
      () => openLedger(dir),
      (err: Error) => /line 2 is damaged/.test(err.message),
    );
  });

  test("writes each id to the file before record returns", (t) => {
    const dir = tempDir(t);
    const ledger = openLedger(dir);
    t.after(() => ledger.close());
    ledger.record("jti-durable");
    assert.equal(readFileSync(ledger.path, "utf8"), '"jti-durable"\n');
  });
});
