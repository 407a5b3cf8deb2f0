/**
 * Results the bot could not take within the retry time, kept in `<data_dir>/outbox/` until it
 * can: one file per job, written to a temporary name, fsynced and renamed, so a crash leaves
 * either the whole record or none. The agent sends them again whenever the bot answers a poll;
 * the bot records a result that comes after the lease as late, with its real outcome, and never
 * overwrites a final state. A record the bot refuses for good (the job is unknown) is dropped
 * with a log line: there is nothing left to deliver it to.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { ResultSubmission } from "@dbward/shared";

export interface OutboxEntry {
  readonly job_id: string;
  readonly body: ResultSubmission;
  readonly recorded_at: string;
}

export interface ResultOutbox {
  put(entry: OutboxEntry): void;
  list(): OutboxEntry[];
  remove(jobId: string): void;
  readonly dir: string;
}

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function openResultOutbox(dataDir: string): ResultOutbox {
  const dir = join(dataDir, "outbox");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (jobId: string): string => {
    // Job ids come from the bot: never let one name a path outside the outbox.
    if (!SAFE_NAME.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} cannot name an outbox file`);
    return join(dir, `${jobId}.json`);
  };
  return {
    dir,
    put(entry) {
      const path = file(entry.job_id);
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, "w", 0o600);
      try {
        writeSync(fd, JSON.stringify(entry));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
    list() {
      return readdirSync(dir)
        .filter((name) => name.endsWith(".json"))
        .sort()
        .flatMap((name) => {
          const parsed = parseEntry(readFileSync(join(dir, name), "utf8"));
          return parsed === undefined ? [] : [parsed];
        });
    },
    remove(jobId) {
      rmSync(file(jobId), { force: true });
    },
  };
}

function parseEntry(text: string): OutboxEntry | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const { job_id, body, recorded_at } = value as Record<string, unknown>;
    if (typeof job_id !== "string" || typeof recorded_at !== "string") return undefined;
    if (typeof body !== "object" || body === null || !("outcome" in body)) return undefined;
    return { job_id, body: body as ResultSubmission, recorded_at };
  } catch {
    return undefined;
  }
}
