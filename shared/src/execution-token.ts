/**
 * Execution tokens: the bot's signed permission for one agent to run one exact SQL text on one
 * database, for at most five minutes.
 *
 * Format: a compact JWS (RFC 7515 §7.1) with `alg: "EdDSA"` (RFC 8037 §3.1) over Ed25519, and an
 * explicit type `typ: "dbward-exec+jwt"` (RFC 8725 §3.11). The explicit type is the domain
 * separation: the signing input of a token always begins with the base64url of a header naming
 * this type, and dbward signs nothing else with that header, so a token cannot be confused with a
 * checkpoint or any other object signed by the same key. The payload is canonical JSON, so the
 * same claims always give the same bytes.
 */
import { canonicalJson } from "./canonical-json.ts";
import { base64url, fromBase64url, sha256Hex } from "./encoding.ts";
import { DbwardError, type ErrorCode } from "./errors.ts";
import { isMaskClaim, type SignedMask } from "./mask-claim.ts";
import { isOperationClass, type OperationClass } from "./operation-class.ts";
import { sign, verifySignature, type PublicKey, type Signer, type SigningKey } from "./signing-key.ts";

export const TOKEN_TYPE = "dbward-exec+jwt";
/**
 * Version 2 added `purpose` and `max_rows`. An agent refuses any other version, so an older
 * token cannot be read as one without a row guard.
 */
export const TOKEN_VERSION = 2;

/**
 * What a token lets the agent do with the SQL:
 * - `execute`: run it and commit (a write) or return its rows (a read);
 * - `explain`: ask the database for its plan (`EXPLAIN`, never `ANALYZE`), without running it;
 * - `dry_run`: run a write inside a transaction, count the rows it changes, and roll back.
 * A job is of one kind, and the agent refuses a token signed for another.
 */
export const TOKEN_PURPOSES = ["execute", "explain", "dry_run"] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** The most rows a signed `max_rows` can name. */
export const MAX_GUARD_ROWS = 1_000_000_000_000;
/** The longest life a token may have (SECURITY.md principle 3). */
export const MAX_TOKEN_LIFETIME_SECONDS = 300;
/** Clock skew tolerated for `iat` in the future. */
export const MAX_CLOCK_SKEW_SECONDS = 30;
/**
 * Tokens longer than this are malformed before any parsing. Room for a full `masks` claim
 * (MAX_SIGNED_MASKS masks of about 130 base64url characters each) besides the other claims.
 */
const MAX_TOKEN_LENGTH = 65_536;

export interface ExecutionClaims {
  /** Format version. */
  readonly ver: number;
  /** Token id: unique per token; the agent refuses one it has executed. */
  readonly jti: string;
  /** Key id of the signing key (also in the header). */
  readonly kid: string;
  /** Request id. */
  readonly req: number;
  /**
   * Execution number within the request (a retry gets a new one); for a preflight token, the
   * preflight's number within the request.
   */
  readonly exe: number;
  readonly purpose: TokenPurpose;
  /**
   * The row guard: for `execute` of a write, the most rows it may change; more and the agent
   * rolls it back (`execution.row_guard`). `null`: no guard (always `null` for other purposes
   * and for reads). Signed, so a compromised bot cannot lift a bound the approvers saw.
   */
  readonly max_rows: number | null;
  readonly db: string;
  readonly env: string;
  readonly op: OperationClass;
  /** Lower-case hex SHA-256 of the exact SQL text (UTF-8). */
  readonly sql_sha256: string;
  /** The agent that claimed the job; no other agent may use the token. */
  readonly agent: string;
  /** Issued-at and expiry, seconds since the epoch (RFC 7519 NumericDate). */
  readonly iat: number;
  readonly exp: number;
  /**
   * The column masks the agent applies to this job's rows (mask-claim.ts); absent when none
   * apply, never empty. An agent that predates masking refuses a token carrying them (an extra
   * claim), so masked columns never reach one that would send them in the clear.
   */
  readonly masks?: readonly SignedMask[];
}

export type TokenInput = Omit<ExecutionClaims, "ver" | "kid">;

