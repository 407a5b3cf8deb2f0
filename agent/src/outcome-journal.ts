/**
 * The outcome journal: what the agent knows of each job it ran, written ahead of every report so
 * a crash cannot turn a committed statement into a silent `lost` (issue 12). Beside the ledger
 * (ledger.ts) in the data directory, one JSON line per step, appended and fsynced:
 * `started` before the statement runs; then `committed` (with its counts), `failed` (with the
 * result to report) or `unknown` (the connection broke during a write); `acknowledged` once the
 * bot has taken the report, or refused it for good.
 *
 * At start the journal is loaded and compacted (acknowledged jobs are dropped). A job left
 * unacknowledged is reported again (run-claimed-job.ts `flushJournal`): a `failed` one with its
 * result; a `committed` one as "executed, result not delivered"; a `started` or `unknown` one as
 * "outcome unknown: check the target". A torn last line is an append that never reached its
 * fsync and is cut off; any other damaged line stops the agent (fail closed, as the ledger).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DbwardError, LATE_OUTCOME_CODES, type JobResultBody, type ResultSubmission } from "@dbward/shared";
import { z } from "zod";

export const JOURNAL_FILE = "outcome-journal.log";

const error = z.object({ code: z.string(), message: z.string() });
const base = { job_id: z.string().min(1), jti: z.string().min(1), at: z.string() };
const entry = z.discriminatedUnion("state", [
  z.object({ ...base, state: z.literal("started") }).strict(),
  z
    .object({
      ...base,
      state: z.literal("committed"),
      affected_rows: z.number().int().nonnegative().optional(),
      row_count: z.number().int().nonnegative(),
    })
    .strict(),
  // The result as it would have been reported; the journal keeps its outcome and error only.
  z
    .object({
      ...base,
      state: z.literal("failed"),
      outcome: z.enum(["failed", "timed_out", "cancelled", "refused"]),
      duration_ms: z.number().nonnegative(),
      error,
    })
    .strict(),
  z.object({ ...base, state: z.literal("unknown"), error }).strict(),
  z.object({ ...base, state: z.literal("acknowledged") }).strict(),
]);
export type JournalEntry = z.infer<typeof entry>;

/** A job whose report the bot has not acknowledged: its latest entry, and when it started. */
export type PendingOutcome = Exclude<JournalEntry, { state: "acknowledged" }> & {
  readonly started_at: string;
};

export interface OutcomeJournal {
  started(jobId: string, jti: string): void;
  committed(jobId: string, counts: { affected_rows?: number; row_count: number }): void;
  /** The statement did not commit: `result` is what the agent reports. */
  failed(jobId: string, result: JobResultBody & { error: { code: string; message: string } }): void;
  unknown(jobId: string, error: { code: string; message: string }): void;
  acknowledged(jobId: string): void;
  /** Jobs not acknowledged, oldest first. */
  pending(): PendingOutcome[];
  readonly path: string;
  close(): void;
}

type FailedOutcome = Extract<JournalEntry, { state: "failed" }>["outcome"];

