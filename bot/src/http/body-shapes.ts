/**
 * Which fields each JSON body of the HTTP API may carry. A body with any other field is refused
 * with 400 `request.invalid` naming it, instead of the field being ignored: a misspelt
 * `break_glas` or `comennt` would otherwise be dropped without a word, and a client would believe
 * the bot took it.
 *
 * Each shape is checked against its protocol type (shared/src/protocol.ts) with `satisfies`, so
 * a field added to a type and not here (or here and not to the type) fails to compile: the agent
 * and the bot cannot drift apart on what a body may hold. The values are only checked for their
 * names here; the use cases validate them.
 */
import {
  DbwardError,
  type AgentCapability,
  type ClaimBody,
  type HeartbeatBody,
  type ResultSubmission,
  type ApproveBody,
  type CreateRequestBody,
  type CreateTokenBody,
  type CreateUserBody,
  type DecideJoinRequestBody,
  type DegradedDatabase,
  type PollBody,
  type PreflightResultBody,
  type PreflightBody,
  type RejectBody,
  type ResultTable,
  type SchemaReportBody,
  type StreamedResultSummary,
  type UpdateUserBody,
  type UserStatusBody,
} from "@dbward/shared";

/** `true`: any value; a shape: an object with those fields; `[shape]`: an array of such objects. */
export type FieldRule = true | BodyShape | readonly [BodyShape];
export type BodyShape = { readonly [field: string]: FieldRule };

/** Every field of T (of each member, for a union). */
type FieldOf<T> = T extends unknown ? keyof T : never;
type ShapeOf<T> = { readonly [K in FieldOf<Required<T>>]: FieldRule };

const resultTable = {
  columns: true,
  rows: true,
  row_count: true,
  truncated: true,
} as const satisfies ShapeOf<ResultTable>;

const streamedSummary = {
  columns: true,
  chunks: true,
  row_count: true,
  bytes: true,
  truncated_by: true,
} as const satisfies ShapeOf<StreamedResultSummary>;

const capability = {
  database: true,
  environment: true,
  operations: true,
} as const satisfies ShapeOf<AgentCapability>;

const degradedDatabase = {
  database: true,
  environment: true,
  error: true,
  since: true,
} as const satisfies ShapeOf<DegradedDatabase>;

const reasonOnly = { reason: true } as const satisfies ShapeOf<RejectBody>;

export const BODY_SHAPES = {
  createRequest: {
    database: true,
    environment: true,
    sql: true,
    reason: true,
    break_glass: true,
    break_glass_reason: true,
    rerun_of: true,
  } satisfies ShapeOf<CreateRequestBody>,
  preflight: { database: true, environment: true, sql: true } satisfies ShapeOf<PreflightBody>,
  approve: { comment: true, as: true, not_before: true } satisfies ShapeOf<ApproveBody>,
  /** reject, cancel and retry: a reason. */
  reason: reasonOnly,
  /** Run now: nothing but the request in the path (`{}` or no body). */
  run: {},
  createToken: {
    user: true,
    name: true,
    expires_in_days: true,
    roles: true,
  } satisfies ShapeOf<CreateTokenBody>,
  createUser: {
    id: true,
    name: true,
    email: true,
    slack_user_id: true,
    roles: true,
    groups: true,
    oidc_subject: true,
  } satisfies ShapeOf<CreateUserBody>,
  updateUser: {
    name: true,
    email: true,
    slack_user_id: true,
    roles: true,
    groups: true,
    oidc_subject: true,
  } satisfies ShapeOf<UpdateUserBody>,
  userStatus: reasonOnly satisfies ShapeOf<UserStatusBody>,
  decideJoinRequest: { user_id: true, reason: true } satisfies ShapeOf<DecideJoinRequestBody>,
  poll: {
    capabilities: [capability],
    wait_ms: true,
    degraded: [degradedDatabase],
    session: true,
    preflights: true,
  } satisfies ShapeOf<PollBody>,
  /** claim and heartbeat: `{}`, or the agent's session as in a poll. */
  agentJob: { session: true } satisfies ShapeOf<ClaimBody> & ShapeOf<HeartbeatBody>,
  /**
   * The final result, or (`delivery: "late"`) what the agent's outcome journal knows of a job
   * whose result never reached the bot.
   */
  jobResult: {
    session: true,
    outcome: true,
    duration_ms: true,
    result: resultTable,
    streamed: streamedSummary,
    affected_rows: true,
    error: { code: true, message: true },
    delivery: true,
    row_count: true,
    started_at: true,
  } satisfies ShapeOf<ResultSubmission>,
  /** A preflight's plan or count: `plan` is EXPLAIN's own JSON, whatever its keys. */
  preflightResult: {
    session: true,
    outcome: true,
    duration_ms: true,
    engine: true,
    plan: true,
    affected_rows: true,
    error: { code: true, message: true },
  } satisfies ShapeOf<PreflightResultBody>,
  /** A schema report: the tables' own shape is checked whole by the use case (schema-report-shape.ts). */
  schemaReport: {
    session: true,
    database: true,
    environment: true,
    collected_at: true,
    tables: true,
    truncated: true,
  } satisfies ShapeOf<SchemaReportBody>,
} as const satisfies Record<string, BodyShape>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A field no shape names: where it is (`capabilities[0].url`), and the shape it is missing from. */
export interface UnknownField {
  readonly path: string;
  readonly shape: BodyShape;
}

