/**
 * The agent's side of the bot's agent protocol (shared/src/protocol.ts): poll, claim, heartbeat,
 * result chunks and result, preflights, schema reports, each a POST with `Authorization: Bearer
 * <agent token>`. Outbound only; the agent listens on no port. Answers are validated before use; a failed call throws `BotError` carrying
 * the HTTP status (0 when the bot was not reached) and the bot's `{ error: { code, message } }`.
 *
 * Redirects are refused: one could move the bearer token to another host or to plain http.
 */
import {
  DbwardError,
  encodeColumnsHeader,
  isErrorCode,
  OPERATION_CLASSES,
  PREFLIGHT_KINDS,
  RESULT_COLUMNS_HEADER,
  SESSION_HEADER,
  type ClaimResponse,
  type ErrorCode,
  type HeartbeatResponse,
  type PollBody,
  type PollResponse,
  type PreflightClaimResponse,
  type PreflightResultBody,
  type ResultChunkResponse,
  type ResultSubmission,
  type SchemaReportBody,
} from "@dbward/shared";
import { z } from "zod";
import { botEndpoint } from "./bot-url.ts";
import type { Secret } from "./secret.ts";

export class BotError extends DbwardError {
  constructor(
    /** HTTP status, or 0 when no answer arrived (network error, timeout, abort). */
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message, { status });
  }
}

export interface BotClientOptions {
  readonly botUrl: string;
  readonly agentToken: Secret;
  /**
   * This data directory's session, sent with every poll, claim, heartbeat and result
   * (docs/agent.md: one process per agent id).
   */
  readonly session?: string;
  readonly fetch?: typeof fetch;
  /** Limit for calls other than poll, which waits `wait_ms` longer. */
  readonly requestTimeoutMs?: number;
}

export interface BotClient {
  poll(body: PollBody, signal?: AbortSignal): Promise<PollResponse>;
  claim(jobId: string): Promise<ClaimResponse>;
  heartbeat(jobId: string): Promise<HeartbeatResponse>;
  /** Sends chunk `seq` of a job's result rows (NDJSON). */
  /** `columns`, with chunk 0: the names, in a header when they fit in one. */
  submitChunk(
    jobId: string,
    seq: number,
    ndjson: Buffer,
    columns?: readonly string[],
  ): Promise<ResultChunkResponse>;
  /** Sends a job's result, or the late account of one (`delivery: "late"`). */
  submitResult(jobId: string, body: ResultSubmission): Promise<void>;
  claimPreflight(preflightId: string): Promise<PreflightClaimResponse>;
  /** Sends a preflight's plan, or why there is none. */
  reportPreflight(preflightId: string, body: PreflightResultBody): Promise<void>;
  /** Sends the schema context of one database × environment (POST /api/agent/schema). */
  reportSchema(body: SchemaReportBody): Promise<void>;
}

const count = z.number().int().nonnegative();
const operation = z.enum(OPERATION_CLASSES);

const preflightKind = z.enum(PREFLIGHT_KINDS);

const pollResponse = z
  .object({
    jobs: z.array(
      z.object({
        job_id: z.string().min(1),
        request_id: count,
        database: z.string(),
        environment: z.string(),
        operation,
      }),
    ),
    preflights: z
      .array(
        z.object({
          preflight_id: z.string().min(1),
          request_id: count,
          kind: preflightKind,
          database: z.string(),
          environment: z.string(),
          operation,
        }),
      )
      .optional(),
  })
  // An older bot sends no preflights; leave the key out rather than set it to undefined.
  .transform(({ preflights, ...poll }): PollResponse =>
    preflights === undefined ? poll : { ...poll, preflights },
  );

const preflightClaim = z.object({
  preflight_id: z.string().min(1),
  request_id: count,
  kind: preflightKind,
  token: z.string(),
  sql: z.string(),
  database: z.string(),
  environment: z.string(),
  operation,
  statement_timeout_ms: z.number().int().positive(),
}) satisfies z.ZodType<PreflightClaimResponse>;

