/**
 * Shared by the agent's tests only: real signing keys and tokens from shared, configs built
 * through the real loader, a controllable clock and temporary directories.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import {
  encodePublicKey,
  parseDatabaseName,
  parseEnvironmentName,
  generateSigningKey,
  sha256Hex,
  signExecutionToken,
  type ClaimResponse,
  type OperationClass,
  type SigningKey,
  type TokenInput,
  type TokenPurpose,
} from "@dbward/shared";
import { pino, type Logger } from "pino";
import type { Clock } from "../../../agent/src/clock.ts";
import {
  loadAgentConfig,
  type AgentConfig,
  type DatabaseConfig,
  type DriverName,
} from "../../../agent/src/config.ts";
import { Secret } from "../../../agent/src/secret.ts";

export const AGENT_ID = "agent-one";
export const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
export const MARIADB_URL = "mysql://root@127.0.0.1:3306/test";
/** 2030-01-01T00:00:00Z: far from any real clock, so no test passes by accident of timing. */
export const NOW_MS = Date.UTC(2030, 0, 1);

export const silentLogger: Logger = pino({ level: "silent" });

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "dbward-agent-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock that stands still unless a test moves it; `sleep` waits for real but briefly. */
export function fixedClock(ms = NOW_MS): Clock & { set(ms: number): void } {
  let now = ms;
  return {
    now: () => new Date(now),
    sleep: (_ms, signal) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 1);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    set: (next) => {
      now = next;
    },
  };
}

/** A database config for driver tests, allowing every operation. */
export function testDatabase(driver: DriverName, url: string): DatabaseConfig {
  return {
    name: parseDatabaseName(`${driver}-test`) ?? assert.fail("bad test database name"),
    environment: parseEnvironmentName("test") ?? assert.fail("bad test environment name"),
    driver,
    urlEnv: "TEST_URL",
    url: new Secret(url),
    operations: ["read", "write", "ddl"],
    statementTimeoutMs: 30_000,
    rowCap: 1_000_000,
    resultMaxBytes: 1024 ** 3,
    review: {},
  };
}

export interface TestDatabase {
  name: string;
  environment: string;
  driver: "postgres" | "mysql" | "sqlite";
  url: string;
  operations: OperationClass[];
  trusted_functions?: string[];
}

/** A config for `dbs` pinning `keys`, loaded through `loadAgentConfig`. */
export function testConfig(dataDir: string, keys: SigningKey[], dbs: TestDatabase[]): AgentConfig {
  const env: Record<string, string> = { DBWARD_AGENT_TOKEN: "agent-secret-token" };
  const databases = dbs.map((d, i) => {
    env[`DB_URL_${i}`] = d.url;
    return {
      name: d.name,
      environment: d.environment,
      driver: d.driver,
      url_env: `DB_URL_${i}`,
      operations: d.operations,
      ...(d.trusted_functions === undefined ? {} : { trusted_functions: d.trusted_functions }),
    };
  });
  const doc = {
    id: AGENT_ID,
    bot_url: "http://127.0.0.1:9",
    keys: Object.fromEntries(keys.map((k) => [k.kid, encodePublicKey(k)])),
    data_dir: dataDir,
    databases,
  };
  // JSON is YAML, so the real loader parses it.
  return loadAgentConfig(JSON.stringify(doc), env);
}

export interface JobSpec {
  sql: string;
  database: string;
  environment: string;
  operation: OperationClass;
  jti?: string;
  agent?: string;
  iat?: number;
  exp?: number;
  request_id?: number;
  execution?: number;
  purpose?: TokenPurpose;
  max_rows?: number | null;
}

let counter = 0;

/** A claim as the bot would send it, with a token really signed by `key`. */
export function signedClaim(
  key: SigningKey,
  spec: JobSpec,
  overrides: Partial<ClaimResponse> = {},
): ClaimResponse {
  counter += 1;
  const iat = spec.iat ?? Math.floor(NOW_MS / 1000);
  const input: TokenInput = {
    jti: spec.jti ?? `jti-${process.pid}-${counter}`,
    req: spec.request_id ?? 7,
    exe: spec.execution ?? 1,
    purpose: spec.purpose ?? "execute",
    max_rows: spec.max_rows ?? null,
    db: spec.database,
    env: spec.environment,
    op: spec.operation,
    sql_sha256: sha256Hex(spec.sql),
    agent: spec.agent ?? AGENT_ID,
    iat,
    exp: spec.exp ?? iat + 300,
  };
  return {
    job_id: `job-${counter}`,
    request_id: input.req,
    execution: input.exe,
    token: signExecutionToken(key, input),
    sql: spec.sql,
    database: spec.database,
    environment: spec.environment,
    operation: spec.operation,
    lease_expires_at: new Date(NOW_MS + 60_000).toISOString(),
    heartbeat_interval_ms: 10_000,
    statement_timeout_ms: 5_000,
    row_cap: 100,
    ...overrides,
  };
}

export { generateSigningKey };
