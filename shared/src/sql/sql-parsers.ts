/**
 * The parsers, loaded by `initSqlReview` (for the dialects a process reviews) so that `reviewSql`
 * can stay synchronous.
 *
 * - libpg-query: PostgreSQL's own parser compiled to WASM (shipped in the package; nothing is
 *   downloaded). Its WASM must be instantiated asynchronously, after which parseSync/scanSync work.
 * - node-sql-parser: one small per-dialect build each for MySQL, MariaDB and SQLite. Importing
 *   them costs about a quarter of a second, which is why they are not imported eagerly either.
 *
 * Before loading, the getters answer undefined and reviews fail closed (`parser_unavailable`).
 */
import type { Parser } from "node-sql-parser/build/mysql.js";
import { SQL_DIALECTS, type SqlDialect } from "./review.ts";

export interface PgParser {
  readonly parseSync: (sql: string) => unknown;
  readonly scanSync: (sql: string) => unknown;
}

export type NodeSqlGrammar = "mysql" | "mariadb" | "sqlite";

let pg: PgParser | undefined;
const grammars: Partial<Record<NodeSqlGrammar, Parser>> = {};
const loading = new Map<SqlDialect, Promise<void>>();

/** The parsers each dialect's review reads with (MySQL text is tried in both grammars). */
const NEEDS: Readonly<Record<SqlDialect, readonly ("pg" | NodeSqlGrammar)[]>> = {
  postgres: ["pg"],
  mysql: ["mysql", "mariadb"],
  sqlite: ["sqlite"],
};

/**
 * Loads the parsers `dialects` need, once each; a process that reviews only PostgreSQL never pays
 * for node-sql-parser. A dialect not loaded stays unassessed (fails closed), never guessed.
 */
export function loadSqlParsers(dialects: readonly SqlDialect[] = SQL_DIALECTS): Promise<void> {
  return Promise.all(
    [...new Set(dialects)].map((dialect) => {
      let p = loading.get(dialect);
      if (p === undefined) {
        p = Promise.all(NEEDS[dialect].map(loadOne)).then(() => undefined);
        // A failed load may be retried by the next call rather than stay failed for good.
        p.catch(() => loading.delete(dialect));
        loading.set(dialect, p);
      }
      return p;
    }),
  ).then(() => undefined);
}

async function loadOne(parser: "pg" | NodeSqlGrammar): Promise<void> {
  switch (parser) {
    case "pg": {
      const libpg = await import("libpg-query");
      await libpg.loadModule();
      pg = { parseSync: libpg.parseSync, scanSync: libpg.scanSync };
      return;
    }
    case "mysql":
      grammars.mysql ??= new (await import("node-sql-parser/build/mysql.js")).default.Parser();
      return;
    case "mariadb":
      grammars.mariadb ??= new (await import("node-sql-parser/build/mariadb.js")).default.Parser();
      return;
    case "sqlite":
      grammars.sqlite ??= new (await import("node-sql-parser/build/sqlite.js")).default.Parser();
      return;
  }
}

export function pgParser(): PgParser | undefined {
  return pg;
}

export function nodeSqlParser(grammar: NodeSqlGrammar): Parser | undefined {
  return grammars[grammar];
}
