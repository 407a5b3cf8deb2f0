/**
 * The real agent's job runner with a PostgreSQL (`shop`) and a MariaDB (`legacy`) target, for
 * the masking suites: claims carrying a really signed token with a `masks` claim, run the way
 * the agent's loop runs them, with every chunk it would send kept for inspection.
 */
import { join } from "node:path";
import {
  sha256Hex,
  signExecutionToken,
  type ClaimResponse,
  type SignedMask,
  type SigningKey,
} from "@dbward/shared";
import type { AgentConfig } from "../../agent/src/config.ts";
import { createDriver, createDriverRegistry } from "../../agent/src/drivers/registry.ts";
import { runJob } from "../../agent/src/job-runner.ts";
import { openLedger } from "../../agent/src/ledger.ts";
import { Secret } from "../../agent/src/secret.ts";
import {
  AGENT_ID,
  fixedClock,
  generateSigningKey,
  MARIADB_URL,
  NOW_MS,
  PG_URL,
  silentLogger,
  tempDir,
  testConfig,
} from "./agent/unit-helpers.ts";

export type Db = "pg" | "maria";
export const TARGET: Record<Db, string> = { pg: "shop", maria: "legacy" };

export type MaskingAgentDeps = ReturnType<typeof maskingAgent>["deps"];

/** An agent config, ledger and drivers for both targets; `maskingKey` undefined: no hash key. */
export function maskingAgent(
  t: { after(fn: () => void | Promise<void>): void },
  maskingKey: string | undefined,
) {
  const key = generateSigningKey();
  const dir = tempDir(t);
  const base = testConfig(
    join(dir, "data"),
    [key],
    [
      {
        name: "shop",
        environment: "production",
        driver: "postgres",
        url: PG_URL,
        operations: ["read", "write"],
      },
      {
        name: "legacy",
        environment: "production",
        driver: "mysql",
        url: MARIADB_URL,
        operations: ["read", "write"],
      },
    ],
  );
  const config: AgentConfig = Object.freeze({
    ...base,
    ...(maskingKey === undefined ? {} : { maskingKey: new Secret(maskingKey) }),
  });
  const ledger = openLedger(config.dataDir);
  const drivers = createDriverRegistry((cfg) => createDriver(cfg, () => undefined));
  t.after(async () => {
    ledger.close();
    await drivers.closeAll();
  });
  return { key, deps: { config, ledger, drivers, clock: fixedClock(), logger: silentLogger } };
}

let counter = 0;

/** The claim fields around a token; `token` makes the claim carry another one (a forged token). */
export function maskedClaim(
  key: SigningKey,
  db: Db,
  sql: string,
  masks: SignedMask[] | undefined,
  op: "read" | "write" = "read",
  token?: (claims: TokenClaims) => string,
): ClaimResponse {
  counter += 1;
  const iat = Math.floor(NOW_MS / 1000);
  const claims = {
    jti: `mask-jti-${process.pid}-${counter}`,
    req: 7,
    exe: 1,
    purpose: "execute" as const,
    max_rows: null,
    db: TARGET[db],
    env: "production",
    op,
    sql_sha256: sha256Hex(sql),
    agent: AGENT_ID,
    iat,
    exp: iat + 300,
  };
  return {
    job_id: `mask-job-${counter}`,
    request_id: 7,
    execution: 1,
    token:
      token?.(claims) ?? signExecutionToken(key, { ...claims, ...(masks === undefined ? {} : { masks }) }),
    sql,
    database: TARGET[db],
    environment: "production",
    operation: op,
    lease_expires_at: new Date(NOW_MS + 60_000).toISOString(),
    heartbeat_interval_ms: 10_000,
    statement_timeout_ms: 5_000,
    row_cap: 100,
  };
}

export type TokenClaims = Omit<Parameters<typeof signExecutionToken>[1], "masks">;

/** Runs a claim through the real job runner; `wire` is every chunk it would have sent, joined. */
export async function runMaskedJob(deps: MaskingAgentDeps, c: ClaimResponse) {
  const chunks: string[] = [];
  const body = await runJob(c, deps, {
    signal: new AbortController().signal,
    sendChunk: (_seq, ndjson) => {
      chunks.push(ndjson.toString("utf8"));
      return Promise.resolve({ cancel: false });
    },
    onUploadStop: () => undefined,
  });
  return { body, wire: chunks.join("") };
}
