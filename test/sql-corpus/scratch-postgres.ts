/** The honesty test's PostgreSQL: 127.0.0.1:5432, user postgres, database `test`. */
import pg from "pg";
import {
  renameScratch,
  scratchSuffix,
  SEED_ACCOUNTS,
  SEED_LEDGER,
  type ScratchDatabase,
  type ScratchSession,
} from "./scratch-database.ts";

const CONNECTION = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };
const ADVISORY_KEY = 42;

export function scratchPostgres(): ScratchDatabase {
  const suffix = scratchSuffix();
  const main = new pg.Client(CONNECTION);
  const other = new pg.Client(CONNECTION);
  const accounts = `accounts_${suffix}`;
  const ledger = `ledger_${suffix}`;

  const value = async (sql: string): Promise<string> => {
    const result = await main.query({ text: sql, rowMode: "array" });
    const row: unknown = result.rows[0];
    const first: unknown = Array.isArray(row) ? row[0] : undefined;
    return String(first ?? "");
  };

  /** True when the other session gets SQLSTATE 55P03 (lock not available) trying to lock. */
  const blocked = async (sqls: readonly string[]): Promise<boolean> => {
    await other.query("BEGIN");
    try {
      await other.query("SET LOCAL lock_timeout = '200ms'");
      for (const sql of sqls) await other.query(sql);
      return false;
    } catch (error) {
      if (error instanceof Error && Reflect.get(error, "code") === "55P03") return true;
      throw error;
    } finally {
      await other.query("ROLLBACK");
    }
  };

  const session: ScratchSession = {
    run: async (sql) => {
      await main.query(sql);
    },
    value,
    rows: () =>
      value(
        `SELECT (SELECT coalesce(string_agg(format('%s|%s|%s|%s', id, owner, balance, note), ';' ORDER BY id), '') FROM ${accounts})
          || '#' || (SELECT coalesce(string_agg(format('%s|%s|%s', id, account_id, amount), ';' ORDER BY id), '') FROM ${ledger})`,
      ),
    schema: () =>
      value(
        `SELECT coalesce(string_agg(format('%s:%s:%s:%s:%s', c.relname, c.relkind,
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull, ',' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = c.oid),
           obj_description(c.oid, 'pg_class')), ';' ORDER BY c.relname), '')
         FROM pg_class c WHERE starts_with(c.relname, '${accounts}') OR starts_with(c.relname, '${ledger}')`,
      ),
    // A row-exclusive table lock and a row lock: between them they conflict with every row lock
    // and with LOCK TABLE … IN SHARE MODE.
    rowLockedElsewhere: () =>
      blocked([
        `LOCK TABLE ${accounts} IN ROW EXCLUSIVE MODE NOWAIT`,
        `SELECT id FROM ${accounts} WHERE id = 1 FOR UPDATE NOWAIT`,
      ]),
    advisoryLockedElsewhere: async () => {
      const got = await other.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${ADVISORY_KEY}) AS got`);
      if (got.rows[0]?.got === true) await other.query(`SELECT pg_advisory_unlock(${ADVISORY_KEY})`);
      return got.rows[0]?.got !== true;
    },
    xidAssigned: async () => (await value("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")) === "true",
  };

  return {
    name: "PostgreSQL",
    rename: (sql) => renameScratch(sql, suffix),
    start: async () => {
      await main.connect();
      await other.connect();
      await main.query(`
        CREATE TABLE ${accounts} (id serial PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL DEFAULT 0, note text);
        CREATE TABLE ${ledger} (id serial PRIMARY KEY, account_id int, amount numeric);
        INSERT INTO ${accounts} (owner, balance, note) VALUES ${SEED_ACCOUNTS};
        INSERT INTO ${ledger} (account_id, amount) VALUES ${SEED_LEDGER};
        CREATE INDEX ${accounts}_balance_idx ON ${accounts} (balance);
        CREATE VIEW ${accounts}_rich AS SELECT id, owner FROM ${accounts};
        CREATE SEQUENCE ${accounts}_extra_seq;`);
    },
    stop: async () => {
      await main.query(
        `DROP TABLE IF EXISTS ${accounts}, ${ledger} CASCADE; DROP SEQUENCE IF EXISTS ${accounts}_extra_seq`,
      );
      await main.end();
      await other.end();
    },
    inTransaction: async (_ddl, body) => {
      await main.query("BEGIN");
      try {
        await body(session);
      } finally {
        await main.query("ROLLBACK");
        // Session state that outlives a rollback: advisory locks and prepared statements.
        await main.query("SELECT pg_advisory_unlock_all(); DEALLOCATE ALL");
      }
    },
  };
}
