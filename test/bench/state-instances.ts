/**
 * Bot instances for the state benchmarks: `count` real `dbward bot` processes with one config
 * (only `listen.port` differs), on a fresh SQLite data directory (count 1) or a fresh PostgreSQL
 * state database, sharing one signing key as docs/deployment.md asks (the first instance's key
 * file copied into the others' data directories, as test/ha-three-instances.test.ts does), and
 * a keep-alive HTTP client per instance. `stop` ends the processes and removes the state.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEY_FILE } from "../../bot/src/keys/signing-key-file.ts";
import { dropStateDatabase, ensureStateDatabase } from "../support/postgres-state.ts";
import { freePort, startBotProcess, token, type Proc } from "../support/processes.ts";

export type Engine = "sqlite" | "postgres";
export const USERS = ["alice", "bob", "olga"] as const;
export type User = (typeof USERS)[number];

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface Instances {
  readonly urls: readonly string[];
  readonly agentToken: string;
  /** One API call on instance `i`, over that instance's keep-alive connections. */
  call(i: number, who: User | "agent", method: string, path: string, body?: unknown): Promise<Answer>;
  stop(): Promise<void>;
}

function botConfig(port: number, stateUrl: string | undefined): string {
  return `
listen: { host: 127.0.0.1, port: ${port} }
${stateUrl === undefined ? "" : `state: { url: "${stateUrl}" }`}
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows:
  - name: staging-writes
    database: shop
    environment: staging
    operations: [write]
    steps: [{ approvers: ["role:approver"] }]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver] }
  - { id: olga, name: Olga, roles: [operator] }
  - { id: root, name: Root, roles: [admin] }
agents: [{ id: agent-1 }]
execution: { dispatch_timeout_ms: 600000 }
http:
  rate_limits:
    request_create: { burst: 100000, per_minute: 100000 }
`;
}

export async function startInstances(engine: Engine, count: number): Promise<Instances> {
  const root = mkdtempSync(join(tmpdir(), `dbward-bench-${engine}-`));
  const stateUrl = engine === "postgres" ? await ensureStateDatabase(root) : undefined;
  const admin = token("dbw_");
  const agentToken = token("dbwa_");
  const env = { DBWARD_ADMIN_TOKEN: admin, DBWARD_AGENT_TOKEN_AGENT_1: agentToken };
  const procs: Proc[] = [];
  const urls: string[] = [];
  const stop = async (): Promise<void> => {
    for (const p of procs) p.child.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
    if (engine === "postgres") await dropStateDatabase(root);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = join(root, `bot-${i + 1}`);
      mkdirSync(join(dir, "bot"), { recursive: true, mode: 0o700 });
      if (i > 0) {
        const copy = join(dir, "bot", KEY_FILE);
        copyFileSync(join(root, "bot-1", "bot", KEY_FILE), copy);
        chmodSync(copy, 0o600);
      }
      const port = await freePort();
      procs.push(await startBotProcess(dir, botConfig(port, stateUrl), env));
      urls.push(`http://127.0.0.1:${port}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 64 }));
  const raw = (i: number, bearer: string, method: string, path: string, body?: unknown) =>
    new Promise<Answer>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${urls[i] ?? ""}${path}`,
        {
          method,
          agent: agents[i],
          headers: {
            authorization: `Bearer ${bearer}`,
            ...(text === undefined ? {} : { "content-type": "application/json" }),
          },
        },
        (res) => {
          let data = "";
          res.setEncoding("utf8").on("data", (d: string) => (data += d));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: data === "" ? undefined : (JSON.parse(data) as unknown),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(text);
    });
  const stopAll = async (): Promise<void> => {
    for (const a of agents) a.destroy();
    await stop();
  };
  const tokens = {} as Record<User, string>;
  try {
    for (const user of USERS) {
      const issued = await raw(0, admin, "POST", "/api/tokens", { user, name: "bench" });
      if (issued.status !== 201) throw new Error(`token for ${user}: ${JSON.stringify(issued.body)}`);
      tokens[user] = (issued.body as { token: string }).token;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    urls,
    agentToken,
    call: (i, who, method, path, body) =>
      raw(i, who === "agent" ? agentToken : tokens[who], method, path, body),
    stop: stopAll,
  };
}
