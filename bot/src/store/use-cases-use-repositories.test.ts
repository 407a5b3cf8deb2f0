import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// STYLE.md: use cases (and the Slack adapter) call repositories under store/; they never build a
// query themselves. Keeping every query here is what lets the same code serve SQLite and
// PostgreSQL: one place to read for dialect differences, not every use case.
const SRC = fileURLToPath(new URL("..", import.meta.url));
const GUARDED = ["use-cases", "slack"];

/** Kysely's query builders and its raw `sql` template tag. */
const QUERY = /\b(selectFrom|selectNoFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto)\b|\bsql`/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    const shipped = e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith("-testing.ts");
    return shipped ? [path] : [];
  });
}

/** `file:line: text` for every line that builds a query. */
function queriesIn(file: string, text: string): string[] {
  return text
    .split("\n")
    .flatMap((line, i) => (QUERY.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

describe("use cases and the Slack adapter go through store/ repositories", () => {
  test("no shipped file in use-cases/ or slack/ builds a Kysely query or raw SQL", () => {
    const files = GUARDED.flatMap((d) => sourceFiles(join(SRC, d)));
    assert.ok(
      files.length > 20,
      `expected the use cases and Slack adapter under ${SRC}, found ${files.length} files`,
    );
    const found = files.flatMap((f) => queriesIn(relative(SRC, f), readFileSync(f, "utf8")));
    assert.deepEqual(
      found,
      [],
      `move these queries into a repository under bot/src/store/:\n${found.join("\n")}`,
    );
  });

  test("the check recognises each query builder and the sql tag", () => {
    for (const line of [
      'await tx.selectFrom("users").selectAll()',
      'ctx.store.insertInto("agents")',
      '.updateTable("executions")',
      'db.deleteFrom("slack_outbox")',
      "sql`select 1`",
    ])
      assert.equal(queriesIn("x.ts", line).length, 1, line);
    assert.deepEqual(queriesIn("x.ts", 'const selected = findUser(tx, "from");'), []);
  });
});
