/** The honesty test's MariaDB: 127.0.0.1:3306, root with no password, database `test`. */
import mysql from "mysql2/promise";
import {
  renameScratch,
  scratchSuffix,
  SEED_ACCOUNTS,
  SEED_LEDGER,
  type ScratchDatabase,
  type ScratchSession,
} from "./scratch-database.ts";

const CONNECTION = { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "test" };
/** ER_LOCK_WAIT_TIMEOUT: what FOR UPDATE NOWAIT answers when the row is locked. */
const LOCK_WAIT_TIMEOUT = 1205;

export function scratchMariadb(): ScratchDatabase {
  const suffix = scratchSuffix();
  const accounts = `accounts_${suffix}`;
  const ledger = `ledger_${suffix}`;
  const lockName = `${accounts}_lock`;
  let main: mysql.Connection | undefined;
  let other: mysql.Connection | undefined;
  const conn = (c: mysql.Connection | undefined): mysql.Connection => {
    if (c === undefined) throw new Error("scratch MariaDB is not started");
    return c;
  };

  const valueOn = async (c: mysql.Connection, sql: string): Promise<string> => {
    const [rows] = await c.query({ sql, rowsAsArray: true });
    const first: unknown = Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0][0] : undefined;
    return String(first ?? "");
  };
  const inScratch = (column: string): string =>
    `table_schema = DATABASE() AND (${column} LIKE '${accounts}%' OR ${column} LIKE '${ledger}%')`;

  const session: ScratchSession = {
    run: async (sql) => {
      await conn(main).query(sql);
    },
    value: (sql) => valueOn(conn(main), sql),
    rows: () =>
      valueOn(
        conn(main),
        `SELECT CONCAT(
          COALESCE((SELECT GROUP_CONCAT(CONCAT_WS('|', id, owner, balance, COALESCE(note, 'null')) ORDER BY id SEPARATOR ';') FROM ${accounts}), ''),
          '#', COALESCE((SELECT GROUP_CONCAT(CONCAT_WS('|', id, account_id, amount) ORDER BY id SEPARATOR ';') FROM ${ledger}), ''))`,
      ),
    schema: () =>
      valueOn(
        conn(main),
        `SELECT CONCAT(
          COALESCE((SELECT GROUP_CONCAT(CONCAT(table_name, ':', table_type) ORDER BY table_name) FROM information_schema.tables WHERE ${inScratch("table_name")}), ''), '#',
          COALESCE((SELECT GROUP_CONCAT(CONCAT(table_name, '.', column_name, ':', column_type, ':', is_nullable) ORDER BY table_name, ordinal_position) FROM information_schema.columns WHERE ${inScratch("table_name")}), ''), '#',
          COALESCE((SELECT GROUP_CONCAT(CONCAT(table_name, '.', index_name, '.', column_name) ORDER BY table_name, index_name, seq_in_index) FROM information_schema.statistics WHERE ${inScratch("table_name")}), ''))`,
      ),
    rowLockedElsewhere: async () => {
      try {
        await conn(other).query(`SELECT id FROM ${accounts} WHERE id = 1 FOR UPDATE NOWAIT`);
        return false;
      } catch (error) {
        if (error instanceof Error && Reflect.get(error, "errno") === LOCK_WAIT_TIMEOUT) return true;
        throw error;
      }
    },
    advisoryLockedElsewhere: async () =>
      (await valueOn(conn(other), `SELECT IS_FREE_LOCK('${lockName}')`)) === "0",
    xidAssigned: () => Promise.resolve(undefined),
  };

  const build = async (): Promise<void> => {
    await conn(main).query(`
      CREATE TABLE ${accounts} (id INT AUTO_INCREMENT PRIMARY KEY, owner VARCHAR(100) NOT NULL,
        balance DECIMAL(12,2) NOT NULL DEFAULT 0, note TEXT, KEY ${accounts}_balance_idx (balance)) ENGINE=InnoDB;
      CREATE TABLE ${ledger} (id INT AUTO_INCREMENT PRIMARY KEY, account_id INT, amount DECIMAL(12,2)) ENGINE=InnoDB;
      INSERT INTO ${accounts} (owner, balance, note) VALUES ${SEED_ACCOUNTS};
      INSERT INTO ${ledger} (account_id, amount) VALUES ${SEED_LEDGER};
      CREATE VIEW ${accounts}_rich AS SELECT id, owner FROM ${accounts};`);
  };

  /** Drops every scratch object, whatever a DDL case renamed or created. */
  const drop = async (): Promise<void> => {
    const [rows] = await conn(main).query({
      sql: `SELECT table_name, table_type FROM information_schema.tables WHERE ${inScratch("table_name")}`,
      rowsAsArray: true,
    });
    for (const row of Array.isArray(rows) ? rows : []) {
      if (!Array.isArray(row)) continue;
      const [name, type] = row.map(String);
      const kind = type === "VIEW" ? "VIEW" : type === "SEQUENCE" ? "SEQUENCE" : "TABLE";
      await conn(main).query(`DROP ${kind} IF EXISTS \`${name}\``);
    }
  };

  return {
    name: "MariaDB",
    rename: (sql) => renameScratch(sql, suffix),
    start: async () => {
      main = await mysql.createConnection({ ...CONNECTION, multipleStatements: true });
      other = await mysql.createConnection(CONNECTION);
      await build();
    },
    stop: async () => {
      await drop();
      await conn(main).end();
      await conn(other).end();
    },
    inTransaction: async (ddl, body) => {
      // Session state that a rollback keeps: user variables and LAST_INSERT_ID.
      await conn(main).query("SET @dbward_x = NULL; SELECT LAST_INSERT_ID(0)");
      await conn(main).query("START TRANSACTION");
      try {
        await body(session);
      } finally {
        await conn(main).query("ROLLBACK");
        await conn(main).query("SELECT RELEASE_ALL_LOCKS()");
        // DDL commits by itself in MariaDB, so what it changed is rebuilt from scratch.
        if (ddl) {
          await drop();
          await build();
        }
      }
    },
  };
}
