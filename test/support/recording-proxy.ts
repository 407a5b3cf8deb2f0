/**
 * A man in the middle between an agent and the bot, for crash tests: it forwards every call and
 * keeps each claim the bot answers (token included); switched to replay, it answers as a bot that
 * offers one recorded claim again and keeps the agent's result. T-REPLAY: the agent must refuse.
 * A late result (`delivery: "late"`, what a restarted agent's outcome journal reports of the job
 * it was killed in) is kept apart in `lateResults`: it is not the replayed job's answer.
 */
import { createServer, type Server } from "node:http";
import { freePort } from "./processes.ts";

export interface RecordingProxy {
  readonly url: string;
  readonly claims: unknown[];
  result: unknown;
  /** Late results received while replaying. */
  readonly lateResults: unknown[];
  /** From now on answer as a bot offering `claim` again, instead of forwarding. */
  replay(claim: unknown): void;
  close(): Promise<void>;
}

/** Forwards the agent's calls to the bot and keeps every claim it answers. */
export async function recordingProxy(botUrl: string): Promise<RecordingProxy> {
  let replaying: { claim: Record<string, unknown>; offered: boolean } | undefined;
  const state: RecordingProxy = {
    url: "",
    claims: [],
    result: undefined,
    lateResults: [],
    replay: (claim) => (replaying = { claim: claim as Record<string, unknown>, offered: false }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      const path = req.url ?? "/";
      const answer = (status: number, json: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
      };
      if (replaying !== undefined) {
        const c = replaying.claim;
        if (path === "/api/agent/poll") {
          const jobs = replaying.offered
            ? []
            : [
                {
                  job_id: c.job_id,
                  request_id: c.request_id,
                  database: c.database,
                  environment: c.environment,
                  operation: c.operation,
                },
              ];
          replaying.offered = true;
          return void setTimeout(() => answer(200, { jobs }), jobs.length === 0 ? 500 : 0);
        }
        if (path.endsWith("/claim")) return answer(200, c);
        if (path.endsWith("/heartbeat"))
          return answer(200, { lease_expires_at: new Date().toISOString(), cancel: false });
        if (path.includes("/result/chunks/")) return answer(200, { next_seq: 1, cancel: false });
        if (path.endsWith("/result")) {
          const sent = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
          if (sent.delivery === "late") state.lateResults.push(sent);
          else state.result = sent;
          return answer(200, { recorded: "final" });
        }
        return answer(404, { error: { code: "request.not_found", message: path } });
      }
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type"]) {
        const v = req.headers[name];
        if (typeof v === "string") headers[name] = v;
      }
      fetch(`${botUrl}${path}`, {
        method: req.method ?? "GET",
        headers,
        ...(body.length > 0 ? { body } : {}),
      }).then(
        async (upstream) => {
          const text = await upstream.text();
          if (path.endsWith("/claim") && upstream.ok) state.claims.push(JSON.parse(text));
          res
            .writeHead(upstream.status, {
              "content-type": upstream.headers.get("content-type") ?? "application/json",
            })
            .end(text);
        },
        () => answer(502, { error: { code: "internal", message: "bot unreachable" } }),
      );
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${port}` });
}
