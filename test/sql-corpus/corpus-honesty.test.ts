/**
 * Keeps the corpus honest (T-SQL-SMUGGLING): every case the corpus calls a read, a write or a lock
 * is run on real PostgreSQL and MariaDB, inside a transaction that is rolled back, and checked:
 *  - a read changes no row, holds no row lock or advisory lock, and (PostgreSQL) never gets a
 *    transaction id, which PostgreSQL assigns on the first write;
 *  - a write or DDL case shows the effect the corpus names (rows or schema changed, a row or
 *    advisory lock another session cannot take, a sleep, a session value changed).
 * Each run works on its own uniquely named scratch tables. Refused texts are never run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Effect } from "./corpus-case.ts";
import { SQL_CORPUS } from "./corpus.ts";
import type { ScratchDatabase, ScratchSession } from "./scratch-database.ts";
import { scratchMariadb } from "./scratch-mariadb.ts";
import { scratchPostgres } from "./scratch-postgres.ts";

const SLEEP_AT_LEAST_MS = 150;

const targets: readonly { readonly db: ScratchDatabase; readonly dialect: "postgres" | "mysql" }[] = [
  { db: scratchPostgres(), dialect: "postgres" },
  { db: scratchMariadb(), dialect: "mysql" },
];

for (const { db, dialect } of targets) {
  describe(`SQL corpus on real ${db.name}`, () => {
    before(() => db.start());
    after(() => db.stop());

    for (const c of SQL_CORPUS.filter((x) => x.dialect === dialect && x.class !== "rejected")) {
      if (c.class === "read") {
        test(`${c.about}: really only reads`, () =>
          db.inTransaction(false, (s) => checkRead(s, db.rename(c.sql))));
      } else if (c.effect !== undefined) {
        const effect: Effect =
          c.effect.kind === "probe" ? { kind: "probe", sql: db.rename(c.effect.sql) } : c.effect;
        test(`${c.about}: really ${describeEffect(effect)}`, () =>
          db.inTransaction(c.class === "ddl", (s) => checkEffect(s, db.rename(c.sql), effect)));
      } else {
        // No effect a test server can observe (terminating a backend, MySQL 8-only syntax, …):
        // the case must at least say why, so no write enters the corpus without evidence or reason.
        test(`${c.about}: has no observable effect here, and says why`, () => {
          assert.ok((c.unprovable ?? "").length > 10, `${c.about}: give an effect or an 'unprovable' reason`);
        });
      }
    }
  });
}

async function checkRead(s: ScratchSession, sql: string): Promise<void> {
  const before = await s.rows();
  await s.run(sql);
  assert.equal(await s.rows(), before, "a read changed rows");
  assert.equal(await s.rowLockedElsewhere(), false, "a read left a row lock");
  assert.equal(await s.advisoryLockedElsewhere(), false, "a read left an advisory lock");
  assert.notEqual(await s.xidAssigned(), true, "a read was given a transaction id, so it wrote");
}

async function checkEffect(s: ScratchSession, sql: string, effect: Effect): Promise<void> {
  switch (effect.kind) {
    case "rows":
      return changes(s, sql, () => s.rows());
    case "schema":
      return changes(s, sql, () => s.schema());
    case "probe":
      return changes(s, sql, () => s.value(effect.sql));
    case "row_lock":
      await s.run(sql);
      assert.equal(await s.rowLockedElsewhere(), true, "another session could still lock the row");
      return;
    case "advisory_lock":
      await s.run(sql);
      assert.equal(await s.advisoryLockedElsewhere(), true, "another session could still take the lock");
      return;
    case "sleep": {
      const started = performance.now();
      await s.run(sql);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= SLEEP_AT_LEAST_MS, `returned after ${elapsed.toFixed(0)} ms`);
      return;
    }
  }
}

async function changes(s: ScratchSession, sql: string, observe: () => Promise<string>): Promise<void> {
  const before = await observe();
  await s.run(sql);
  assert.notEqual(await observe(), before, "nothing observable changed");
}

function describeEffect(effect: Effect): string {
  switch (effect.kind) {
    case "rows":
      return "changes rows";
    case "schema":
      return "changes the schema";
    case "probe":
      return "changes session state";
    case "row_lock":
      return "locks a row";
    case "advisory_lock":
      return "takes an advisory lock";
    case "sleep":
      return "sleeps";
  }
}