/** Signs the claims with an in-memory `key`; refuses a lifetime over five minutes. */
export function signExecutionToken(key: SigningKey, input: TokenInput): string {
  const signingInput = tokenSigningInput(key.kid, input);
  return `${signingInput}.${base64url(sign(key, new TextEncoder().encode(signingInput)))}`;
}

/**
 * Signs the claims with the bot's token signer (a key file, an HSM, a KMS: signing-key.ts);
 * the same bytes as `signExecutionToken`. Only a `tokens` signer is accepted, so the checkpoint
 * key cannot sign a token by mistake.
 */
export async function signExecutionTokenWith(signer: Signer<"tokens">, input: TokenInput): Promise<string> {
  const signingInput = tokenSigningInput(signer.kid, input);
  const signature = await signer.sign(new TextEncoder().encode(signingInput));
  // A signer that answers with something other than a valid signature (a misbehaving HSM or KMS)
  // fails here, not as a token every agent refuses.
  if (!verifySignature(signer.publicKey, new TextEncoder().encode(signingInput), signature))
    throw new DbwardError(
      "signing.unavailable",
      `signing key ${signer.kid} returned a signature that does not verify`,
    );
  return `${signingInput}.${base64url(signature)}`;
}

/** `base64url(header).base64url(payload)`: the JWS signing input (RFC 7515 §5.1) for `kid`. */
function tokenSigningInput(kid: string, input: TokenInput): string {
  if (input.exp <= input.iat || input.exp - input.iat > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new RangeError(`token lifetime must be 1..${MAX_TOKEN_LIFETIME_SECONDS} seconds`);
  }
  // The signer refuses what the verifier would refuse, so a bad claim fails where it is made
  // (a fractional `iat`, an extra field) instead of as a token no agent will ever accept; `ver`
  // and `kid` come last so an input object carrying its own cannot override them.
  const claims = parseClaims({ ...input, ver: TOKEN_VERSION, kid });
  if (claims === undefined) throw new TypeError("token claims are incomplete, mistyped or have extra fields");
  const header = base64url(new TextEncoder().encode(canonicalJson({ alg: "EdDSA", kid, typ: TOKEN_TYPE })));
  const payload = base64url(new TextEncoder().encode(canonicalJson(claims)));
  return `${header}.${payload}`;
}

/** What the verifier checks the token against: the agent's own view of the world. */
export interface VerifyContext {
  /** Keys pinned in the agent's config, by key id. */
  readonly keys: ReadonlyMap<string, PublicKey>;
  /** Seconds since the epoch. */
  readonly now: number;
  /** The SQL text the agent was handed; its hash must match the token. */
  readonly sql: string;
  /** The agent's own id. */
  readonly agentId: string;
  /** Whether the agent may run `op` on `db`/`env` (its capability list). */
  readonly allows: (db: string, env: string, op: OperationClass) => boolean;
  /** The kind of job the agent is running; a token for another purpose is refused. */
  readonly purpose: TokenPurpose;
}

export type VerifyResult =
  | { readonly ok: true; readonly claims: ExecutionClaims }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const refuse = (code: ErrorCode, message: string): VerifyResult => ({ ok: false, code, message });

/**
 * Verifies a token. Order matters: nothing from the payload is trusted before the signature
 * checks out against a pinned key.
 */