const claimResponse = z
  .object({
    job_id: z.string().min(1),
    request_id: count,
    execution: count,
    token: z.string(),
    sql: z.string(),
    database: z.string(),
    environment: z.string(),
    operation,
    lease_expires_at: z.string(),
    heartbeat_interval_ms: z.number().int().positive(),
    statement_timeout_ms: z.number().int(),
    row_cap: z.number().int(),
    result_max_bytes: z.number().int().optional(),
  })
  // An older bot sends no byte cap; leave the key out rather than set it to undefined.
  .transform(({ result_max_bytes, ...claim }): ClaimResponse =>
    result_max_bytes === undefined ? claim : { ...claim, result_max_bytes },
  );

const heartbeatResponse = z.object({
  lease_expires_at: z.string(),
  cancel: z.boolean(),
}) satisfies z.ZodType<HeartbeatResponse>;

const chunkResponse = z.object({
  next_seq: count,
  cancel: z.boolean(),
}) satisfies z.ZodType<ResultChunkResponse>;

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** Extra time a poll's HTTP call gets on top of the long-poll wait itself. */
const POLL_MARGIN_MS = 10_000;

export function createBotClient(options: BotClientOptions): BotClient {
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const jobPath = (jobId: string, action: string): string =>
    `/api/agent/jobs/${encodeURIComponent(jobId)}/${action}`;
  const preflightPath = (id: string, action: string): string =>
    `/api/agent/preflights/${encodeURIComponent(id)}/${action}`;
  const withSession = <T extends object>(body: T): T & { session?: string } =>
    options.session === undefined ? body : { ...body, session: options.session };
  return {
    poll: (body, signal) =>
      post(
        options,
        "/api/agent/poll",
        withSession(body),
        pollResponse,
        body.wait_ms + POLL_MARGIN_MS,
        signal,
      ),
    claim: (jobId) => post(options, jobPath(jobId, "claim"), withSession({}), claimResponse, timeoutMs),
    heartbeat: (jobId) =>
      post(options, jobPath(jobId, "heartbeat"), withSession({}), heartbeatResponse, timeoutMs),
    submitChunk: (jobId, seq, ndjson, columns) => {
      const names = columns === undefined ? undefined : encodeColumnsHeader(columns);
      const headers = names === undefined ? {} : { [RESULT_COLUMNS_HEADER]: names };
      return post(
        options,
        jobPath(jobId, `result/chunks/${seq}`),
        ndjson,
        chunkResponse,
        timeoutMs,
        undefined,
        headers,
      );
    },
    submitResult: async (jobId, body) => {
      await post(options, jobPath(jobId, "result"), withSession(body), z.unknown(), timeoutMs);
    },
    claimPreflight: (id) =>
      post(options, preflightPath(id, "claim"), withSession({}), preflightClaim, timeoutMs),
    reportPreflight: async (id, body) => {
      await post(options, preflightPath(id, "result"), withSession(body), z.unknown(), timeoutMs);
    },
    reportSchema: async (body) => {
      await post(options, "/api/agent/schema", withSession(body), z.unknown(), timeoutMs);
    },
  };
}

async function post<T>(
  options: BotClientOptions,
  path: string,
  body: unknown,
  schema: z.ZodType<T>,
  timeoutMs: number,
  signal?: AbortSignal,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<T> {
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal === undefined ? [] : [signal])];
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(botEndpoint(options.botUrl, path), {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.agentToken.reveal()}`,
        "content-type": body instanceof Buffer ? "application/x-ndjson" : "application/json",
        accept: "application/json",
        // Also in a header: a chunk's body is rows, with no room for the session.
        ...(options.session !== undefined ? { [SESSION_HEADER]: options.session } : {}),
        ...extraHeaders,
      },
      body: body instanceof Buffer ? body : JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    throw new BotError(0, "internal", `the bot could not be reached at ${path}: ${causeOf(err)}`);
  }
  if (!res.ok) throw await errorFrom(res, path);
  return parseBody(res, path, schema);
}

async function parseBody<T>(res: Response, path: string, schema: z.ZodType<T>): Promise<T> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new BotError(res.status, "internal", `the bot answered ${path} with a body that is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BotError(
      res.status,
      "internal",
      `the bot answered ${path} with an unexpected body: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

async function errorFrom(res: Response, path: string): Promise<BotError> {
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  const parsed = errorBody.safeParse(json);
  if (!parsed.success)
    return new BotError(res.status, "internal", `the bot answered ${path} with HTTP ${res.status}`);
  const { code, message } = parsed.data.error;
  return new BotError(res.status, isErrorCode(code) ? code : "internal", message);
}

function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}
