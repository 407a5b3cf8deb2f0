/**
 * The bot's configuration: parsed once at start from YAML into a frozen, typed object. Every bad
 * or missing key is reported at once, by its path, and the bot refuses to start half-configured.
 * Secrets never live here: they come from the environment (see env.ts).
 */
import {
  DbwardError,
  MAX_GUARD_ROWS,
  NAME_RULE,
  OPERATION_CLASSES,
  RUN_MODES,
  SQL_DIALECTS,
} from "@dbward/shared";
import { didYouMean, schemaKeysAt } from "@dbward/shared/did-you-mean";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { durationSchema } from "./duration.ts";
import { sqlReviewPolicySchema } from "./sql-review-config.ts";
import { httpSchema, monitoringSchema } from "./operations-config.ts";
import { AUDIT_DEFAULTS, auditSchema } from "./audit-config.ts";
import { SIGNING_DEFAULTS, signingSchema } from "./signing-config.ts";
import { RESULTS_DEFAULTS, resultsSchema } from "./results-config.ts";
import { MASKING_DEFAULTS, maskingProblems, maskingSchema } from "./masking-config.ts";
import { STATE_DEFAULTS, stateSchema } from "./state-config.ts";
import { allowPrivateSchema, checkWebhooks, webhookSchema } from "./webhooks-config.ts";
import { BUILTIN_ROLES } from "../core/permissions.ts";
import { MAX_RUN_WITHIN_MS } from "../core/workflow.ts";
import {
  customRoleSchema,
  identityDefaults,
  identityProblems,
  joinRequestsSchema,
  oidcSchema,
} from "./identity-config.ts";
import { stepUpProblems, stepUpSchema, workflowStepUpSchema } from "./step-up-config.ts";

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, `must be ${NAME_RULE}`);
const nameOrWildcard = z.union([z.literal("*"), name]);

/** The built-in roles; custom ones are defined under `roles:` (identity-config.ts). */
export const ROLES = BUILTIN_ROLES;
/** A role name: built in, or defined in the config (checked when the config is parsed). */
export type Role = string;

const databaseSchema = z
  .strictObject({
    name,
    dialect: z.enum(SQL_DIALECTS),
    environments: z.array(name).min(1),
    description: z.string().max(200).optional(),
    /**
     * Ask the agent for a plan (EXPLAIN, never ANALYZE) of each read and write waiting for
     * approval, to show approvers (PostgreSQL and MySQL/MariaDB; default on there).
     */
    explain: z.boolean().optional(),
    /**
     * Ask the agent to count a write's changed rows by running it in a transaction that is always
     * rolled back (a dry run), to show approvers: `true` for every environment, or the ones listed.
     * Off by default; PostgreSQL and MySQL/MariaDB (not SQLite, whose agent has no dry run); never
     * for DDL. The agent must consent too (its database's `dry_run: true`), and refuses what it
     * cannot roll back or whose calls it cannot prove.
     */
    dry_run: z.union([z.boolean(), z.array(name).min(1)]).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.dry_run === undefined || d.dry_run === false) return;
    if (d.dialect === "sqlite")
      ctx.addIssue({
        code: "custom",
        path: ["dry_run"],
        message:
          "dry runs are for PostgreSQL and MySQL/MariaDB databases only (this one is sqlite): the agent has no SQLite dry run; remove dry_run",
      });
    if (Array.isArray(d.dry_run))
      for (const env of d.dry_run)
        if (!d.environments.includes(env))
          ctx.addIssue({
            code: "custom",
            path: ["dry_run"],
            message: `environment ${env} is not one of this database's environments (${d.environments.join(", ")})`,
          });
  });

/** `role:approver`, `group:dba`, `user:bob` — who may approve a step. */
const selector = z
  .string()
  .regex(/^(role|group|user):[a-z0-9][a-z0-9_.-]{0,62}$/, "must be role:NAME, group:NAME or user:ID");

