/**
 * Bot instances on SQLite and on PostgreSQL state (issue 14), real `dbward bot` processes
 * (state-instances.ts), in one run:
 *
 * - Mixed API traffic: a fixed number of clients, each in a closed loop of create (alice) → show
 *   (olga) → approve (bob) → list of the latest 20 (olga). Client c keeps connections to
 *   instance c mod n, and shows and approves on the next instance, so with several instances
 *   every request is decided on another instance than the one that recorded it. Requests/s and
 *   p50/p99 latency per call, for SQLite (one instance) and PostgreSQL with 1, 2 and 3 instances.
 * - Approval → job offer: an agent's long poll (`POST /api/agent/poll`) held on instance A, the
 *   request approved on instance B; timed from sending the approve call to the poll's answer
 *   carrying the job (and, beside it, from the approve call's own answer). With A ≠ B the wake-up
 *   is PostgreSQL's LISTEN/NOTIFY; the baseline is A = B (the in-process wake-up), on PostgreSQL
 *   and on SQLite. Each sample's request is cancelled afterwards, so the next poll waits again.
 *
 * Every configuration gets fresh state, removed at the end. The load runs in this process, on
 * the same machine as the bots and PostgreSQL: the figures compare engines and instance counts
 * measured side by side, not capacity.
 *
 * BENCH_STATE_CLIENTS (default 8), BENCH_STATE_SECONDS (default 4, after 1 s of warm-up) and
 * BENCH_STATE_SAMPLES (default 60 approvals per latency figure) set the load. Prints figures;
 * never fails on a number.
 */
import type { PollResponse, RequestView } from "@dbward/shared";
import { startInstances, type Answer, type Engine, type Instances } from "./state-instances.ts";
import { fmt, summary } from "./stats.ts";

const CLIENTS = Number(process.env.BENCH_STATE_CLIENTS ?? 8);
const SECONDS = Number(process.env.BENCH_STATE_SECONDS ?? 4);
const SAMPLES = Number(process.env.BENCH_STATE_SAMPLES ?? 60);
const WARMUP_SAMPLES = 5;
/** How long the poll is given to park before the approval is sent. */
const PARK_MS = 25;
const CAPABILITIES = [{ database: "shop", environment: "staging", operations: ["write"] }];

