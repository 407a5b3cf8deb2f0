/**
 * Races over real HTTP against one real bot: concurrent approvals, double clicks and two agents
 * claiming one job. Each state change is a compare-and-set inside an IMMEDIATE transaction, so
 * exactly one of the racers may win (ARCHITECTURE.md: the request; SECURITY.md: fake agent).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  parsePublicKey,
  sha256Hex,
  verifyExecutionToken,
  type AgentCapability,
  type AuditEventView,
  type AuditListView,
  type ClaimResponse,
  type ErrorBody,
  type PollResponse,
  type PublicKey,
  type PublicKeysView,
  type RequestView,
} from "@dbward/shared";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production, staging]
  - name: legacy
    dialect: mysql
    environments: [production]
workflows:
  - name: reads-auto
    operations: [read]
    auto_approve: always
  - name: writes-one-approver
    operations: [write]
    steps:
      - approvers: ["role:approver"]
  - name: legacy-writes-two-approvers
    database: legacy
    environment: production
    operations: [write]
    steps:
      - approvers: ["role:approver"]
        min: 2
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: carol, name: Carol, roles: [approver] }
  - { id: dave, name: Dave, roles: [approver] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
  - id: agent-2
`;

const SHOP_PROD_READ: AgentCapability[] = [
  { database: "shop", environment: "production", operations: ["read"] },
];

let counter = 0;
const unique = (): number => ++counter;

describe("bot concurrency", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness(CONFIG);
  });
  after(async () => h.stop());

  const agentToken = (agent: string): string => {
    const t = h.agentTokens[agent];
    assert.ok(t !== undefined, `a token for ${agent}`);
    return t;
  };

  async function create(database: string, environment: string, sql: string): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database,
      environment,
      sql,
      reason: "concurrency test",
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }
  const createWrite = (database: string, environment: string): Promise<RequestView> =>
    create(database, environment, `UPDATE accounts SET flag = 1 WHERE id = ${unique()}`);
  const createRead = (database: string, environment: string): Promise<RequestView> =>
    create(database, environment, `SELECT id, name FROM accounts WHERE id = ${unique()}`);

  async function view(id: number): Promise<RequestView> {
    const res = await h.call(await h.tokenFor("bob"), "GET", `/api/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  async function auditFor(id: number): Promise<AuditEventView[]> {
    const res = await h.call(h.adminToken, "GET", `/api/audit?target=request:${id}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as AuditListView).events;
  }
  const countActions = (events: readonly AuditEventView[], action: string): number =>
    events.filter((e) => e.action === action).length;

  async function poll(agent: string, capabilities: AgentCapability[]): Promise<PollResponse> {
    const res = await h.call(agentToken(agent), "POST", "/api/agent/poll", { capabilities, wait_ms: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as PollResponse;
  }

  const approve = async (who: string, id: number) =>
    h.call(await h.tokenFor(who), "POST", `/api/requests/${id}/approve`, {});

  describe("approvals", () => {
    test("two approvers approving at once record one approval and dispatch the request once", async () => {
      for (let round = 0; round < 5; round++) {
        const r = await createWrite("shop", "staging");
        assert.equal(r.status, "pending_approval");
        const [bob, carol] = await Promise.all([approve("bob", r.id), approve("carol", r.id)]);
        const results = [bob, carol];
        assert.deepEqual(
          results.map((x) => x.status).sort(),
          [200, 409],
          `round ${round}: ${JSON.stringify(results.map((x) => x.body))}`,
        );
        const winner = results.find((x) => x.status === 200);
        assert.equal((winner?.body as RequestView).status, "dispatched");
        const now = await view(r.id);
        assert.equal(now.status, "dispatched");
        assert.equal(now.approvals.length, 1);
        const events = await auditFor(r.id);
        assert.equal(countActions(events, "request.approved"), 1);
        assert.equal(countActions(events, "request.dispatched"), 1);
        assert.equal(countActions(events, "request.approve_refused"), 1, "the loser is audited as refused");
      }
    });

    test("three approvers racing on a one-approval workflow still approve exactly once", async () => {
      const r = await createWrite("shop", "staging");
      const results = await Promise.all(["bob", "carol", "dave"].map((who) => approve(who, r.id)));
      assert.deepEqual(results.map((x) => x.status).sort(), [200, 409, 409]);
      assert.equal((await view(r.id)).approvals.length, 1);
      assert.equal(countActions(await auditFor(r.id), "request.dispatched"), 1);
    });

    test("the same approver double-clicking approves once", async () => {
      const r = await createWrite("legacy", "production");
      assert.equal(r.workflow.name, "legacy-writes-two-approvers");
      const clicks = await Promise.all([approve("bob", r.id), approve("bob", r.id)]);
      assert.deepEqual(
        clicks.map((x) => x.status).sort(),
        [200, 409],
        JSON.stringify(clicks.map((x) => x.body)),
      );
      const now = await view(r.id);
      assert.equal(now.status, "pending_approval", "one approver cannot count twice");
      assert.deepEqual(
        now.approvals.map((a) => a.approver),
        ["bob"],
      );
      const second = await approve("carol", r.id);
      assert.equal((second.body as RequestView).status, "dispatched", "a second person completes it");
    });

    test("a double click on a one-approval workflow dispatches once", async () => {
      const r = await createWrite("shop", "staging");
      const clicks = await Promise.all([approve("bob", r.id), approve("bob", r.id)]);
      assert.deepEqual(clicks.map((x) => x.status).sort(), [200, 409]);
      const events = await auditFor(r.id);
      assert.equal(countActions(events, "request.dispatched"), 1);
      assert.equal((await view(r.id)).approvals.length, 1);
    });
  });

  describe("claims", () => {
    async function raceClaims(r: RequestView): Promise<{ winner: string; claim: ClaimResponse }> {
      const [one, two] = await Promise.all([
        poll("agent-1", SHOP_PROD_READ),
        poll("agent-2", SHOP_PROD_READ),
      ]);
      const jobOne = one.jobs.find((j) => j.request_id === r.id);
      const jobTwo = two.jobs.find((j) => j.request_id === r.id);
      assert.ok(jobOne !== undefined && jobTwo !== undefined, "both agents are offered the job");
      assert.equal(jobOne.job_id, jobTwo.job_id);
      const agents = ["agent-1", "agent-2"] as const;
      const results = await Promise.all(
        agents.map((a) => h.call(agentToken(a), "POST", `/api/agent/jobs/${jobOne.job_id}/claim`, {})),
      );
      assert.deepEqual(
        results.map((x) => x.status).sort(),
        [200, 409],
        JSON.stringify(results.map((x) => x.body)),
      );
      const winnerIndex = results.findIndex((x) => x.status === 200);
      const loser = results[1 - winnerIndex];
      assert.equal((loser?.body as ErrorBody).error.code, "request.invalid_transition");
      assert.equal(JSON.stringify(loser?.body).includes("dbward-exec"), false, "the loser gets no token");
      const winner = agents[winnerIndex];
      assert.ok(winner !== undefined);
      return { winner, claim: results[winnerIndex]?.body as ClaimResponse };
    }

    test("two agents claiming one job at once: exactly one gets it, with a token", async () => {
      for (let round = 0; round < 5; round++) {
        const r = await createRead("shop", "production");
        assert.equal(r.status, "dispatched");
        const { winner, claim } = await raceClaims(r);
        assert.equal(claim.request_id, r.id);
        assert.equal(typeof claim.token, "string");
        const now = await view(r.id);
        assert.equal(now.status, "running");
        assert.deepEqual(
          now.executions.map((e) => e.agent),
          [winner],
        );
        assert.equal(countActions(await auditFor(r.id), "request.claimed"), 1);
        const again = await poll("agent-1", SHOP_PROD_READ);
        assert.ok(!again.jobs.some((j) => j.request_id === r.id), "a claimed job is not offered again");
      }
    });

    test("the claim's token verifies against the published public key, for this SQL and agent only", async () => {
      const r = await createRead("shop", "production");
      const { winner, claim } = await raceClaims(r);
      const published = (await (await fetch(`${h.url}/api/public-key`)).json()) as PublicKeysView;
      const keys = new Map<string, PublicKey>();
      for (const k of published.keys) {
        const key = parsePublicKey(k.kid, k.public_key);
        assert.ok(key !== undefined);
        keys.set(k.kid, key);
      }
      const context = {
        keys,
        now: Math.floor(Date.now() / 1000),
        sql: claim.sql,
        agentId: winner,
        purpose: "execute" as const,
        allows: (db: string, env: string, op: string) =>
          SHOP_PROD_READ.some(
            (c) => c.database === db && c.environment === env && c.operations.some((o) => o === op),
          ),
      };
      const verified = verifyExecutionToken(claim.token, context);
      assert.ok(verified.ok, JSON.stringify(verified));
      assert.equal(verified.claims.req, r.id);
      assert.equal(verified.claims.db, "shop");
      assert.equal(verified.claims.env, "production");
      assert.equal(verified.claims.op, "read");
      assert.equal(verified.claims.agent, winner);
      assert.equal(verified.claims.sql_sha256, sha256Hex(r.sql));
      assert.equal(verified.claims.sql_sha256, r.sql_sha256);
      assert.equal(claim.sql, r.sql);
      assert.ok(verified.claims.exp - verified.claims.iat <= 300, "at most five minutes");

      const refused = (change: Partial<typeof context>): string | undefined => {
        const v = verifyExecutionToken(claim.token, { ...context, ...change });
        return v.ok ? undefined : v.code;
      };
      assert.equal(refused({ sql: `${claim.sql} ` }), "token.sql_mismatch");
      assert.equal(
        refused({ agentId: winner === "agent-1" ? "agent-2" : "agent-1" }),
        "token.agent_mismatch",
      );
      assert.equal(refused({ keys: new Map() }), "token.unknown_key");
      assert.equal(refused({ allows: () => false }), "token.capability");
    });

    test("an agent is offered only jobs inside its declared capabilities, and cannot claim others", async () => {
      const caps: AgentCapability[] = [{ database: "shop", environment: "staging", operations: ["read"] }];
      const inside = await createRead("shop", "staging");
      const otherEnv = await createRead("shop", "production");
      const otherDb = await createRead("legacy", "production");
      const otherOp = await createWrite("shop", "staging");
      assert.equal((await approve("bob", otherOp.id)).status, 200);
      for (const r of [inside, otherEnv, otherDb]) assert.equal(r.status, "dispatched");
      assert.equal((await view(otherOp.id)).status, "dispatched");

      const offered = await poll("agent-1", caps);
      assert.ok(
        offered.jobs.some((j) => j.request_id === inside.id),
        "the matching job is offered",
      );
      for (const j of offered.jobs) {
        assert.deepEqual(
          [j.database, j.environment, j.operation],
          ["shop", "staging", "read"],
          JSON.stringify(j),
        );
      }
      for (const r of [otherEnv, otherDb, otherOp]) {
        assert.ok(!offered.jobs.some((j) => j.request_id === r.id), `request ${r.id} is not offered`);
        const claim = await h.call(agentToken("agent-1"), "POST", `/api/agent/jobs/${r.id}-1/claim`, {});
        assert.equal(claim.status, 403, JSON.stringify(claim.body));
        assert.equal((claim.body as ErrorBody).error.code, "auth.forbidden");
        assert.equal((await view(r.id)).status, "dispatched", "a refused claim changes nothing");
      }
    });

    test("an agent that never declared capabilities cannot claim anything", async () => {
      const r = await createRead("shop", "production");
      const empty = await poll("agent-2", []);
      assert.deepEqual(empty.jobs, []);
      const claim = await h.call(agentToken("agent-2"), "POST", `/api/agent/jobs/${r.id}-1/claim`, {});
      assert.equal(claim.status, 403);
      assert.equal((await view(r.id)).status, "dispatched");
    });
  });
});
