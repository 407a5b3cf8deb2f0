/**
 * Whether an agent may send a large body for a job: only for one it holds. Checked before the
 * body is read, so a stale or foreign job costs a database lookup, not 8 MB of memory; the use
 * case checks again when it stores the chunk.
 */
import { DbwardError } from "@dbward/shared";
import type { BotContext } from "../use-cases/bot-context.ts";
import { findOwnExecution } from "../use-cases/heartbeat-job.ts";

export async function assertRunningOwnJob(ctx: BotContext, agentId: string, jobId: string): Promise<void> {
  const exe = await findOwnExecution(ctx, agentId, jobId);
  if (exe.status !== "running")
    throw new DbwardError("job.lease_lost", `job ${jobId} is ${exe.status}; stop working on it`);
}