/**
 * The first field `value` holds that `shape` does not name, or undefined. Values of the wrong
 * kind (an array where an object belongs) are left to the use case's validation, which names
 * what it expected.
 */
export function findUnknownField(value: unknown, shape: BodyShape, path = ""): UnknownField | undefined {
  if (!isObject(value)) return undefined;
  for (const [field, inner] of Object.entries(value)) {
    const at = path === "" ? field : `${path}.${field}`;
    const rule = Object.hasOwn(shape, field) ? shape[field] : undefined;
    if (rule === undefined) return { path: at, shape };
    const found = ruleFinds(inner, rule, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

function ruleFinds(value: unknown, rule: FieldRule, path: string): UnknownField | undefined {
  if (rule === true) return undefined;
  if (!isElementRule(rule)) return findUnknownField(value, rule, path);
  if (!Array.isArray(value)) return undefined;
  for (const [i, item] of value.entries()) {
    const found = findUnknownField(item, rule[0], `${path}[${i}]`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isElementRule(rule: BodyShape | readonly [BodyShape]): rule is readonly [BodyShape] {
  return Array.isArray(rule);
}

/**
 * A parsed JSON body as an object with only the fields `shape` names: absent reads as `{}`;
 * anything but an object, or an unknown field, is 400 `request.invalid`.
 */
export function knownFieldsOf(body: unknown, shape: BodyShape): Record<string, unknown> {
  if (body === undefined) return {};
  if (!isObject(body)) throw new DbwardError("request.invalid", "the body must be a JSON object");
  assertKnownFields(body, shape);
  return body;
}

/** A field name is the caller's text: the message quotes at most this much of it. */
const MAX_QUOTED = 100;

/** Throws 400 `request.invalid` naming the first unknown field, and the fields allowed there. */
export function assertKnownFields(body: Record<string, unknown>, shape: BodyShape): void {
  const unknown = findUnknownField(body, shape);
  if (unknown === undefined) return;
  const name = unknown.path.length > MAX_QUOTED ? `${unknown.path.slice(0, MAX_QUOTED)}…` : unknown.path;
  const allowed = Object.keys(unknown.shape);
  throw new DbwardError(
    "request.invalid",
    `unknown field ${name}: ${
      allowed.length === 0 ? "this call takes no fields" : `the fields allowed here are ${allowed.join(", ")}`
    }`,
    { unknown_field: name },
  );
}
