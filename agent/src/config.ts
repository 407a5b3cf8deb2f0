/**
 * The agent's configuration: YAML parsed once at start into a frozen, typed object. Every bad or
 * missing key is reported at once, by its key path, and the agent refuses to start half
 * configured (ARCHITECTURE.md, configuration). Secrets are read from the environment object the
 * caller passes in, never from `process.env` directly, and are wrapped in `Secret`.
 */
import {
  DbwardError,
  MAX_POLL_WAIT_MS,
  NAME_RULE,
  OPERATION_CLASSES,
  parseAgentId,
  parseDatabaseName,
  parseEnvironmentName,
  parsePublicKey,
  settingCeilingsSchema,
  trustedFunctionsSchema,
  type AgentId,
  type DatabaseName,
  type EnvironmentName,
  type OperationClass,
  type PublicKey,
  type SqlReviewOptions,
} from "@dbward/shared";
import { didYouMean, schemaKeysAt } from "@dbward/shared/did-you-mean";
import { join } from "node:path";
import { isMap, isScalar, parse as parseYaml, parseDocument } from "yaml";
import { z } from "zod";
import { botUrlProblem } from "./bot-url.ts";
import { Secret } from "./secret.ts";

export const DRIVER_NAMES = ["postgres", "mysql", "sqlite"] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export const DEFAULT_TOKEN_ENV = "DBWARD_AGENT_TOKEN";

export interface DatabaseConfig {
  readonly name: DatabaseName;
  readonly environment: EnvironmentName;
  readonly driver: DriverName;
  /** The variable the URL came from, for messages that must not show the URL itself. */
  readonly urlEnv: string;
  readonly url: Secret;
  readonly operations: readonly OperationClass[];
  /** Ceiling for a job's statement timeout: the bot may ask for less, never more. */
  readonly statementTimeoutMs: number;
  /** Ceiling for a job's row cap, like the timeout. */
  readonly rowCap: number;
  /** Ceiling for the NDJSON bytes of a job's result, like the row cap. */
  readonly resultMaxBytes: number;
  /**
   * How this agent's own review is tuned for the database: the functions it trusts as
   * side-effect-free and the ceilings for memory settings. The bot's config says the same for
   * its review; a trusted call runs as a read only when both trust it.
   */
  readonly review: Pick<SqlReviewOptions, "trustedFunctions" | "settingCeilings">;
  /**
   * Consent to dry runs (`dry_run: true`): the agent runs a write nobody has approved yet inside
   * a transaction it always rolls back, to count the rows it changes. PostgreSQL and
   * MySQL/MariaDB; not SQLite. The loader always sets it; absent (a hand-built config) means no
   * consent.
   */
  readonly dryRun?: boolean;
  /**
   * Whether the agent reports this database's schema context to the bot (`schema: false` opts
   * out). The loader always sets it; absent (a hand-built config) means it does.
   */
  readonly schema?: boolean;
}

export interface AgentConfig {
  readonly id: AgentId;
  /** Base URL of the bot, as configured (may carry a path prefix). */
  readonly botUrl: string;
  readonly allowInsecure: boolean;
  readonly agentToken: Secret;
  /** Pinned token-signing keys by key id; only these can authorise an execution. */
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly pollWaitMs: number;
  /** Directory of the executed-token ledger and the result outbox. */
  readonly dataDir: string;
  readonly databases: readonly DatabaseConfig[];
  /** How long a result chunk or a final result is retried while the bot cannot be reached. */
  readonly resultRetryMs: number;
  /** On SIGTERM: how long a running job may go on before it is cancelled. */
  readonly drainMs: number;
  /** Touched every few seconds while the agent's loop is alive. */
  readonly livenessFile: string;
  /** Present while the agent can take jobs: the bot answers and a database is reachable. */
  readonly readinessFile: string;
  /** How often each database's schema context is collected and sent again (`schema_interval`). */
  readonly schemaIntervalMs: number;
  /**
   * The key of `hash` column masks (`masking_key_env`, at least 32 bytes): it stays in the data
   * zone, so the bot, which only ever sees the hashes, cannot test a guess against one. Absent:
   * a job whose token asks for a hash mask is refused (masking/result-masking.ts).
   */
  readonly maskingKey?: Secret;
}

type Env = Readonly<Record<string, string | undefined>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function branded<T>(parse: (v: unknown) => T | undefined) {
  return z.string().transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed !== undefined) return parsed;
    ctx.addIssue({ code: "custom", message: `must be ${NAME_RULE}` });
    return z.NEVER;
  });
}

/** An environment variable name whose value must be set; the output wraps the value. */
function fromEnv(env: Env) {
  return z
    .string()
    .regex(ENV_NAME, "must be an environment variable name such as ORDERS_DB_URL")
    .transform((name, ctx) => {
      const value = env[name];
      if (value === undefined || value === "") {
        ctx.addIssue({ code: "custom", message: `environment variable ${name} is not set` });
        return z.NEVER;
      }
      return { name, secret: new Secret(value) };
    });
}