/** Opens (creating if needed, mode 0600) and loads the journal in an existing data directory. */
export function openOutcomeJournal(dataDir: string, now: () => Date): OutcomeJournal {
  const path = join(dataDir, JOURNAL_FILE);
  const jobs = compact(path, load(path));
  const fd = openSync(path, "a", 0o600);
  const append = (e: JournalEntry): void => {
    writeFileSync(fd, `${JSON.stringify(e)}\n`);
    fsyncSync(fd);
  };
  const known = (jobId: string): JobState => {
    const job = jobs.get(jobId);
    if (job === undefined) throw new Error(`job ${jobId} was never started in the outcome journal`);
    return job;
  };
  const step = (jobId: string, make: (s: JobState) => JournalEntry): void => {
    const job = known(jobId);
    const e = make(job);
    append(e);
    if (e.state === "acknowledged") jobs.delete(jobId);
    else job.latest = e;
  };
  const at = (): string => now().toISOString();
  return {
    path,
    started(jobId, jti) {
      const e: JournalEntry = { state: "started", job_id: jobId, jti, at: at() };
      append(e);
      jobs.set(jobId, { latest: e, startedAt: e.at });
    },
    committed: (jobId, counts) =>
      step(jobId, (s) => ({ state: "committed", job_id: jobId, jti: s.latest.jti, at: at(), ...counts })),
    failed: (jobId, result) =>
      step(jobId, (s) => ({
        state: "failed",
        job_id: jobId,
        jti: s.latest.jti,
        at: at(),
        outcome: result.outcome as FailedOutcome,
        duration_ms: result.duration_ms,
        error: result.error,
      })),
    unknown: (jobId, err) =>
      step(jobId, (s) => ({ state: "unknown", job_id: jobId, jti: s.latest.jti, at: at(), error: err })),
    acknowledged(jobId) {
      if (!jobs.has(jobId)) return;
      step(jobId, (s) => ({ state: "acknowledged", job_id: jobId, jti: s.latest.jti, at: at() }));
    },
    pending: () => [...jobs.values()].map((s) => ({ ...s.latest, started_at: s.startedAt })),
    close: () => closeSync(fd),
  };
}

interface JobState {
  latest: Exclude<JournalEntry, { state: "acknowledged" }>;
  startedAt: string;
}

/** The journal's jobs not yet acknowledged, in the order they started. */
function load(path: string): Map<string, JobState> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw err;
  }
  // A torn last line never reached its fsync: what it would have said is not known to have happened.
  const end = bytes.lastIndexOf(0x0a) + 1;
  const jobs = new Map<string, JobState>();
  const lines = bytes.subarray(0, end).toString("utf8").split("\n").slice(0, -1);
  lines.forEach((line, i) => {
    const e = parseLine(line);
    if (e === undefined) {
      throw new DbwardError(
        "internal",
        `${path} line ${i + 1} is damaged; restore the file or inspect it before starting the agent`,
      );
    }
    if (e.state === "acknowledged") jobs.delete(e.job_id);
    else if (e.state === "started") jobs.set(e.job_id, { latest: e, startedAt: e.at });
    else jobs.set(e.job_id, { latest: e, startedAt: jobs.get(e.job_id)?.startedAt ?? e.at });
  });
  return jobs;
}

/**
 * Rewrites the journal with only the jobs still pending (temporary file, fsync, rename, directory
 * fsync), so it holds what is left to report rather than every job ever run.
 */
function compact(path: string, jobs: Map<string, JobState>): Map<string, JobState> {
  const tmp = `${path}.tmp`;
  const lines = [...jobs.values()].flatMap((s) =>
    s.latest.state === "started"
      ? [s.latest]
      : [
          { state: "started", job_id: s.latest.job_id, jti: s.latest.jti, at: s.startedAt } as const,
          s.latest,
        ],
  );
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeFileSync(fd, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDirectory(join(path, ".."));
  return jobs;
}

function parseLine(line: string): JournalEntry | undefined {
  try {
    const parsed = entry.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What to tell the bot about a job the journal holds: a failure's own result; a commit as
 * "executed, result not delivered" with its counts; a job that started and never got further
 * (the agent stopped while it ran), or whose connection broke during a write, as "outcome unknown".
 */
export function reportOf(job: PendingOutcome): ResultSubmission {
  const late = { delivery: "late", started_at: job.started_at } as const;
  switch (job.state) {
    case "failed":
      return { outcome: job.outcome, duration_ms: job.duration_ms, error: job.error };
    case "committed":
      return {
        ...late,
        outcome: "succeeded_unreported",
        row_count: job.row_count,
        ...(job.affected_rows === undefined ? {} : { affected_rows: job.affected_rows }),
      };
    case "unknown":
      return { ...late, outcome: "unknown", error: job.error };
    case "started":
      return {
        ...late,
        outcome: "unknown",
        error: {
          code: LATE_OUTCOME_CODES.unknown,
          message:
            "the agent stopped while the statement ran (killed, crashed or the host went down), so it cannot tell whether it committed",
        },
      };
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
