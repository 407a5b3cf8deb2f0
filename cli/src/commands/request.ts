/** `dbward request …`: create, follow and decide requests through the bot's API. */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseRequestId } from "@dbward/shared/ids";
import {
  IDEMPOTENCY_KEY_PATTERN,
  RESULT_FORMATS,
  type RequestView,
  type ResultView,
} from "@dbward/shared/protocol";
import { isFinalStatus } from "@dbward/shared/request-status";
import { visibleJson } from "@dbward/shared/sql/display-sql";
import type { Argv } from "yargs";
import { clientFromFlags, type ApiClient } from "../api-client.ts";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import { formatRequest, formatRequestLine, formatResult } from "../format-request.ts";
import type { Output } from "../output.ts";
import { rerunRequest } from "../rerun-request.ts";
import { truncationNote } from "../result-truncation.ts";
import { decodeUtf8 } from "../utf8-text.ts";

interface Common {
  url?: string | undefined;
  token?: string | undefined;
  json: boolean;
}

function idOf(value: unknown): number {
  const id = parseRequestId(value);
  if (id === undefined)
    throw new CliError(`not a request id: ${String(value)} (use a number such as 42 or #42)`, EXIT.usage);
  return id;
}

export function requestCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
  const client = (a: Common): ApiClient => clientFromFlags(env, a);
  const show = (a: Common, r: RequestView): void => out.print(a.json ? visibleJson(r) : formatRequest(r));
  return (y: Argv) =>
    y
      .option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" })
      .option("token", {
        type: "string",
        describe: "API token (default: $DBWARD_TOKEN, else dbward login's)",
      })
      .option("json", { type: "boolean", default: false, describe: "print JSON for scripts" })
      .command(
        "create",
        "ask to run one SQL text on a database",
        (c) =>
          c
            .option("db", { type: "string", demandOption: true, describe: "database name" })
            .option("env", { type: "string", demandOption: true, describe: "environment" })
            .option("sql", { type: "string", describe: "the SQL text (or --file, or stdin)" })
            .option("file", { type: "string", describe: "read the SQL from this file" })
            .option("reason", { type: "string", demandOption: true, describe: "why this needs to run" })
            .option("idempotency-key", {
              type: "string",
              describe: "the same key and body again answer the same request (default: a new random key)",
            }),
        async (a) => {
          const sql = a.sql ?? (a.file !== undefined ? decodeUtf8(readFileSync(a.file), a.file) : undefined);
          if (sql === undefined) throw new CliError("give the SQL with --sql or --file", EXIT.usage);
          const idempotencyKey = a.idempotencyKey ?? randomUUID();
          if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey))
            throw new CliError("--idempotency-key takes 1-255 printable ASCII characters", EXIT.usage);
          show(
            a,
            await client(a).post<RequestView>(
              "/api/requests",
              { database: a.db, environment: a.env, sql, reason: a.reason },
              { idempotencyKey },
            ),
          );
        },
      )
      .command(
        "list",
        "list requests you can see",
        (c) =>
          c
            .option("status", { type: "string", describe: "comma-separated statuses" })
            .option("mine", { type: "boolean", default: false }),
        async (a) => {
          const q = new URLSearchParams({
            ...(a.status ? { status: a.status } : {}),
            ...(a.mine ? { mine: "true" } : {}),
          });
          const { requests } = await client(a).get<{ requests: RequestView[] }>(
            `/api/requests?${q.toString()}`,
          );
          out.print(
            a.json
              ? visibleJson(requests)
              : requests.length === 0
                ? "no requests"
                : requests.map(formatRequestLine).join("\n"),
          );
        },
      )
      .command(
        "show <id>",
        "show one request",
        (c) => c.positional("id", { type: "string", demandOption: true }),
        async (a) => {
          const r = await client(a).get<RequestView>(`/api/requests/${idOf(a.id)}`);
          show(a, r);
          const note = a.json ? undefined : truncationNote(r);
          if (note !== undefined) out.print(note);
        },
      )
      .command(
        "approve <id>",
        "approve a request",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("comment", { type: "string" })
            .option("as", {
              type: "string",
              describe: "the selector to approve as (group:dba) when you match several the step needs",
            })
            .option("not-before", {
              type: "string",
              describe: "dispatch it no earlier than this time, with a zone (2026-12-03T22:00:00Z)",
            }),
        async (a) => {
          show(
            a,
            await client(a).post<RequestView>(`/api/requests/${idOf(a.id)}/approve`, {
              comment: a.comment ?? "",
              ...(a.as !== undefined ? { as: a.as } : {}),
              ...(a.notBefore !== undefined ? { not_before: a.notBefore } : {}),
            }),
          );
        },
      )
      .command(
        "plan <id>",
        "print the whole plan (EXPLAIN, never run) an agent made of a request for its approvers",
        (c) => c.positional("id", { type: "string", demandOption: true }),
        async (a) => {
          const view = await client(a).get<{ plan: unknown }>(`/api/requests/${idOf(a.id)}/plan`);
          // A relation's name is the database's text: invisible characters shown escaped (Trojan Source).
          out.print(visibleJson(a.json ? view : { plan: view.plan }, 2));
        },
      )
      .command(
        "run <id>",
        "run your approved request now (workflows with run: by_requester)",
        (c) => c.positional("id", { type: "string", demandOption: true }),
        async (a) => {
          show(a, await client(a).post<RequestView>(`/api/requests/${idOf(a.id)}/run`, {}));
        },
      )
      .command(
        "reject <id>",
        "reject a request (a reason is required)",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("reason", { type: "string", demandOption: true }),
        async (a) => {
          show(
            a,
            await client(a).post<RequestView>(`/api/requests/${idOf(a.id)}/reject`, { reason: a.reason }),
          );
        },
      )
      .command(
        "cancel <id>",
        "cancel a request",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("reason", { type: "string", default: "" }),
        async (a) => {
          show(
            a,
            await client(a).post<RequestView>(`/api/requests/${idOf(a.id)}/cancel`, { reason: a.reason }),
          );
        },
      )
      .command(
        "result <id>",
        "print the result of a request that ran, or download all of it with --format",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("format", {
              choices: RESULT_FORMATS,
              describe: "stream the whole result as csv, ndjson or json (default: a table of the first rows)",
            })
            .option("out", { alias: "o", type: "string", describe: "write the result to this file" })
            .option("follow", {
              type: "boolean",
              describe:
                "wait for the request to run and write the rows as they are stored (csv or ndjson; a result that does not end in success leaves no file)",
            })
            .option("limit", { type: "number", describe: "rows to show without --format (default 1000)" }),
        async (a) => {
          const format = a.format ?? (a.out !== undefined || a.follow === true ? "csv" : undefined);
          if (a.follow === true && format === "json") {
            throw new CliError("--follow writes csv or ndjson: JSON names the row count first", EXIT.usage);
          }
          if (format !== undefined) {
            client(a); // checks the URL and token are there
            const { downloadResult } = await import("./result-download.ts");
            await downloadResult({
              url: a.url ?? env.DBWARD_URL ?? "",
              token: a.token ?? env.DBWARD_TOKEN ?? "",
              id: idOf(a.id),
              format,
              out: a.out,
              follow: a.follow === true,
              progress: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY },
            });
            return;
          }
          const q = a.limit === undefined ? "" : `?limit=${a.limit}`;
          const r = await client(a).get<ResultView>(`/api/requests/${idOf(a.id)}/result${q}`);
          out.print(a.json ? JSON.stringify(r) : formatResult(r));
          if (!a.json && r.preview === true)
            out.error(
              `(showing ${r.rows.length} of ${r.row_count} rows: dbward request result ${r.request_id} --format csv -o FILE for all)`,
            );
        },
      )
      .command(
        "retry <id>",
        "run a lost request again (operators; a new execution with a new token)",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("reason", { type: "string", demandOption: true, describe: "why it may run again" }),
        async (a) => {
          show(
            a,
            await client(a).post<RequestView>(`/api/requests/${idOf(a.id)}/retry`, { reason: a.reason }),
          );
        },
      )
      .command(
        "rerun <id>",
        "run a finished request of yours again: a new request, linked to it, that needs approval again",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("reason", { type: "string", describe: "why it needs to run (default: the original's)" }),
        async (a) => {
          show(
            a,
            await rerunRequest(client(a), idOf(a.id), { reason: a.reason, idempotencyKey: randomUUID() }),
          );
        },
      )
      .command(
        "wait <id>",
        "wait until a request reaches a final status; exit 0 only if it succeeded",
        (c) =>
          c
            .positional("id", { type: "string", demandOption: true })
            .option("timeout", { type: "number", default: 600, describe: "seconds" }),
        async (a) => {
          const r = await waitForFinal(client(a), idOf(a.id), a.timeout * 1000);
          show(a, r);
          if (r.status !== "succeeded")
            throw new CliError(
              `request #${r.id} ended ${r.status}${r.status_reason ? `: ${r.status_reason}` : ""}`,
              EXIT.failure,
            );
        },
      )
      .demandCommand(1, "name a request subcommand");
}

export async function waitForFinal(client: ApiClient, id: number, timeoutMs: number): Promise<RequestView> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const r = await client.get<RequestView>(`/api/requests/${id}`);
    if (isFinalStatus(r.status)) return r;
    if (Date.now() > deadline)
      throw new CliError(`request #${id} is still ${r.status} after the timeout`, EXIT.failure);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