export function verifyExecutionToken(token: string, ctx: VerifyContext): VerifyResult {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH)
    return refuse("token.malformed", "token is not a string of sane length");
  const parts = token.split(".");
  if (parts.length !== 3) return refuse("token.malformed", "token must have three parts");
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h);
  if (header === undefined) return refuse("token.malformed", "token header is not base64url JSON");
  if (header.alg !== "EdDSA")
    return refuse("token.bad_header", `token alg must be EdDSA, got ${describe(header.alg)}`);
  if (header.typ !== TOKEN_TYPE) return refuse("token.bad_header", `token typ must be ${TOKEN_TYPE}`);
  if (Object.keys(header).some((k) => !["alg", "kid", "typ"].includes(k))) {
    return refuse("token.bad_header", "token header has unexpected parameters");
  }
  const key = typeof header.kid === "string" ? ctx.keys.get(header.kid) : undefined;
  if (key === undefined)
    return refuse("token.unknown_key", `token key id ${describe(header.kid)} is not pinned`);
  const sig = fromBase64url(s);
  if (sig === undefined || !verifySignature(key.publicKey, new TextEncoder().encode(`${h}.${p}`), sig)) {
    return refuse("token.bad_signature", "token signature does not verify");
  }
  const claims = parseClaims(decodeJson(p));
  if (claims === undefined) return refuse("token.malformed", "token claims are incomplete or mistyped");
  if (claims.ver !== TOKEN_VERSION)
    return refuse("token.malformed", `token version ${claims.ver} is not supported`);
  if (claims.kid !== header.kid)
    return refuse("token.bad_header", "token kid differs between header and claims");
  if (claims.exp <= claims.iat || claims.exp - claims.iat > MAX_TOKEN_LIFETIME_SECONDS) {
    return refuse("token.lifetime", "token lifetime exceeds five minutes");
  }
  if (claims.iat > ctx.now + MAX_CLOCK_SKEW_SECONDS)
    return refuse("token.not_yet_valid", "token is issued in the future");
  if (ctx.now >= claims.exp) return refuse("token.expired", "token has expired");
  if (claims.agent !== ctx.agentId)
    return refuse("token.agent_mismatch", "token was issued to another agent");
  if (claims.sql_sha256 !== sha256Hex(ctx.sql))
    return refuse("token.sql_mismatch", "SQL text does not match the token");
  if (claims.purpose !== ctx.purpose)
    return refuse("token.purpose_mismatch", `token is for ${claims.purpose}, not ${ctx.purpose}`);
  // Only an executed write reports changed rows to hold a bound against; a read, a DDL
  // or a preflight with a bound was not signed by a bot that knows the rules.
  if (claims.max_rows !== null && (claims.purpose !== "execute" || claims.op !== "write"))
    return refuse("token.purpose_mismatch", "a row guard is only for executing a write");
  if (!ctx.allows(claims.db, claims.env, claims.op)) {
    return refuse("token.capability", `this agent may not run ${claims.op} on ${claims.db}/${claims.env}`);
  }
  return { ok: true, claims };
}

/**
 * A short, printable rendering of an unauthenticated header value for a refusal message.
 * `String(x)` would throw on a JSON object such as `{"toString":1,"valueOf":1}`, turning a refusal
 * into an exception; `JSON.stringify` cannot throw on a value that came from `JSON.parse`.
 */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  const bytes = fromBase64url(part);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const CLAIM_KEYS = [
  "ver",
  "jti",
  "kid",
  "req",
  "exe",
  "purpose",
  "max_rows",
  "db",
  "env",
  "op",
  "sql_sha256",
  "agent",
  "iat",
  "exp",
];

function parseClaims(v: Record<string, unknown> | undefined): ExecutionClaims | undefined {
  if (v === undefined) return undefined;
  // `masks` is the one optional claim: present, it must be a well-formed non-empty list.
  const masked = "masks" in v;
  if (masked && !isMaskClaim(v.masks)) return undefined;
  if (Object.keys(v).length !== CLAIM_KEYS.length + (masked ? 1 : 0)) return undefined;
  if (!Object.keys(v).every((k) => k === "masks" || CLAIM_KEYS.includes(k))) return undefined;
  const int = (x: unknown): x is number => Number.isSafeInteger(x);
  const str = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= 256;
  if (!int(v.ver) || !str(v.jti) || !str(v.kid) || !int(v.req) || !int(v.exe) || !str(v.db) || !str(v.env))
    return undefined;
  if (!isOperationClass(v.op) || typeof v.sql_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(v.sql_sha256))
    return undefined;
  if (!str(v.agent) || !int(v.iat) || !int(v.exp)) return undefined;
  if (typeof v.purpose !== "string" || !(TOKEN_PURPOSES as readonly string[]).includes(v.purpose))
    return undefined;
  if (v.max_rows !== null && !(int(v.max_rows) && v.max_rows >= 0 && v.max_rows <= MAX_GUARD_ROWS))
    return undefined;
  return v as unknown as ExecutionClaims;
}
