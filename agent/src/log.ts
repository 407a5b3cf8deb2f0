/**
 * Structured logs (pino). What never appears in them: execution tokens, the agent token,
 * connection URLs and SQL text; a job is identified by its ids and the SHA-256 of its SQL. The
 * code passes only safe fields; the redaction list is the second line of defence against a field
 * added later by mistake.
 */
import { sha256Hex, type ClaimResponse } from "@dbward/shared";
import { pino, type DestinationStream, type Logger } from "pino";

const REDACT = ["token", "sql", "url", "authorization", "agentToken"].flatMap((k) => [k, `*.${k}`]);

export function createAgentLogger(destination?: DestinationStream): Logger {
  const options = { name: "dbward-agent", redact: { paths: REDACT, censor: "[redacted]" } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** The loggable facts of a claimed job. */
export function describeClaim(claim: ClaimResponse): Record<string, unknown> {
  return {
    job_id: claim.job_id,
    request_id: claim.request_id,
    execution: claim.execution,
    database: claim.database,
    environment: claim.environment,
    operation: claim.operation,
    sql_sha256: sha256Hex(claim.sql),
  };
}

/**
 * Name and message only: some errors carry their input as a property (an invalid connection URL
 * in `input`), and a whole-object serialiser would log it.
 */
export function describeError(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: "unknown", message: String(err) };
}