const stepSchema = z
  .strictObject({
    name: z.string().min(1).max(60).optional(),
    approvers: z.array(selector).min(1),
    /** `any`: the step needs `min` approvals from anyone any selector matches; `all`: each selector needs `min`. */
    mode: z.enum(["any", "all"]).default("any"),
    min: z.number().int().min(1).max(10).default(1),
    /** Re-notify the approvers by DM every time the step has waited this long (milliseconds). */
    remind_after: durationSchema.optional(),
    /** Once the step has waited this long, `escalate_to` may decide on it too (milliseconds). */
    escalate_after: durationSchema.optional(),
    escalate_to: z.array(selector).min(1).optional(),
    /**
     * The step applies only to writes whose dry run counted at least this many rows: below it
     * the step is waived once the count is in. Without a count it applies (fail closed).
     */
    min_rows: z.number().int().min(1).max(MAX_GUARD_ROWS).optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.escalate_after === undefined) !== (s.escalate_to === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [s.escalate_after === undefined ? "escalate_after" : "escalate_to"],
        message: "escalate_after and escalate_to go together: set both or neither",
      });
    }
  });

const riskThreshold = z.enum(["low", "medium", "high"]);

const workflowSchema = z
  .strictObject({
    name,
    database: nameOrWildcard.default("*"),
    environment: nameOrWildcard.default("*"),
    operations: z.array(z.enum(OPERATION_CLASSES)).min(1).optional(),
    /**
     * `never` (default), `always`, `{ risk_at_most: low|medium|high }`, or `{ max_rows: N }` (a
     * write whose dry-run count is at most N; without a count, never), with steps to fall back to.
     */
    auto_approve: z
      .union([
        z.enum(["never", "always"]),
        z.strictObject({ risk_at_most: riskThreshold }),
        z.strictObject({ max_rows: z.number().int().min(0).max(MAX_GUARD_ROWS) }),
      ])
      .default("never"),
    steps: z.array(stepSchema).max(5).default([]),
    allow_self_approval: z.boolean().default(false),
    /** May one person approve two steps of the same request? */
    allow_same_approver_across_steps: z.boolean().default(false),
    /** Roles that may skip approval with a written reason (announced loudly). */
    break_glass_roles: z.array(name).default([]),
    /**
     * The row guard: the most rows one write under this workflow may change. The bound is signed
     * into the execution token; the agent rolls back a write that changes more
     * (`execution.row_guard`). Reads and DDL have no guard.
     */
    max_rows: z.number().int().min(0).max(MAX_GUARD_ROWS).optional(),
    /**
     * `dry_run_count`: also bound each write by its dry run's count plus `guard_tolerance` (a
     * whole percentage, default `0%`), signed into the token like `max_rows`. A write under it
     * needs a dry run (databases[].dry_run) and cannot be approved until its count is in.
     */
    guard: z.literal("dry_run_count").optional(),
    guard_tolerance: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,3})%$/, 'must be a whole percentage from "0%" to "9999%", such as "10%"')
      .optional(),
    /**
     * When an approved request runs: `on_approval` (default) at once, or `by_requester` when its
     * requester says "Run now" (Slack, the Home tab, `dbward request run`, MCP) within
     * `run_within`; the execution token is only issued then.
     */
    run: z.enum(RUN_MODES).default("on_approval"),
    /** How long a `by_requester` request waits for its requester to run it (default 24h). */
    run_within: durationSchema.optional(),
    /** Approvals count only after a fresh sign-in at the identity provider (step-up-config.ts). */
    step_up: workflowStepUpSchema.optional(),
  })
  .refine((w) => w.auto_approve === "always" || w.steps.length > 0, {
    message: "a workflow that does not always auto-approve needs at least one approval step",
    path: ["steps"],
  })
  .refine((w) => w.max_rows === undefined || w.operations === undefined || w.operations.includes("write"), {
    message: "max_rows guards writes, and this workflow's operations include no write",
    path: ["max_rows"],
  })
  .refine((w) => w.guard === undefined || w.operations === undefined || w.operations.includes("write"), {
    message: "guard bounds writes, and this workflow's operations include no write",
    path: ["guard"],
  })
  .refine(
    (w) =>
      w.guard === undefined ||
      w.auto_approve === "never" ||
      (typeof w.auto_approve === "object" && "max_rows" in w.auto_approve),
    {
      message:
        "guard: dry_run_count approves a write only once its dry run has counted it, and this auto_approve would approve it at creation, before any count; use auto_approve: { max_rows: N } or never",
      path: ["auto_approve"],
    },
  )
  .refine((w) => w.guard_tolerance === undefined || w.guard !== undefined, {
    message: "guard_tolerance is the slack of guard: dry_run_count; set guard, or drop it",
    path: ["guard_tolerance"],
  })
  .refine(
    (w) =>
      typeof w.auto_approve !== "object" ||
      !("max_rows" in w.auto_approve) ||
      w.operations === undefined ||
      w.operations.includes("write"),
    {
      message: "auto_approve max_rows counts a write's rows, and this workflow's operations include no write",
      path: ["auto_approve"],
    },
  )
  .refine((w) => w.run_within === undefined || w.run === "by_requester", {
    message:
      "run_within is how long a by_requester request waits to be run; set run: by_requester, or drop it",
    path: ["run_within"],
  })
  .refine((w) => w.run_within === undefined || w.run_within <= MAX_RUN_WITHIN_MS, {
    message: "run_within is at most 7d: an approval is not a standing permission",
    path: ["run_within"],
  });

