/**
 * SQL review throughput: statements per second through `reviewSql` and `redactSql` on ~200-character
 * statements, per dialect, beside the bare parser's rate on the same statements (the floor: the
 * review cannot be faster than parsing) and the target. Prints figures; never fails on a number.
 * It runs with the V8 settings every dbward process starts with (cli/src/v8-tuning.ts: libpg-query
 * compiled by the baseline compiler alone), so the figures are what the bot and the agent get.
 *
 *   node --import tsx test/bench/sql-review.bench.ts
 */
import { redactSql } from "../../shared/src/sql/redact.ts";
import { nodeSqlParser, pgParser } from "../../shared/src/sql/sql-parsers.ts";
import { initSqlReview, reviewSql } from "../../shared/src/sql/review-sql.ts";
import type { SqlDialect } from "../../shared/src/sql/review.ts";
import { tuneV8 } from "../../cli/src/v8-tuning.ts";
import { fmt } from "./stats.ts";

// Before libpg-query's WebAssembly is compiled (initSqlReview), as in a dbward process.
tuneV8();

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const ROUNDS = 5;

/** Realistic statements of about 200 characters: reads, writes, a lock, DDL, a side-effect call. */
const STATEMENTS: readonly string[] = [
  "SELECT o.id, o.created_at, c.email, SUM(i.price * i.qty) AS total FROM orders o JOIN customers c ON c.id = o.customer_id JOIN items i ON i.order_id = o.id WHERE o.status = 'paid' GROUP BY o.id, o.created_at, c.email",
  "SELECT id, email, created_at FROM customers WHERE created_at > '2024-01-01' AND country IN ('DE', 'FR', 'NL', 'BE') AND id NOT IN (SELECT customer_id FROM refunds WHERE amount > 100) ORDER BY created_at DESC LIMIT 50",
  "UPDATE orders SET status = 'shipped', shipped_at = '2024-06-01 12:00:00', carrier = 'dhl', tracking = 'JD014600003828' WHERE id = 91823 AND status = 'paid' AND warehouse_id = 3 AND shipped_at IS NULL",
  "DELETE FROM sessions WHERE last_seen < '2024-01-01 00:00:00' AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NOT NULL AND plan = 'free') AND remember_me = false AND id > 1000",
  "INSERT INTO audit_notes (order_id, author, note, created_at, source, ticket) VALUES (91823, 'support@example.com', 'customer asked to change the delivery address twice', '2024-06-01 12:00:00', 'zendesk', 48213)",
  "SELECT c.id, c.email, COUNT(o.id) AS orders, MAX(o.created_at) AS last_order FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.country = 'DE' GROUP BY c.id, c.email HAVING COUNT(o.id) > 3",
  "SELECT id, status, total FROM orders WHERE customer_id = 4711 AND status IN ('pending', 'paid') AND created_at BETWEEN '2024-05-01' AND '2024-05-31' ORDER BY created_at DESC LIMIT 20 FOR UPDATE",
  "ALTER TABLE orders ADD COLUMN gift_message VARCHAR(500) NULL, ADD COLUMN gift_wrap BOOLEAN NOT NULL DEFAULT FALSE, ADD COLUMN gift_from VARCHAR(200) NULL, ADD COLUMN gift_to VARCHAR(200) NULL",
  "SELECT p.sku, p.name, s.quantity, w.name AS warehouse FROM products p JOIN stock s ON s.product_id = p.id JOIN warehouses w ON w.id = s.warehouse_id WHERE s.quantity < 10 AND p.active = true ORDER BY s.quantity",
  "SELECT id, email FROM customers WHERE lower(email) LIKE '%@example.com' AND id IN (SELECT customer_id FROM orders WHERE total > 500 AND status = 'paid') AND sleep(0) = 0 ORDER BY id LIMIT 100",
];

/** Statements per second over one timed round. */
function round(fn: (sql: string) => unknown, ms: number): number {
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    fn(STATEMENTS[done % STATEMENTS.length] ?? "");
    done += 1;
  }
  return done / ((performance.now() - started) / 1000);
}

/**
 * Prints the best and the median of five rounds: on a shared machine the best round is the
 * closest to what the code costs, and the median shows how much the machine interfered.
 */
function measure(label: string, fn: (sql: string) => unknown): void {
  const rates = Array.from({ length: ROUNDS }, () => round(fn, DURATION_MS / ROUNDS)).sort((a, b) => a - b);
  const best = rates[rates.length - 1] ?? 0;
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  console.log(
    `${label.padEnd(20)} best ${fmt(best, 0).padStart(6)} statements/s   median ${fmt(median, 0).padStart(6)}`,
  );
}

/** The bare parsers, the floor under every review: what the review adds is the rest. */
const BASELINES: Readonly<Record<"postgres" | "mysql", (sql: string) => unknown>> = {
  postgres: (sql) => pgParser()?.parseSync(sql),
  mysql: (sql) =>
    nodeSqlParser("mysql")?.astify(sql, { database: "mysql", parseOptions: { includeLocations: true } }),
};
/** The figures the issue asks for, printed beside the measurements. */
const TARGETS: Readonly<Record<"postgres" | "mysql", number>> = { postgres: 20_000, mysql: 5_000 };

await initSqlReview();
const average = STATEMENTS.reduce((sum, s) => sum + s.length, 0) / STATEMENTS.length;
console.log(`${STATEMENTS.length} statements, ${fmt(average, 0)} characters on average`);
for (const dialect of ["postgres", "mysql"] as const satisfies readonly SqlDialect[]) {
  // node-sql-parser's generated parser takes seconds to be fully optimised; without this warm-up
  // whichever function is measured first pays for it.
  round((sql) => [reviewSql(sql, dialect), redactSql(sql, dialect)], DURATION_MS);
  measure(`parser alone ${dialect}`, BASELINES[dialect]);
  measure(`reviewSql ${dialect}`, (sql) => reviewSql(sql, dialect));
  console.log(`${"".padEnd(20)} target ${fmt(TARGETS[dialect], 0).padStart(6)} statements/s`);
  measure(`redactSql ${dialect}`, (sql) => redactSql(sql, dialect));
}
