/**
 * `dbward review`: SQL review from stdin, for people, scripts and CI. Exit 5 when the text would
 * be refused (class rejected or a blocking finding), so a pipeline can gate on it.
 */
import { createInterface } from "node:readline";
import { SQL_DIALECTS, type SqlDialect } from "@dbward/shared/sql/review";
import type { Argv } from "yargs";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { decodeUtf8 } from "../utf8-text.ts";

export function reviewCommand(out: Output, stdin: NodeJS.ReadableStream = process.stdin) {
  return {
    builder: (y: Argv) =>
      y
        .option("dialect", {
          choices: SQL_DIALECTS,
          default: "postgres" as SqlDialect,
          describe: "SQL dialect",
        })
        .option("json", {
          type: "boolean",
          default: false,
          describe: "one JSON object: class, risk, findings",
        })
        .option("ndjson", {
          type: "boolean",
          default: false,
          describe: 'read {"sql": "…"} per line, answer one object per line',
        }),
    handler: async (a: { dialect: SqlDialect; json: boolean; ndjson: boolean }): Promise<void> => {
      const { formatReview, initSqlReview, reviewNdjsonLine, reviewSql } = await import("@dbward/shared");
      await initSqlReview();
      if (a.ndjson) {
        for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
          if (line.trim() !== "") out.print(reviewNdjsonLine(line, a.dialect));
        }
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of stdin)
        chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer));
      const sql = decodeUtf8(Buffer.concat(chunks), "stdin");
      const review = reviewSql(sql, a.dialect);
      out.print(
        a.json
          ? JSON.stringify({ class: review.class, risk: review.risk, findings: review.findings })
          : formatReview(review, sql),
      );
      if (review.class === "rejected" || review.findings.some((f) => f.severity === "block")) {
        throw new CliError(a.json ? "" : "this SQL would be refused", EXIT.refused);
      }
    },
  };
}
