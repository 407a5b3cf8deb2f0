/**
 * Driving a result by hand for the follow suites (test/follow-*.test.ts): a request claimed as
 * the agent, and its chunks sent as the agent sends them, against the in-process bot harness.
 */
import assert from "node:assert/strict";
import {
  encodeColumnsHeader,
  RESULT_COLUMNS_HEADER,
  type AgentCapability,
  type ClaimResponse,
  type PollResponse,
  type RequestView,
} from "@dbward/shared";
import type { BotHarness } from "./bot-harness.ts";

export function followJobs(get: () => BotHarness, capabilities: AgentCapability[], firstSelect: number) {
  const agent = (): string => get().agentTokens["agent-1"] ?? assert.fail("no agent token");
  let n = 0;
  /** A read of `shop` in staging by alice (auto-approved), offered to and claimed by agent-1. */
  async function claimed(): Promise<{ claim: ClaimResponse; id: number }> {
    const h = get();
    n += 1;
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: `SELECT ${firstSelect + n}`,
      reason: "attack",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const r = res.body as RequestView;
    const poll = (await h.call(agent(), "POST", "/api/agent/poll", { capabilities, wait_ms: 0 }))
      .body as PollResponse;
    const offer =
      poll.jobs.find((j) => j.request_id === r.id) ?? assert.fail(`not offered: ${JSON.stringify(poll)}`);
    const claim = (await h.call(agent(), "POST", `/api/agent/jobs/${offer.job_id}/claim`, {}))
      .body as ClaimResponse;
    return { claim, id: r.id };
  }
  /** Chunk `seq` of the job, with the column names when given (chunk 0). */
  async function chunk(
    jobId: string,
    seq: number,
    body: string,
    names?: string[],
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${get().url}/api/agent/jobs/${jobId}/result/chunks/${seq}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${agent()}`,
        "content-type": "application/x-ndjson",
        ...(names === undefined
          ? {}
          : { [RESULT_COLUMNS_HEADER]: encodeColumnsHeader(names) ?? assert.fail("too wide") }),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  return { agent, claimed, chunk };
}
