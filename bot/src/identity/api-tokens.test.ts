import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { sha256Hex } from "@dbward/shared";
import { systemRandom, type Clock } from "../core/clock.ts";
import { inTransaction } from "../store/in-transaction.ts";
import { STORE_FILE, openStore, type Store } from "../store/open-store.ts";
import { authenticateToken, hasLiveToken, issueToken, type TokenKind } from "./api-tokens.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const HOUR = 3_600_000;

/** A clock the test moves by hand. */
class TestClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
}

/** A well-formed secret whose 43-character body starts with `prefix` (8 characters). */
function secretWith(kind: TokenKind, prefix: string, fill: string): string {
  return `${kind === "user" ? "dbw_" : "dbwa_"}${prefix}${fill.repeat(35).slice(0, 35)}`;
}

describe("API tokens (forged API token)", () => {
  let dir: string;
  let store: Store;
  let clock: TestClock;

  const issue = (args: { kind: TokenKind; subject: string; expiresAt?: Date; secret?: string }) =>
    inTransaction(store, (tx) => issueToken(tx, { clock, random: systemRandom }, { name: "test", ...args }));
  const auth = (presented: string, kind: TokenKind) => authenticateToken(store, presented, kind, clock.now());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dbward-tokens-"));
    store = openStore(dir);
    clock = new TestClock(T0);
  });
  afterEach(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every byte the store has on disk: the database file, its WAL and shared memory. */
  const storeBytes = (): Buffer =>
    Buffer.concat(
      readdirSync(dir)
        .filter((f) => f.startsWith(STORE_FILE))
        .map((f) => readFileSync(join(dir, f))),
    );

  test("issues distinct secrets of the documented shape", async () => {
    const a = await issue({ kind: "user", subject: "alice" });
    const b = await issue({ kind: "user", subject: "alice" });
    const c = await issue({ kind: "agent", subject: "agent-1" });
    assert.match(a.secret, /^dbw_[A-Za-z0-9_-]{43}$/);
    assert.match(c.secret, /^dbwa_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.secret, b.secret);
    assert.notEqual(a.id, b.id);
    assert.equal(a.expiresAt, null);
  });

  test("stores only a SHA-256 and an 8-character prefix, never the secret", async () => {
    const issued = await issue({ kind: "user", subject: "alice" });
    const body = issued.secret.slice("dbw_".length);
    const row = await store
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", issued.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.secret_sha256, sha256Hex(issued.secret));
    assert.equal(row.prefix, body.slice(0, 8));
    for (const value of Object.values(row))
      assert.ok(!String(value).includes(body.slice(8)), "no column holds the secret");

    const check = (when: string): void => {
      const bytes = storeBytes();
      assert.ok(
        bytes.includes(sha256Hex(issued.secret)),
        `${when}: the hash is on disk (the bytes read are the right ones)`,
      );
      assert.ok(!bytes.includes(issued.secret), `${when}: the secret is not on disk`);
      assert.ok(
        !bytes.includes(body.slice(8)),
        `${when}: no more than the lookup prefix of the secret is on disk`,
      );
    };
    check("while open");
    await store.destroy();
    check("after close");
    store = openStore(dir);
  });

  test("finds a token by its prefix and tells apart tokens that share it", async () => {
    const alice = secretWith("user", "SAMEPREF", "a");
    const bob = secretWith("user", "SAMEPREF", "b");
    await issue({ kind: "user", subject: "alice", secret: alice });
    await issue({ kind: "user", subject: "bob", secret: bob });
    assert.equal((await auth(alice, "user"))?.subject, "alice");
    assert.equal((await auth(bob, "user"))?.subject, "bob");
    assert.equal(await auth(secretWith("user", "SAMEPREF", "c"), "user"), undefined);
  });

  test("refuses a secret that differs from a stored one in its last character only", async () => {
    const { secret } = await issue({ kind: "user", subject: "alice" });
    const last = secret.at(-1) === "A" ? "B" : "A";
    assert.equal((await auth(secret, "user"))?.subject, "alice");
    assert.equal(await auth(`${secret.slice(0, -1)}${last}`, "user"), undefined);
  });

  test("honours expiry to the millisecond", async () => {
    const { secret, expiresAt } = await issue({
      kind: "user",
      subject: "alice",
      expiresAt: new Date(T0 + HOUR),
    });
    assert.equal(expiresAt, new Date(T0 + HOUR).toISOString());
    clock.ms = T0 + HOUR - 1;
    assert.equal((await auth(secret, "user"))?.subject, "alice");
    clock.ms = T0 + HOUR;
    assert.equal(await auth(secret, "user"), undefined);
    clock.ms = T0 + 24 * HOUR;
    assert.equal(await auth(secret, "user"), undefined);
  });

  test("honours revocation on the very next call", async () => {
    const { id, secret } = await issue({ kind: "user", subject: "alice" });
    assert.equal((await auth(secret, "user"))?.tokenId, id);
    await store
      .updateTable("api_tokens")
      .set({ revoked_at: clock.now().toISOString() })
      .where("id", "=", id)
      .execute();
    assert.equal(await auth(secret, "user"), undefined);
    assert.equal(await hasLiveToken(store, "user", "alice", new Date()), false);
  });

  test("refuses a user token where an agent token is required, and the reverse", async () => {
    const user = await issue({ kind: "user", subject: "alice" });
    const agent = await issue({ kind: "agent", subject: "agent-1" });
    assert.equal(await auth(user.secret, "agent"), undefined);
    assert.equal(await auth(agent.secret, "user"), undefined);
    assert.deepEqual(await auth(agent.secret, "agent"), {
      tokenId: agent.id,
      kind: "agent",
      subject: "agent-1",
    });
  });

  test("refuses a row whose kind does not match the secret's marker", async () => {
    const { id, secret } = await issue({ kind: "user", subject: "alice" });
    await store.updateTable("api_tokens").set({ kind: "agent" }).where("id", "=", id).execute();
    assert.equal(await auth(secret, "user"), undefined);
    assert.equal(await auth(secret, "agent"), undefined);
  });

  test("answers malformed values with the same refusal, without throwing", async () => {
    const { secret } = await issue({ kind: "user", subject: "alice" });
    const values = [
      "",
      " ",
      "dbw_",
      `${secret} `,
      ` ${secret}`,
      `${secret}x`,
      secret.slice(0, -1),
      `Bearer ${secret}`,
      secret.toUpperCase(),
      `dbw_${"é".repeat(43)}`,
      `dbw_${"a".repeat(10_000)}`,
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJyb290Iiwicm9sZSI6ImFkbWluIn0.",
      `dbw_' OR '1'='1' --${"x".repeat(25)}`,
      "\u0000dbw_",
    ];
    for (const v of values) assert.equal(await auth(v, "user"), undefined, JSON.stringify(v.slice(0, 60)));
  });

  test("refuses to store a chosen secret of the wrong shape or kind", async () => {
    await assert.rejects(issue({ kind: "user", subject: "alice", secret: "hunter2" }), TypeError);
    await assert.rejects(
      issue({ kind: "user", subject: "alice", secret: secretWith("agent", "ABCDEFGH", "x") }),
      TypeError,
    );
    await assert.rejects(
      issue({ kind: "agent", subject: "agent-1", secret: secretWith("user", "ABCDEFGH", "x") }),
      TypeError,
    );
    assert.equal((await store.selectFrom("api_tokens").select("id").execute()).length, 0);
  });

  test("counts only unrevoked, unexpired tokens as live", async () => {
    assert.equal(await hasLiveToken(store, "user", "alice", new Date()), false);
    await issue({ kind: "user", subject: "alice", expiresAt: new Date(Date.now() - HOUR) });
    assert.equal(
      await hasLiveToken(store, "user", "alice", new Date()),
      false,
      "an expired token is not live",
    );
    await issue({ kind: "user", subject: "alice" });
    assert.equal(await hasLiveToken(store, "user", "alice", new Date()), true);
    assert.equal(await hasLiveToken(store, "agent", "alice", new Date()), false);
  });
});