function databaseSchema(env: Env) {
  return z.strictObject({
    name: branded(parseDatabaseName),
    environment: branded(parseEnvironmentName),
    driver: z.enum(DRIVER_NAMES),
    url_env: fromEnv(env),
    operations: z
      .array(z.enum(OPERATION_CLASSES))
      .min(1, "list at least one of read, write, ddl")
      .refine((ops) => new Set(ops).size === ops.length, "must not repeat an operation"),
    statement_timeout_ms: z.number().int().min(100).max(3_600_000).default(30_000),
    row_cap: z.number().int().min(1).max(100_000_000).default(1_000_000),
    result_max_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 ** 3)
      .default(1024 ** 3),
    trusted_functions: trustedFunctionsSchema.default([]),
    setting_ceilings: settingCeilingsSchema.prefault({}),
    dry_run: z.boolean().default(false),
    schema: z.boolean().default(true),
  });
}

/**
 * Dry runs on PostgreSQL and MySQL/MariaDB, never SQLite (a file the agent would write to with
 * nothing to show for it). On MySQL/MariaDB the dry run itself refuses what a ROLLBACK may not
 * undo (preflight/dry-run-mysql.ts: statements that commit implicitly, tables that are not
 * InnoDB or have triggers) and the review refuses writes whose calls it cannot prove. Read from
 * the raw document, like transportProblems, so it is reported with every other problem.
 */
function dryRunProblems(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null) return [];
  const { databases } = raw as Record<string, unknown>;
  if (!Array.isArray(databases)) return [];
  return databases.flatMap((db: unknown, i) => {
    if (typeof db !== "object" || db === null) return [];
    const { driver, dry_run: dryRun } = db as Record<string, unknown>;
    if (dryRun !== true || driver === "postgres" || driver === "mysql") return [];
    return [
      `databases.${i}.dry_run: dry runs are for PostgreSQL and MySQL/MariaDB only, not ${String(driver)}; remove dry_run or set it to false`,
    ];
  });
}

const DURATION_UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration as the bot's config writes one (`30m`, `1h`): a whole number and one unit, within
 * [minMs, maxMs]; a typo is a config error naming the key, never a guess.
 */