/**
 * The most rows one execution may return: the agent's own ceiling for its `row_cap`
 * (agent/src/config.ts). Results stream to the result store in chunks, so the bot holds no more
 * than a chunk of them in memory whatever the cap.
 */
const MAX_ROW_CAP = 100_000_000;

const executionPolicySchema = z.strictObject({
  database: nameOrWildcard.default("*"),
  environment: nameOrWildcard.default("*"),
  statement_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
  row_cap: z.number().int().min(1).max(MAX_ROW_CAP).optional(),
  /** Cap on a result's NDJSON bytes; a result that reaches it is stored truncated. */
  result_max_bytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 ** 3)
    .optional(),
  max_executions: z
    .strictObject({ count: z.number().int().min(1), window_minutes: z.number().int().min(1).max(43_200) })
    .optional(),
});

const userSchema = z.strictObject({
  id: name,
  name: z.string().min(1).max(100),
  email: z.email().optional(),
  slack_user_id: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,20}$/, "must be a Slack user id such as U0123ABCD")
    .optional(),
  roles: z.array(name).min(1),
  /** The identity provider subject this user signs in as: `<issuer>#<sub>` (docs/authentication.md). */
  oidc_subject: z.string().min(3).max(600).optional(),
  groups: z.array(name).default([]),
});

const agentSchema = z.strictObject({ id: name });

