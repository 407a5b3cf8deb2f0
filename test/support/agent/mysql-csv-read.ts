/**
 * A MySQL/MariaDB read streamed into a sink that takes CSV rows (`csv: true`) or values only, as
 * the agent's upload would take them, for the tests that hold the two paths to each other
 * (agent/src/drivers/mysql-csv*.test.ts). Every CSV batch is checked as it comes: each row ends
 * at a newline, the rows cover the batch, and each row alone is one row the bot takes.
 */
import assert from "node:assert/strict";
import { csvChunkHead, type ColumnKind } from "@dbward/shared";
import type { CsvRows, Driver, ExecuteOptions, RowSink } from "../../../agent/src/drivers/driver.ts";
import { countChunkRows } from "../../../bot/src/results/result-chunk.ts";

export interface Read {
  names: string[];
  kinds: readonly ColumnKind[] | undefined;
  /** The CSV rows of every batch, copied (the driver fills the same buffer again). */
  csv: Buffer;
  /** Rows per CSV batch. */
  batches: number[];
  values: unknown[][];
}

export async function readRows(
  driver: Driver,
  sql: string,
  csv: boolean,
  options: ExecuteOptions,
): Promise<Read> {
  const out: Read = { names: [], kinds: undefined, csv: Buffer.alloc(0), batches: [], values: [] };
  const parts: Buffer[] = [];
  const sink: RowSink = {
    columns(names, kinds) {
      out.names = names;
      out.kinds = kinds;
    },
    rows(batch) {
      out.values.push(...batch);
      return Promise.resolve(true);
    },
    ...(csv
      ? {
          csv(batch: CsvRows) {
            out.batches.push(batch.ends.length);
            parts.push(Buffer.from(batch.bytes));
            let from = 0;
            for (const end of batch.ends) {
              assert.equal(batch.bytes[end - 1], 0x0a, "every row ends at a newline");
              assert.ok(end > from);
              // Each row alone is a whole CSV row of the result's width.
              const one = Buffer.concat([
                Buffer.from(csvChunkHead(out.kinds ?? [])),
                batch.bytes.subarray(from, end),
              ]);
              assert.equal(countChunkRows(one), 1, "each row is one whole row");
              from = end;
            }
            assert.equal(from, batch.bytes.length, "the rows cover the batch's bytes");
            return Promise.resolve(true);
          },
        }
      : {}),
  };
  await driver.stream(sql, options, sink);
  out.csv = Buffer.concat(parts);
  return out;
}
