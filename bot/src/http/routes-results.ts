/**
 * Result routes: an agent's result chunks, a reader's result (JSON preview, or the whole result
 * streamed as CSV, NDJSON or JSON), and an operator's retry of a lost request. A thin adapter
 * over the use cases, like the other route files.
 */
import { pipeline } from "node:stream/promises";
import {
  decodeColumnsHeader,
  DbwardError,
  MAX_RESULT_PREVIEW_ROWS,
  RESULT_COLUMNS_HEADER,
  RESULT_FORMATS,
  SESSION_HEADER,
  type ResultFormat,
} from "@dbward/shared";
import { Router, type Request, type Response } from "express";
import { collectChunkGarbage } from "../results/collect-chunk-garbage.ts";
import { CONTENT_TYPES } from "../results/result-encoding.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { holdAgentSession, parseSessionId } from "../use-cases/hold-agent-session.ts";
import { getResult, openResultDownload, type ResultDownload } from "../use-cases/read-result.ts";
import { toRequestView } from "../use-cases/read-requests.ts";
import { retryRequest } from "../use-cases/retry-request.ts";
import { submitResultChunk } from "../use-cases/submit-result-chunk.ts";
import { assertRunningOwnJob } from "./agent-jobs.ts";
import { authenticateAgent, authenticateUser } from "./authenticate.ts";
import { BODY_LIMITS } from "./body-limits.ts";
import { followFormat, Followers, followParam, sendFollowed } from "./follow-download.ts";
import { readRawBody } from "./read-body.ts";
import { BODY_SHAPES } from "./body-shapes.ts";
import { bodyOf, idParam } from "./routes-requests.ts";

export function resultRoutes(ctx: BotContext): Router {
  const r = Router();
  const followers = new Followers();
  r.post("/api/agent/jobs/:job/result/chunks/:seq", async (req, res) => {
    // Authenticated, and the job found running for this agent, before a byte of the body is read.
    const agentId = await authenticateAgent(ctx, req);
    const session = parseSessionId(req.get(SESSION_HEADER));
    if (session !== undefined) await holdAgentSession(ctx, agentId, session);
    await assertRunningOwnJob(ctx, agentId, req.params.job ?? "");
    const names = req.get(RESULT_COLUMNS_HEADER);
    const columns = names === undefined ? undefined : decodeColumnsHeader(names);
    const body = await readRawBody(req, BODY_LIMITS.chunk);
    // Once the answer is out, nothing holds the chunk: its buffers go at once, not 50 MB later.
    res.once("finish", () => setImmediate(collectChunkGarbage));
    res.json(
      await submitResultChunk(ctx, agentId, req.params.job ?? "", req.params.seq ?? "", body, columns),
    );
  });
  r.get("/api/requests/:id/result", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const format = formatParam(req);
    const follow = followParam(req) ? followFormat(format) : undefined;
    if (format === undefined) {
      res.json(await getResult(ctx, caller, idParam(req), limitParam(req)));
      return;
    }
    const id = idParam(req);
    if (follow !== undefined) {
      followers.take(caller.user.id);
      try {
        await sendFollowed(
          ctx,
          res,
          caller,
          () => authenticateUser(ctx, req),
          id,
          follow,
          (stored) => send(res, format, `request-${id}`, stored),
        );
      } finally {
        followers.give(caller.user.id);
      }
      return;
    }
    await send(res, format, `request-${id}`, await openResultDownload(ctx, caller, id, format));
  });
  r.post("/api/requests/:id/retry", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const { reason } = await bodyOf(req, BODY_SHAPES.reason);
    const retried = await retryRequest(ctx, caller, idParam(req), typeof reason === "string" ? reason : "");
    res.json(await toRequestView(ctx, retried));
  });
  return r;
}

function formatParam(req: Request): ResultFormat | undefined {
  const format = req.query.format;
  if (format === undefined) return undefined;
  if (typeof format !== "string" || !(RESULT_FORMATS as readonly string[]).includes(format)) {
    throw new DbwardError("request.invalid", `format must be one of ${RESULT_FORMATS.join(", ")}`);
  }
  return format as ResultFormat;
}

function limitParam(req: Request): number | undefined {
  if (req.query.limit === undefined) return undefined;
  const limit = Number(req.query.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_RESULT_PREVIEW_ROWS) {
    throw new DbwardError(
      "request.invalid",
      `limit must be 0-${MAX_RESULT_PREVIEW_ROWS}; use format=csv, ndjson or json for the whole result`,
    );
  }
  return limit;
}

/** Streams a result; once headers are out, a failure can only cut the response short. */
async function send(
  res: Response,
  format: ResultFormat,
  name: string,
  download: ResultDownload,
): Promise<void> {
  res.status(200).set({
    "content-type": CONTENT_TYPES[format],
    "content-disposition": `attachment; filename="${name}.${format}"`,
    "x-dbward-row-count": String(download.head.row_count),
    "x-dbward-truncated": download.head.truncated_by ?? "false",
    "x-dbward-bytes": String(download.head.bytes ?? 0),
  });
  try {
    // The pieces are written straight from the generator, each once the one before it has
    // drained, so none is read ahead: through Readable.from, up to sixteen pieces (whole 4 MB
    // chunks) waited in its buffer, and each chunk was still held when the next was read.
    await pipeline(download.body, res);
  } catch (err) {
    // A reader that hangs up mid-download is not the bot's error; a broken store is.
    if (res.writableFinished || isPrematureClose(err)) return;
    res.destroy();
    throw err;
  }
}

function isPrematureClose(err: unknown): boolean {
  return (
    typeof err === "object" && err !== null && "code" in err && err.code === "ERR_STREAM_PREMATURE_CLOSE"
  );
}