function durationSchema(minMs: number, maxMs: number) {
  return z.string().transform((text, ctx) => {
    const m = /^([1-9][0-9]{0,5})(s|m|h|d)$/.exec(text);
    const ms =
      m === null ? undefined : Number(m[1]) * DURATION_UNIT_MS[m[2] as keyof typeof DURATION_UNIT_MS];
    if (ms === undefined || ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration like 30m or 1h (a whole number and one of s, m, h, d) from ${minMs / 60_000}m to ${maxMs / 86_400_000}d, not ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

const publicKeyText = z
  .string()
  .refine((text) => parsePublicKey("check", text) !== undefined, "must be a base64url Ed25519 public key");

function agentConfigSchema(env: Env) {
  return z.strictObject({
    id: branded(parseAgentId),
    // Transport security needs allow_insecure too; see transportProblems.
    bot_url: z.string().refine((u) => botUrlProblem(u, true) === undefined, {
      error: (issue) => botUrlProblem(String(issue.input), true) ?? "invalid",
    }),
    allow_insecure: z.boolean().default(false),
    token_env: fromEnv(env).prefault(DEFAULT_TOKEN_ENV),
    keys: z
      .record(z.string().min(1).max(256), publicKeyText)
      .refine((keys) => Object.keys(keys).length > 0, "pin at least one token-signing key"),
    poll_wait_ms: z.number().int().min(1000).max(MAX_POLL_WAIT_MS).default(25_000),
    data_dir: z.string().min(1, "must name the directory for the executed-token ledger"),
    result_retry_ms: z.number().int().min(1000).max(86_400_000).default(120_000),
    drain_ms: z.number().int().min(0).max(3_600_000).default(30_000),
    liveness_file: z.string().min(1).optional(),
    readiness_file: z.string().min(1).optional(),
    schema_interval: durationSchema(60_000, 7 * 86_400_000).default(3_600_000),
    masking_key_env: fromEnv(env)
      .refine((k) => Buffer.byteLength(k.secret.reveal()) >= 32, "the masking key must be at least 32 bytes")
      .optional(),
    databases: z
      .array(databaseSchema(env))
      .min(1, "configure at least one database")
      .superRefine((dbs, ctx) => {
        const seen = new Set<string>();
        dbs.forEach((db, i) => {
          const key = `${db.name}/${db.environment}`;
          if (seen.has(key))
            ctx.addIssue({ code: "custom", path: [i], message: `duplicate database ${key}` });
          seen.add(key);
        });
      }),
  });
}

/**
 * Parses and validates the agent's YAML config. Throws `config.invalid` whose message lists every
 * problem, one per line, each starting with its key path.
 */
export function loadAgentConfig(text: string, env: Env, source = "agent config"): AgentConfig {
  let raw: unknown;
  try {
    raw = withKeyIdsAsWritten(parseYaml(text), text);
  } catch (err) {
    throw new DbwardError("config.invalid", `${source}: not valid YAML: ${(err as Error).message}`);
  }
  const schema = agentConfigSchema(env);
  const result = schema.safeParse(raw ?? {});
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap((issue) => formatIssue(issue, schema))),
    ...transportProblems(raw),
    ...dryRunProblems(raw),
  ];
  if (!result.success || problems.length > 0) {
    throw new DbwardError(
      "config.invalid",
      `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      {
        problems,
      },
    );
  }
  return toAgentConfig(result.data);
}

/**
 * `keys:` with each key id and public key exactly as written. A key id is hex, and YAML reads
 * some hex as numbers: `77221e1554620437` is a float (Infinity), a 16-digit id loses digits,
 * `0x1f` is 31. Read that way, the pinned id would never match a token's, and the agent would
 * refuse every token as signed by an unknown key. So the `keys` map is taken from the document's
 * own text, not from YAML's reading of it.
 */
function withKeyIdsAsWritten(raw: unknown, text: string): unknown {
  if (typeof raw !== "object" || raw === null || !("keys" in raw)) return raw;
  const node = parseDocument(text).get("keys", true);
  if (!isMap(node)) return raw;
  const asWritten = (n: unknown): unknown => {
    if (isScalar(n)) return typeof n.source === "string" ? n.source : n.value;
    return typeof n === "object" && n !== null && "toJSON" in n ? (n as { toJSON(): unknown }).toJSON() : n;
  };
  const keys = Object.fromEntries(
    node.items.map((item) => [String(asWritten(item.key)), asWritten(item.value)]),
  );
  return { ...raw, keys };
}

function formatIssue(issue: z.core.$ZodIssue, schema: z.core.$ZodType): string[] {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    // With the key it is probably a typo of (`row_cpa` → `row_cap`), read from the schema itself.
    const allowed = schemaKeysAt(schema, issue.path);
    return issue.keys.map((key) => {
      const meant = didYouMean(key, allowed);
      return `${[...path, key].join(".")}: unknown key${meant === undefined ? "" : `; did you mean \`${meant}\`?`}`;
    });
  }
  return [`${path.length === 0 ? "(top level)" : path.join(".")}: ${issue.message}`];
}

/**
 * The plain-http check reads the raw document because it needs two keys at once and must still
 * be reported when other keys are wrong.
 */
function transportProblems(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null) return [];
  const { bot_url: url, allow_insecure: insecure } = raw as Record<string, unknown>;
  if (typeof url !== "string" || botUrlProblem(url, true) !== undefined) return [];
  const problem = botUrlProblem(url, insecure === true);
  return problem === undefined ? [] : [`bot_url: ${problem}`];
}

function toAgentConfig(c: z.infer<ReturnType<typeof agentConfigSchema>>): AgentConfig {
  const keys = new Map<string, PublicKey>();
  for (const [kid, text] of Object.entries(c.keys)) {
    const key = parsePublicKey(kid, text);
    if (key !== undefined) keys.set(kid, key);
  }
  const databases = c.databases.map((d): DatabaseConfig =>
    Object.freeze({
      name: d.name,
      environment: d.environment,
      driver: d.driver,
      urlEnv: d.url_env.name,
      url: d.url_env.secret,
      operations: Object.freeze([...d.operations]),
      statementTimeoutMs: d.statement_timeout_ms,
      rowCap: d.row_cap,
      resultMaxBytes: d.result_max_bytes,
      review: Object.freeze({
        trustedFunctions: Object.freeze([...d.trusted_functions]),
        settingCeilings: Object.freeze({ ...d.setting_ceilings }),
      }),
      dryRun: d.dry_run,
      schema: d.schema,
    }),
  );
  return Object.freeze({
    id: c.id,
    botUrl: c.bot_url,
    allowInsecure: c.allow_insecure,
    agentToken: c.token_env.secret,
    keys,
    pollWaitMs: c.poll_wait_ms,
    dataDir: c.data_dir,
    databases: Object.freeze(databases),
    resultRetryMs: c.result_retry_ms,
    drainMs: c.drain_ms,
    livenessFile: c.liveness_file ?? join(c.data_dir, "alive"),
    readinessFile: c.readiness_file ?? join(c.data_dir, "ready"),
    schemaIntervalMs: c.schema_interval,
    ...(c.masking_key_env === undefined ? {} : { maskingKey: c.masking_key_env.secret }),
  });
}

/** The configured database for a name and environment, if any. */
export function findDatabase(
  config: AgentConfig,
  name: string,
  environment: string,
): DatabaseConfig | undefined {
  return config.databases.find((d) => d.name === name && d.environment === environment);
}
