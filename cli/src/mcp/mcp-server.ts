/**
 * `dbward mcp`: a Model Context Protocol server on stdio that lets an AI assistant propose
 * database requests with the rights of the user whose API token it holds, and no more
 * (SECURITY.md principle 7: proposals are not permissions). It can review SQL, create a request
 * (or run a finished one of the user's again, as a new request that needs approval again),
 * follow it, and run an approved one of the user's that waits for its requester (the approval
 * decided what may run; the requester only decides when); it has no tool to approve, reject or reach an agent, and the bot would refuse
 * it anyway, because approval rights come from the workflow, never from the client.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { IDEMPOTENCY_KEY_PATTERN, visibleJson, type RequestView, type ResultView } from "@dbward/shared";
import { z } from "zod";
import type { ApiClient } from "../api-client.ts";
import { formatRequest, formatResult } from "../format-request.ts";
import { rerunRequest } from "../rerun-request.ts";

type ToolResult = { content: { type: "text"; text: string }[]; isError?: boolean };

const text = (t: string): ToolResult => ({ content: [{ type: "text", text: t }] });

/** Every tool answers with text; a refusal from the bot is an error result the assistant can read. */
async function answer(work: () => Promise<string>): Promise<ToolResult> {
  try {
    return text(await work());
  } catch (err) {
    return { ...text(`dbward refused: ${(err as Error).message}`), isError: true };
  }
}

export function createMcpServer(client: ApiClient, version: string): McpServer {
  const server = new McpServer({ name: "dbward", version });
  const idempotencyKey = z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN)
    .optional()
    .describe(
      "optional, 1-255 printable ASCII characters: calling again with the same key and the same arguments answers the request the first call created instead of creating another",
    );
  const target = {
    database: z.string().describe("database name"),
    environment: z.string().describe("environment, e.g. production"),
  };

  server.registerTool(
    "review_sql",
    {
      description:
        "Review SQL for a database without creating anything: its class (read/write/ddl), risk, findings, and which approval workflow would apply.",
      inputSchema: { ...target, sql: z.string() },
      annotations: { readOnlyHint: true },
    },
    ({ database, environment, sql }) =>
      answer(async () =>
        visibleJson(await client.post<object>("/api/preflight", { database, environment, sql }), 2),
      ),
  );

  server.registerTool(
    "request_sql",
    {
      description:
        "Ask for SQL to be run on a database. This only creates a request: people approve or reject it in dbward, and the result can be fetched once it has run.",
      inputSchema: {
        ...target,
        sql: z.string(),
        reason: z.string().describe("why this needs to run, for the approvers"),
        idempotency_key: idempotencyKey,
      },
    },
    ({ database, environment, sql, reason, idempotency_key }) =>
      answer(async () => {
        const r = await client.post<RequestView>(
          "/api/requests",
          { database, environment, sql, reason },
          idempotency_key === undefined ? {} : { idempotencyKey: idempotency_key },
        );
        return `${formatRequest(r)}\n\nRequest #${r.id} was created. It runs only after the approvals its workflow requires.`;
      }),
  );

  server.registerTool(
    "rerun_request",
    {
      description:
        "Run a finished request of this user's again (succeeded, failed, timed out, lost, rejected, expired or cancelled): creates a new request with the same database, environment and SQL, linked to the original. It is a new request like any other: people approve or reject it in dbward again, and it runs only after that.",
      inputSchema: {
        id: z.number().int().positive().describe("the finished request to run again"),
        reason: z.string().optional().describe("why it needs to run again (default: the original's reason)"),
        idempotency_key: idempotencyKey,
      },
    },
    ({ id, reason, idempotency_key }) =>
      answer(async () => {
        const r = await rerunRequest(client, id, { reason, idempotencyKey: idempotency_key });
        return `${formatRequest(r)}\n\nRequest #${r.id} was created to run #${id} again. It runs only after the approvals its workflow requires.`;
      }),
  );

  server.registerTool(
    "run_request",
    {
      description:
        "Run an approved request of this user's whose workflow waits for its requester (run: by_requester). Only its requester can, once, before the time shown by get_request; it cannot run anything that was not approved.",
      inputSchema: { id: z.number().int().positive().describe("the approved request to run") },
    },
    ({ id }) =>
      answer(async () => {
        const r = await client.post<RequestView>(`/api/requests/${id}/run`, {});
        return `${formatRequest(r)}\n\nRequest #${r.id} ${r.status === "dispatched" ? "is on its way to an agent" : `is ${r.status}`}.`;
      }),
  );

  server.registerTool(
    "get_request",
    {
      description: "Show a request's status, approvals and executions.",
      inputSchema: { id: z.number().int().positive() },
      annotations: { readOnlyHint: true },
    },
    ({ id }) => answer(async () => formatRequest(await client.get<RequestView>(`/api/requests/${id}`))),
  );

  server.registerTool(
    "get_plan",
    {
      description:
        "Fetch the whole plan (EXPLAIN's JSON; the statement was not run) an agent made of a request waiting for approval, for reasoning about its impact. get_request shows its summary.",
      inputSchema: { id: z.number().int().positive() },
      annotations: { readOnlyHint: true },
    },
    ({ id }) => answer(async () => visibleJson(await client.get<object>(`/api/requests/${id}/plan`), 2)),
  );

  server.registerTool(
    "get_result",
    {
      description: "Fetch the result table of a request that has run.",
      inputSchema: { id: z.number().int().positive() },
      annotations: { readOnlyHint: true },
    },
    ({ id }) => answer(async () => formatResult(await client.get<ResultView>(`/api/requests/${id}/result`))),
  );

  server.registerTool(
    "list_my_requests",
    {
      description: "List the requests this user created, newest first.",
      annotations: { readOnlyHint: true },
    },
    () =>
      answer(async () => {
        const { requests } = await client.get<{ requests: RequestView[] }>(
          "/api/requests?mine=true&limit=20",
        );
        return requests.length === 0
          ? "no requests"
          : requests
              .map((r) => `#${r.id} ${r.status} ${r.database}/${r.environment}: ${r.reason}`)
              .join("\n");
      }),
  );
  return server;
}
