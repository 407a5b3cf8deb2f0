/**
 * A separate OS process for the audit-log concurrency test: opens the store, says "ready", waits
 * for a line on stdin, then appends N events, each in its own transaction, exactly as the bot does.
 *
 * Usage: node --import tsx test/support/append-audit-child.ts <data dir | postgres:// url> <count> <label>
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { appendAudit } from "../../bot/src/audit/audit-log.ts";
import { inTransaction } from "../../bot/src/store/in-transaction.ts";
import { openPostgresStore } from "../../bot/src/store/open-postgres-store.ts";
import { openStore } from "../../bot/src/store/open-store.ts";

const [dataDir, countText, label] = process.argv.slice(2);
const count = Number(countText);
if (dataDir === undefined || label === undefined || !Number.isInteger(count) || count < 1) {
  process.stderr.write("usage: append-audit-child.ts <data dir> <count> <label>\n");
  process.exit(2);
}

const store = dataDir.startsWith("postgres://")
  ? await openPostgresStore({ url: dataDir, poolSize: 2, onIdleError: () => undefined })
  : openStore(dataDir);
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
await once(lines, "line");
for (let i = 1; i <= count; i++) {
  await inTransaction(store, (tx) =>
    appendAudit(
      tx,
      {
        actor: `process:${label}`,
        action: "test.appended",
        target: `${label}:${i}`,
        outcome: "success",
        details: { label, i, pid: process.pid },
      },
      new Date(),
    ),
  );
}
lines.close();
await store.destroy();
process.stdout.write("done\n");