const CALLS = ["create", "show", "approve", "list"] as const;
type Call = (typeof CALLS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let serial = 0;

async function create(bots: Instances, on: number): Promise<RequestView> {
  const res = await bots.call(on, "alice", "POST", "/api/requests", {
    database: "shop",
    environment: "staging",
    sql: `UPDATE orders SET n = n + 1 WHERE id = ${++serial}`,
    reason: "bench",
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as RequestView;
}

interface Traffic {
  readonly latencies: Record<Call, number[]>;
  /** Answers that were not 2xx, by call and status. */
  readonly failures: Record<string, number>;
  readonly perInstance: number[];
  readonly ms: number;
}

/** Every client's closed loop, for `seconds`. */
async function mixedTraffic(bots: Instances, seconds: number): Promise<Traffic> {
  const n = bots.urls.length;
  const latencies = Object.fromEntries(CALLS.map((c) => [c, [] as number[]])) as Record<Call, number[]>;
  const failures: Record<string, number> = {};
  const perInstance = bots.urls.map(() => 0);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const timed = async (call: Call, on: number, run: () => Promise<Answer>): Promise<Answer> => {
    const s = performance.now();
    const res = await run();
    latencies[call].push(performance.now() - s);
    perInstance[on] = (perInstance[on] ?? 0) + 1;
    if (res.status < 200 || res.status > 299) {
      const key = `${call} ${res.status}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
    return res;
  };
  const client = async (c: number): Promise<void> => {
    const home = c % n;
    const other = (c + 1) % n;
    while (performance.now() < end) {
      const created = await timed("create", home, () =>
        bots.call(home, "alice", "POST", "/api/requests", {
          database: "shop",
          environment: "staging",
          sql: `UPDATE orders SET n = n + 1 WHERE id = ${++serial}`,
          reason: "bench",
        }),
      );
      const id = (created.body as RequestView).id;
      await timed("show", other, () => bots.call(other, "olga", "GET", `/api/requests/${id}`));
      await timed("approve", other, () => bots.call(other, "bob", "POST", `/api/requests/${id}/approve`, {}));
      await timed("list", home, () => bots.call(home, "olga", "GET", "/api/requests?limit=20"));
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  return { latencies, failures, perInstance, ms: performance.now() - t0 };
}

function printTraffic(label: string, t: Traffic): void {
  const all = CALLS.flatMap((c) => t.latencies[c]);
  const total = summary(all);
  const rate = (k: number) => fmt((k / t.ms) * 1000, 0);
  const instances = t.perInstance.length > 1 ? `; per instance ${t.perInstance.map(rate).join(" / ")}/s` : "";
  console.log(
    `  ${label.padEnd(24)} ${rate(total.n).padStart(5)} requests/s${instances}; all p50 ${fmt(total.p50)} ms, p99 ${fmt(total.p99)} ms`,
  );
  console.log(
    `  ${"".padEnd(24)} ${CALLS.map((c) => {
      const s = summary(t.latencies[c]);
      return `${c} ${fmt(s.p50)}/${fmt(s.p99)}`;
    }).join(", ")} ms (p50/p99)`,
  );
  const failed = Object.entries(t.failures);
  if (failed.length > 0)
    console.log(`  ${"".padEnd(24)} not 2xx: ${failed.map(([k, v]) => `${k} ×${v}`).join(", ")}`);
}

interface Offers {
  readonly fromSend: number[];
  readonly fromAnswer: number[];
  /** Polls that came back without the job (the wait ran out, or another job was offered). */
  readonly missed: number;
}

interface Route {
  readonly label: string;
  readonly pollOn: number;
  readonly approveOn: number;
}

/** One approval on `approveOn`, answered to a long poll held on `pollOn`; undefined if the poll missed it. */
async function oneOffer(
  bots: Instances,
  route: Route,
): Promise<{ fromSend: number; fromAnswer: number } | undefined> {
  const created = await create(bots, route.approveOn);
  const polled = bots
    .call(route.pollOn, "agent", "POST", "/api/agent/poll", { capabilities: CAPABILITIES, wait_ms: 5000 })
    .then((res) => ({ res, at: performance.now() }));
  await sleep(PARK_MS);
  const sent = performance.now();
  const approved = await bots.call(route.approveOn, "bob", "POST", `/api/requests/${created.id}/approve`, {});
  const answered = performance.now();
  if (approved.status !== 200)
    throw new Error(`approve: ${approved.status} ${JSON.stringify(approved.body)}`);
  const { res, at } = await polled;
  const offered =
    res.status === 200 && (res.body as PollResponse).jobs.some((j) => j.request_id === created.id);
  const cancelled = await bots.call(route.approveOn, "alice", "POST", `/api/requests/${created.id}/cancel`, {
    reason: "bench",
  });
  if (cancelled.status !== 200)
    throw new Error(`cancel: ${cancelled.status} ${JSON.stringify(cancelled.body)}`);
  return offered ? { fromSend: at - sent, fromAnswer: at - answered } : undefined;
}

/** `SAMPLES` approvals per route, the routes taking turns so that a slow moment hits them alike. */
async function approvalToOffer(bots: Instances, routes: readonly Route[]): Promise<[string, Offers][]> {
  const found = routes.map(() => ({ fromSend: [] as number[], fromAnswer: [] as number[], missed: 0 }));
  for (let i = 0; i < WARMUP_SAMPLES + SAMPLES; i++) {
    for (const [r, route] of routes.entries()) {
      const sample = await oneOffer(bots, route);
      const into = found[r];
      if (i < WARMUP_SAMPLES || into === undefined) continue;
      if (sample === undefined) into.missed += 1;
      else {
        into.fromSend.push(sample.fromSend);
        into.fromAnswer.push(sample.fromAnswer);
      }
    }
  }
  return routes.map((route, r) => [route.label, found[r] ?? { fromSend: [], fromAnswer: [], missed: 0 }]);
}

function printOffers(label: string, o: Offers): void {
  const s = summary(o.fromSend);
  const a = summary(o.fromAnswer);
  const early = o.fromAnswer.filter((v) => v < 0).length;
  console.log(
    `  ${label.padEnd(44)} n=${s.n} median ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms` +
      ` | after the approve's answer: median ${fmt(a.p50)} ms, p99 ${fmt(a.p99)} ms (${early} before it)` +
      (o.missed > 0 ? `; polls without the job: ${o.missed}` : ""),
  );
}

async function withInstances<T>(
  engine: Engine,
  count: number,
  work: (b: Instances) => Promise<T>,
): Promise<T> {
  const bots = await startInstances(engine, count);
  try {
    return await work(bots);
  } finally {
    await bots.stop();
  }
}

const traffic: [string, Traffic][] = [];
const offers: [string, Offers][] = [];
const runTraffic = async (label: string, bots: Instances) => {
  await mixedTraffic(bots, 1);
  traffic.push([label, await mixedTraffic(bots, SECONDS)]);
};

await withInstances("sqlite", 1, async (bots) => {
  offers.push(
    ...(await approvalToOffer(bots, [
      { label: "SQLite, poll and approval on one instance", pollOn: 0, approveOn: 0 },
    ])),
  );
  await runTraffic("SQLite, 1 instance", bots);
});
await withInstances("postgres", 1, (bots) => runTraffic("PostgreSQL, 1 instance", bots));
await withInstances("postgres", 2, (bots) => runTraffic("PostgreSQL, 2 instances", bots));
await withInstances("postgres", 3, async (bots) => {
  offers.push(
    ...(await approvalToOffer(bots, [
      { label: "PostgreSQL, poll on A, approval on B", pollOn: 0, approveOn: 1 },
      { label: "PostgreSQL, poll and approval on one instance", pollOn: 2, approveOn: 2 },
    ])),
  );
  await runTraffic("PostgreSQL, 3 instances", bots);
});

console.log(
  `approval → job offer to the agent's long poll (${SAMPLES} approvals each, from sending the approve):`,
);
for (const [label, o] of offers) printOffers(label, o);
console.log(
  `mixed API traffic, ${CLIENTS} clients in closed loops of create → show → approve → list, ${SECONDS} s each:`,
);
for (const [label, t] of traffic) printTraffic(label, t);
