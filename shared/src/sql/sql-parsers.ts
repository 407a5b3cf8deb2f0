/**
 * The parsers, loaded once by `initSqlReview` so that `reviewSql` can stay synchronous.
 *
 * - libpg-query: PostgreSQL's own parser compiled to WASM (shipped in the package; nothing is
 *   downloaded). Its WASM must be instantiated asynchronously, after which parseSync/scanSync work.
 * - node-sql-parser: one small per-dialect build each for MySQL, MariaDB and SQLite. Importing
 *   them costs about a quarter of a second, which is why they are not imported eagerly either.
 *
 * Before loading, the getters answer undefined and reviews fail closed (`parser_unavailable`).
 */
import type { Parser } from "node-sql-parser/build/mysql.js";

export interface PgParser {
  readonly parseSync: (sql: string) => unknown;
  readonly scanSync: (sql: string) => unknown;
}

export type NodeSqlGrammar = "mysql" | "mariadb" | "sqlite";

let pg: PgParser | undefined;
let grammars: Readonly<Record<NodeSqlGrammar, Parser>> | undefined;
let loading: Promise<void> | undefined;

export function loadSqlParsers(): Promise<void> {
  loading ??= load();
  return loading;
}

async function load(): Promise<void> {
  const [libpg, mysql, mariadb, sqlite] = await Promise.all([
    import("libpg-query"),
    import("node-sql-parser/build/mysql.js"),
    import("node-sql-parser/build/mariadb.js"),
    import("node-sql-parser/build/sqlite.js"),
  ]);
  await libpg.loadModule();
  pg = { parseSync: libpg.parseSync, scanSync: libpg.scanSync };
  grammars = {
    mysql: new mysql.default.Parser(),
    mariadb: new mariadb.default.Parser(),
    sqlite: new sqlite.default.Parser(),
  };
}

export function pgParser(): PgParser | undefined {
  return pg;
}

export function nodeSqlParser(grammar: NodeSqlGrammar): Parser | undefined {
  return grammars?.[grammar];
}