/** The Slack surface (docs/slack.md): where approval posts go, what they show, who gets results. */
const slackSchema = z.strictObject({
  /**
   * How Slack reaches the bot: `http` (Slack POSTs to the public `/slack/events` URL) or `socket`
   * (the bot opens outbound WebSockets with an app-level token; no inbound port for Slack).
   * Read at start: a reload does not switch modes.
   */
  mode: z.enum(["http", "socket"]).default("http"),
  /** The channel id (C…, G…) or `#name` approval posts go to; the app must be a member. */
  approvals_channel: z
    .string()
    .regex(/^([CG][A-Z0-9]{2,20}|#[a-z0-9_-]{1,80})$/, "must be a channel id such as C0123ABCD, or #name"),
  /**
   * Channel routing per database × environment (e.g. production to #db-prod, staging to
   * #db-staging); the most specific entry wins, and approvals_channel takes the rest.
   */
  routes: z
    .array(
      z.strictObject({
        database: nameOrWildcard.default("*"),
        environment: nameOrWildcard.default("*"),
        channel: z
          .string()
          .regex(
            /^([CG][A-Z0-9]{2,20}|#[a-z0-9_-]{1,80})$/,
            "must be a channel id such as C0123ABCD, or #name",
          ),
      }),
    )
    .default([]),
  /** Per environment: show the SQL in the channel post. Unlisted: off for production, on elsewhere. */
  show_sql_in_channel: z.record(name, z.boolean()).default({}),
  results: z
    .strictObject({
      /** Who gets results by DM besides the requester: role:NAME, group:NAME or user:ID. */
      share_with: z.array(selector).default([]),
      /** Also post results in the request's thread in the approvals channel. */
      in_thread: z.boolean().default(false),
      /** Rows shown as a table in Slack; the CSV file has all of them. */
      preview_rows: z.number().int().min(1).max(100).default(20),
    })
    .default({ share_with: [], in_thread: false, preview_rows: 20 }),
});

const executionSchema = z.strictObject({
  statement_timeout_ms: z.number().int().min(100).max(3_600_000).default(30_000),
  row_cap: z.number().int().min(1).max(MAX_ROW_CAP).default(1000),
  /** Cap on a result's NDJSON bytes (rows as JSON arrays, one per line). */
  result_max_bytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 ** 3)
    .default(256 * 1024 ** 2),
  /** How long a dispatched request waits for an agent before it goes back to approved. */
  dispatch_timeout_ms: z.number().int().min(1000).max(3_600_000).default(60_000),
  /** How long an approved request may wait to run before it expires. */
  approved_ttl_ms: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(3_600_000),
  /** How long a pending request waits for approvals before it expires. */
  pending_ttl_ms: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(86_400_000),
  /** Extra lease time on top of the statement timeout. */
  lease_margin_ms: z.number().int().min(1000).max(600_000).default(30_000),
});

export const botConfigSchema = z.strictObject({
  data_dir: z.string().min(1).optional(),
  listen: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .default({ host: "127.0.0.1", port: 8080 }),
  databases: z.array(databaseSchema).min(1),
  workflows: z.array(workflowSchema).min(1),
  execution_policies: z.array(executionPolicySchema).default([]),
  sql_review: z.array(sqlReviewPolicySchema).default([]),
  users: z.array(userSchema).default([]),
  agents: z.array(agentSchema).default([]),
  bootstrap_admin: name.optional(),
  roles: z.record(name, customRoleSchema).default(identityDefaults.roles),
  oidc: oidcSchema.optional(),
  /** How step-up approvals sign approvers in again (step-up-config.ts). */
  step_up: stepUpSchema.optional(),
  join_requests: joinRequestsSchema.default(identityDefaults.join_requests),
  slack: slackSchema.optional(),
  execution: executionSchema.default(executionSchema.parse({})),
  http: httpSchema.default(httpSchema.parse({})),
  monitoring: monitoringSchema.default(monitoringSchema.parse({})),
  /** Signed checkpoints and retention (docs/audit.md). */
  audit: auditSchema.default(AUDIT_DEFAULTS),
  /** Where the token and checkpoint signing keys live (docs/configuration.md, "Signing keys"). */
  signing: signingSchema.default(SIGNING_DEFAULTS),
  /** Result readers, store and retention (docs/results.md). */
  results: resultsSchema.default(RESULTS_DEFAULTS),
  /** Where the workflow state and audit chain live: SQLite by default, or PostgreSQL (docs/configuration.md). */
  state: stateSchema.default(STATE_DEFAULTS),
  /** Outbound webhooks (docs/webhooks.md). */
  webhooks: z.array(webhookSchema).default([]),
  webhooks_allow_private: allowPrivateSchema,
  /** Column masks the agent applies to results (masking-config.ts, docs/security-hardening.md). */
  masking: maskingSchema.default(MASKING_DEFAULTS),
});

export type BotConfig = Readonly<z.infer<typeof botConfigSchema>>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type WorkflowConfig = z.infer<typeof workflowSchema>;
export type StepConfig = z.infer<typeof stepSchema>;
export type ExecutionPolicyConfig = z.infer<typeof executionPolicySchema>;
export type UserConfig = z.infer<typeof userSchema>;
export type SlackConfig = z.infer<typeof slackSchema>;
export type { CustomRoleConfig, JoinRequestsConfig, OidcConfig } from "./identity-config.ts";

/** Parses and validates YAML text; throws `config.invalid` listing every problem by key path. */
export function parseBotConfig(text: string, source = "bot config"): BotConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new DbwardError("config.invalid", `${source}: not valid YAML: ${(err as Error).message}`);
  }
  const result = botConfigSchema.safeParse(raw ?? {});
  // Reference checks run on the raw YAML too, so one start reports a type error and an unknown
  // database together instead of one per restart.
  const problems = result.success
    ? [
        ...crossCheck(result.data),
        ...identityProblems(result.data),
        ...stepUpProblems(result.data),
        ...maskingProblems(result.data.masking, result.data.databases),
        ...checkWebhooks(result.data.webhooks, new Map(result.data.databases.map((d) => [d.name, d]))),
      ]
    : [...result.error.issues.flatMap(formatIssue), ...crossCheck(looseView(raw))];
  if (problems.length > 0 || !result.success) {
    throw new DbwardError(
      "config.invalid",
      `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      {
        problems,
      },
    );
  }
  return deepFreeze(result.data);
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    // One problem per key, with the key it is probably a typo of (`workflow` → `workflows`).
    const allowed = schemaKeysAt(botConfigSchema, issue.path);
    return issue.keys.map((key) => {
      const meant = didYouMean(key, allowed);
      return `${path}: unknown key "${key}"${meant === undefined ? "" : `; did you mean \`${meant}\`?`}`;
    });
  }
  return [`${path}: ${issue.message}`];
}

/** The parts of a config the reference checks read, taken defensively from unvalidated YAML. */
interface LooseConfig {
  databases: { name: string; environments: string[] }[];
  workflows: { name: string; database: string; environment: string }[];
  users: { id: string; roles: string[]; slack_user_id?: string | undefined }[];
  agents: { id: string }[];
  execution_policies: { database: string }[];
  bootstrap_admin?: string | undefined;
}

function looseView(raw: unknown): LooseConfig {
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj) : []);
  const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);
  const strs = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  const r = obj(raw);
  return {
    databases: list(r.databases).map((d) => ({ name: str(d.name), environments: strs(d.environments) })),
    workflows: list(r.workflows).map((w) => ({
      name: str(w.name),
      database: str(w.database, "*"),
      environment: str(w.environment, "*"),
    })),
    users: list(r.users).map((u) => ({
      id: str(u.id),
      roles: strs(u.roles),
      slack_user_id: typeof u.slack_user_id === "string" ? u.slack_user_id : undefined,
    })),
    agents: list(r.agents).map((a) => ({ id: str(a.id) })),
    execution_policies: list(r.execution_policies).map((p) => ({ database: str(p.database, "*") })),
    bootstrap_admin: typeof r.bootstrap_admin === "string" ? r.bootstrap_admin : undefined,
  };
}

/** Checks that need the whole config: names that must exist or be unique. */
function crossCheck(c: LooseConfig): string[] {
  const problems: string[] = [];
  const dbs = new Map(c.databases.map((d) => [d.name, d]));
  duplicates(c.databases.map((d) => d.name)).forEach((n) => problems.push(`databases: duplicate name ${n}`));
  duplicates(c.workflows.map((w) => w.name)).forEach((n) => problems.push(`workflows: duplicate name ${n}`));
  duplicates(c.users.map((u) => u.id)).forEach((n) => problems.push(`users: duplicate id ${n}`));
  duplicates(c.users.flatMap((u) => (u.slack_user_id ? [u.slack_user_id] : []))).forEach((n) =>
    problems.push(`users: Slack user id ${n} is linked to more than one user`),
  );
  duplicates(c.agents.map((a) => a.id)).forEach((n) => problems.push(`agents: duplicate id ${n}`));
  c.workflows.forEach((w, i) => {
    const db = w.database === "*" ? undefined : dbs.get(w.database);
    if (w.database !== "*" && db === undefined) {
      problems.push(`workflows.${i}.database: unknown database ${w.database}`);
    }
    if (db !== undefined && w.environment !== "*" && !db.environments.includes(w.environment)) {
      problems.push(`workflows.${i}.environment: database ${db.name} has no environment ${w.environment}`);
    }
  });
  c.execution_policies.forEach((p, i) => {
    if (p.database !== "*" && !dbs.has(p.database))
      problems.push(`execution_policies.${i}.database: unknown database ${p.database}`);
  });
  if (c.bootstrap_admin !== undefined) {
    const admin = c.users.find((u) => u.id === c.bootstrap_admin);
    if (admin === undefined) problems.push(`bootstrap_admin: no user ${c.bootstrap_admin}`);
    else if (!admin.roles.includes("admin"))
      problems.push(`bootstrap_admin: user ${admin.id} lacks the admin role`);
  }
  return problems;
}

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(values.filter((v) => seen.size === seen.add(v).size))];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
