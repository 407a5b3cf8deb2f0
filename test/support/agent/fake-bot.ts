/**
 * Used by the agent's tests only: a bot that speaks the agent protocol through an injected
 * `fetch`, with switches for the failures the loop must survive (a lost claim, a failing poll, a
 * result the bot does not take at first, a cancel in a heartbeat's answer).
 */
import type {
  ClaimResponse,
  JobResultBody,
  PollResponse,
  PreflightClaimResponse,
  PreflightResultBody,
} from "@dbward/shared";

export class FakeBot {
  /** Every call, in order: path and parsed JSON body. */
  readonly calls: { path: string; body: unknown }[] = [];
  readonly results = new Map<string, JobResultBody>();
  /** Status to answer a job's claim with instead of the claim (e.g. 409). */
  readonly claimStatus = new Map<string, number>();
  /** NDJSON chunks received per job, by seq. */
  readonly chunks = new Map<string, string[]>();
  /** Jobs whose heartbeats answer `cancel: true`. */
  readonly cancelled = new Set<string>();
  pollFailures = 0;
  resultFailures = 0;
  /** Chunk calls to fail (503) before one is taken. */
  chunkFailures = 0;
  /** How long an empty poll waits for an offer before answering no jobs. */
  pollWaitMs = 20;
  private readonly queue: ClaimResponse[] = [];
  private readonly plans: PreflightClaimResponse[] = [];
  /** Plans reported, by preflight id. */
  readonly planReports = new Map<string, PreflightResultBody>();
  /** Status to answer a plan's report with instead of taking it (e.g. 409: lapsed meanwhile). */
  planReportStatus: number | undefined;

  /** Offers a preflight: answered to its claim as given. */
  offerPlan(claim: PreflightClaimResponse): void {
    this.plans.push(claim);
    this.wake?.();
  }
  private wake: (() => void) | undefined;

  offer(claim: ClaimResponse): void {
    this.queue.push(claim);
    this.wake?.();
  }

  /** The rows a job's chunks carried, in order. */
  rows(jobId: string): unknown[][] {
    return (this.chunks.get(jobId) ?? [])
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as unknown[]);
  }

  heartbeats(jobId: string): number {
    return this.calls.filter((c) => c.path === `/api/agent/jobs/${jobId}/heartbeat`).length;
  }

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    const chunk = /^\/api\/agent\/jobs\/([^/]+)\/result\/chunks\/(\d+)$/.exec(path);
    if (chunk?.[1] !== undefined && init?.body instanceof Buffer) {
      this.calls.push({ path, body: undefined });
      return this.chunk(decodeURIComponent(chunk[1]), Number(chunk[2]), init.body.toString("utf8"));
    }
    const body: unknown = init?.body === undefined ? undefined : JSON.parse(String(init.body));
    this.calls.push({ path, body });
    if (path === "/api/agent/poll") return this.poll(init?.signal ?? undefined);
    const [, planId, planAction] = /^\/api\/agent\/preflights\/([^/]+)\/(\w+)$/.exec(path) ?? [];
    if (planId !== undefined) return this.plan(decodeURIComponent(planId), planAction, body);
    const [, jobId, action] = /^\/api\/agent\/jobs\/([^/]+)\/(\w+)$/.exec(path) ?? [];
    if (jobId === undefined) return json(404, { error: { code: "request.not_found", message: path } });
    if (action === "claim") return this.claim(decodeURIComponent(jobId));
    if (action === "heartbeat")
      return json(200, {
        lease_expires_at: new Date().toISOString(),
        cancel: this.cancelled.has(decodeURIComponent(jobId)),
      });
    return this.result(decodeURIComponent(jobId), body as JobResultBody);
  }) as typeof fetch;

  private async poll(signal: AbortSignal | undefined): Promise<Response> {
    if (this.pollFailures > 0) {
      this.pollFailures -= 1;
      return json(503, { error: { code: "internal", message: "bot restarting" } });
    }
    if (this.queue.length === 0 && this.plans.length === 0) await this.waitForOffer(signal);
    signal?.throwIfAborted();
    const jobs: PollResponse["jobs"] = this.queue.map((c) => ({
      job_id: c.job_id,
      request_id: c.request_id,
      database: c.database,
      environment: c.environment,
      operation: c.operation,
    }));
    const preflights = this.plans.map((p) => ({
      preflight_id: p.preflight_id,
      request_id: p.request_id,
      kind: p.kind,
      database: p.database,
      environment: p.environment,
      operation: p.operation,
    }));
    return json(200, preflights.length > 0 ? { jobs, preflights } : { jobs });
  }

  private plan(id: string, action: string | undefined, body: unknown): Response {
    if (action === "claim") {
      const index = this.plans.findIndex((p) => p.preflight_id === id);
      const claim = this.plans[index];
      if (claim === undefined) return json(404, { error: { code: "job.not_found", message: id } });
      this.plans.splice(index, 1);
      return json(200, claim);
    }
    if (this.planReportStatus !== undefined)
      return json(this.planReportStatus, { error: { code: "job.lease_lost", message: "lapsed" } });
    this.planReports.set(id, body as PreflightResultBody);
    return json(200, { ok: true });
  }

  private waitForOffer(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollWaitMs);
      signal?.addEventListener("abort", done, { once: true });
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private claim(jobId: string): Response {
    const index = this.queue.findIndex((c) => c.job_id === jobId);
    const claim = this.queue[index];
    if (claim === undefined) return json(404, { error: { code: "job.not_found", message: jobId } });
    this.queue.splice(index, 1);
    const status = this.claimStatus.get(jobId);
    if (status !== undefined)
      return json(status, {
        error: { code: "request.invalid_transition", message: "claimed by another agent" },
      });
    return json(200, claim);
  }

  private chunk(jobId: string, seq: number, ndjson: string): Response {
    if (this.chunkFailures > 0) {
      this.chunkFailures -= 1;
      return json(503, { error: { code: "internal", message: "try again" } });
    }
    const list = this.chunks.get(jobId) ?? [];
    if (this.cancelled.has(jobId)) return json(200, { next_seq: list.length, cancel: true });
    if (seq === list.length) list.push(ndjson);
    this.chunks.set(jobId, list);
    return json(200, { next_seq: list.length, cancel: false });
  }

  private result(jobId: string, body: JobResultBody): Response {
    if (this.resultFailures > 0) {
      this.resultFailures -= 1;
      return json(503, { error: { code: "internal", message: "try again" } });
    }
    this.results.set(jobId, body);
    return new Response(null, { status: 204 });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Waits until `condition` holds, checking every few milliseconds; fails after `ms`. */
export async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
