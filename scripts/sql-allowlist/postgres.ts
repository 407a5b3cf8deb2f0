/**
 * Regenerates `shared/src/sql/postgres-allowlist-data.ts` from a real PostgreSQL server's
 * catalogue; the rules are in `postgres-allowlist-source.ts`. Run it against the oldest server
 * dbward supports, review the diff by hand, and commit both:
 *
 *   node --import tsx scripts/sql-allowlist/postgres.ts [postgres://127.0.0.1:5432/test]
 */
import { writeFileSync } from "node:fs";
import pg from "pg";
import { buildPgAllowlist } from "./postgres-allowlist-source.ts";

const OUT = new URL("../../shared/src/sql/postgres-allowlist-data.ts", import.meta.url);

const client = new pg.Client({
  connectionString: process.argv[2] ?? "postgres://postgres@127.0.0.1:5432/test",
});
await client.connect();
try {
  const list = await buildPgAllowlist(client);
  writeFileSync(OUT, list.text);
  console.log(
    `${list.functions.length} functions, ${list.operators.length} operators, ${list.types.length} types, ` +
      `${Object.keys(list.views).length} views from PostgreSQL ${list.major}`,
  );
} finally {
  await client.end();
}
