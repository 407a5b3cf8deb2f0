import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHmac, createPublicKey, verify as nodeVerify } from "node:crypto";
import { CompactSign, compactVerify, importJWK } from "jose";
import { canonicalJson } from "./canonical-json.ts";
import { base64url, fromBase64url, sha256Hex } from "./encoding.ts";
import type { ErrorCode } from "./errors.ts";
import {
  MAX_CLOCK_SKEW_SECONDS,
  MAX_TOKEN_LIFETIME_SECONDS,
  TOKEN_TYPE,
  TOKEN_VERSION,
  signExecutionToken,
  verifyExecutionToken,
  type ExecutionClaims,
  type TokenInput,
  type VerifyContext,
} from "./execution-token.ts";
import type { OperationClass } from "./operation-class.ts";
import { sign, signingKeyFromSecret, type PublicKey, type SigningKey } from "./signing-key.ts";

const NOW = 1_700_000_000;
const SQL = "UPDATE accounts SET frozen = true WHERE id = 42";
const KEY = signingKeyFromSecret(new Uint8Array(32).fill(1));
const OTHER_KEY = signingKeyFromSecret(new Uint8Array(32).fill(2), "other");
const UNPINNED_KEY = signingKeyFromSecret(new Uint8Array(32).fill(3));

const INPUT: TokenInput = {
  jti: "tok-0001",
  req: 42,
  exe: 1,
  purpose: "execute",
  max_rows: null,
  db: "main",
  env: "production",
  op: "write",
  sql_sha256: sha256Hex(SQL),
  agent: "agent-1",
  iat: NOW,
  exp: NOW + 120,
};
const CLAIMS: ExecutionClaims = { ver: TOKEN_VERSION, kid: KEY.kid, ...INPUT };
const HEADER = { alg: "EdDSA", kid: KEY.kid, typ: TOKEN_TYPE };

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const textSegment = (text: string): string => base64url(utf8(text));
const jsonSegment = (value: unknown): string => textSegment(JSON.stringify(value));

function pinned(...keys: SigningKey[]): Map<string, PublicKey> {
  return new Map(keys.map((k) => [k.kid, { kid: k.kid, publicKey: k.publicKey }]));
}

/** The agent's view: pinned keys, a clock, the SQL it was handed, its id and its capabilities. */
function context(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return {
    keys: pinned(KEY, OTHER_KEY),
    now: NOW + 10,
    sql: SQL,
    agentId: "agent-1",
    purpose: "execute",
    allows: (db, env, op) => db === "main" && env === "production" && (op === "read" || op === "write"),
    ...overrides,
  };
}

function claimsWith(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...CLAIMS, ...overrides };
}

function claimsWithout(name: string): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...CLAIMS };
  delete claims[name];
  return claims;
}

/** A compact JWS signed by hand, bypassing every check in signExecutionToken. */
function signSegments(header: string, payload: string, key: SigningKey = KEY): string {
  const signingInput = `${header}.${payload}`;
  return `${signingInput}.${base64url(sign(key, utf8(signingInput)))}`;
}

function forge(header: unknown, payload: unknown, key: SigningKey = KEY): string {
  return signSegments(jsonSegment(header), jsonSegment(payload), key);
}

function segments(token: string): [string, string, string] {
  const parts = token.split(".");
  assert.equal(parts.length, 3);
  return parts as [string, string, string];
}

function signatureBytes(token: string): Uint8Array {
  const bytes = fromBase64url(segments(token)[2]);
  assert.ok(bytes !== undefined);
  return bytes;
}

function withSignature(token: string, signature: Uint8Array): string {
  const [h, p] = segments(token);
  return `${h}.${p}.${base64url(signature)}`;
}

function assertAccepted(token: string, ctx: VerifyContext = context()): ExecutionClaims {
  const result = verifyExecutionToken(token, ctx);
  if (!result.ok) assert.fail(`expected the token to be accepted, got ${result.code}: ${result.message}`);
  return result.claims;
}

function assertRefused(token: string, code: ErrorCode, ctx: VerifyContext = context()): string {
  const result = verifyExecutionToken(token, ctx);
  if (result.ok) assert.fail(`expected ${code}, but the token was accepted`);
  assert.equal(result.code, code, result.message);
  return result.message;
}

const TOKEN = signExecutionToken(KEY, INPUT);

describe("execution token: signing and verifying", () => {
  test("a signed token verifies and yields exactly the claims that were signed", () => {
    assert.deepEqual(assertAccepted(TOKEN), CLAIMS);
  });

  test("is a compact JWS whose header and payload are canonical JSON", () => {
    const [h, p] = segments(TOKEN);
    assert.match(TOKEN, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);
    assert.equal(new TextDecoder().decode(fromBase64url(h)), canonicalJson(HEADER));
    assert.equal(new TextDecoder().decode(fromBase64url(p)), canonicalJson(CLAIMS));
  });

  test("signing the same claims twice gives the same token", () => {
    assert.equal(signExecutionToken(KEY, { ...INPUT }), TOKEN);
  });

  test("verifies a token from any pinned key, so keys can rotate", () => {
    const token = signExecutionToken(OTHER_KEY, INPUT);
    assert.equal(assertAccepted(token).kid, "other");
    assertRefused(token, "token.unknown_key", context({ keys: pinned(KEY) }));
  });

  test("a token signed by hand with valid claims is accepted, so the refusals below are the check under test", () => {
    assert.deepEqual(assertAccepted(forge(HEADER, CLAIMS)), CLAIMS);
  });

  test("signing refuses a lifetime over five minutes, zero or negative", () => {
    for (const lifetime of [MAX_TOKEN_LIFETIME_SECONDS + 1, 3600, 0, -1]) {
      assert.throws(
        () => signExecutionToken(KEY, { ...INPUT, exp: NOW + lifetime }),
        RangeError,
        `${lifetime}`,
      );
    }
  });

  test("signing accepts a lifetime of exactly five minutes, and the token verifies", () => {
    const token = signExecutionToken(KEY, { ...INPUT, exp: NOW + MAX_TOKEN_LIFETIME_SECONDS });
    assert.equal(assertAccepted(token).exp - NOW, 300);
  });

  test("signing refuses claims the verifier would refuse", () => {
    const bad: ReadonlyArray<readonly [string, TokenInput]> = [
      ["a fractional iat", { ...INPUT, iat: NOW + 0.5, exp: NOW + 60 }],
      ["an unknown operation", { ...INPUT, op: "drop" as OperationClass }],
      ["an upper-case SQL hash", { ...INPUT, sql_sha256: INPUT.sql_sha256.toUpperCase() }],
      ["an empty agent", { ...INPUT, agent: "" }],
      ["an extra field", { ...INPUT, role: "admin" } as TokenInput],
    ];
    for (const [name, input] of bad) assert.throws(() => signExecutionToken(KEY, input), TypeError, name);
  });

  test("signing ignores a ver or kid smuggled in the input", () => {
    const input = { ...INPUT, ver: 99, kid: "someone-else" } as TokenInput;
    const claims = assertAccepted(signExecutionToken(KEY, input));
    assert.equal(claims.ver, TOKEN_VERSION);
    assert.equal(claims.kid, KEY.kid);
  });
});

describe("execution token: malformed tokens are refused as token.malformed", () => {
  const [h, p, s] = segments(TOKEN);

  const cases: ReadonlyArray<readonly [string, string]> = [
    ["the empty string", ""],
    ["two parts", `${h}.${p}`],
    ["four parts", `${h}.${p}.${s}.${s}`],
    ["a header that is not base64url", `${h}+.${p}.${s}`],
    ["a padded header", `${textSegment('{"a":1}')}=.${p}.${s}`],
    ["a header that is not JSON", `${textSegment("{alg:EdDSA}")}.${p}.${s}`],
    ["a header that is a JSON array", `${jsonSegment([HEADER])}.${p}.${s}`],
    ["a header that is JSON null", `${jsonSegment(null)}.${p}.${s}`],
    ["a header that is a JSON string", `${jsonSegment("EdDSA")}.${p}.${s}`],
    ["a header that is not UTF-8", `${base64url(new Uint8Array([0x7b, 0xff, 0x7d]))}.${p}.${s}`],
  ];
  for (const [name, token] of cases) {
    test(`refuses ${name}`, () => {
      assertRefused(token, "token.malformed");
    });
  }

  test("refuses an overlong token before parsing it", () => {
    const token = forge(HEADER, claimsWith({ pad: "x".repeat(66_000) }));
    assert.ok(token.length > 65_536);
    assert.match(assertRefused(token, "token.malformed"), /length/);
  });

  test("refuses a value that is not a string", () => {
    const values: readonly unknown[] = [undefined, null, 42, { token: TOKEN }];
    for (const value of values) {
      assertRefused(value as string, "token.malformed");
    }
  });

  test("refuses a validly signed payload that is not JSON", () => {
    assertRefused(signSegments(jsonSegment(HEADER), textSegment("not json")), "token.malformed");
  });

  test("refuses a validly signed payload that is a JSON array", () => {
    assertRefused(forge(HEADER, [CLAIMS]), "token.malformed");
  });

  test("refuses a validly signed payload that is JSON null, a number or a string", () => {
    for (const payload of [null, 42, "claims"]) assertRefused(forge(HEADER, payload), "token.malformed");
  });

  test("refuses a validly signed payload that is not UTF-8", () => {
    assertRefused(
      signSegments(jsonSegment(HEADER), base64url(new Uint8Array([0x7b, 0xc3, 0x7d]))),
      "token.malformed",
    );
  });

  test("refuses a validly signed payload segment that is not base64url", () => {
    assertRefused(signSegments(jsonSegment(HEADER), "!!!"), "token.malformed");
  });
});

describe("execution token: the header is refused as token.bad_header", () => {
  const [, p] = segments(TOKEN);

  test("refuses alg none with an empty signature", () => {
    assertRefused(`${jsonSegment({ ...HEADER, alg: "none" })}.${p}.`, "token.bad_header");
    assertRefused(`${jsonSegment({ alg: "none" })}.${p}.`, "token.bad_header");
  });

  test("refuses HS256 with an HMAC keyed by the public key (algorithm confusion)", () => {
    const h = jsonSegment({ ...HEADER, alg: "HS256" });
    for (const secret of [KEY.publicKey, utf8(base64url(KEY.publicKey))]) {
      const mac = createHmac("sha256", secret).update(`${h}.${p}`).digest();
      assertRefused(`${h}.${p}.${base64url(mac)}`, "token.bad_header");
    }
  });

  test("refuses every alg other than EdDSA, even when the signature is valid", () => {
    for (const alg of ["none", "HS256", "RS256", "ES256", "Ed25519", "eddsa", "EdDSA ", "", null, 1]) {
      assertRefused(forge({ ...HEADER, alg }, CLAIMS), "token.bad_header");
    }
    assertRefused(forge({ kid: KEY.kid, typ: TOKEN_TYPE }, CLAIMS), "token.bad_header");
  });

  test("refuses an alg that cannot be printed, without throwing", () => {
    const alg = { toString: 1, valueOf: 1 };
    assert.match(assertRefused(forge({ ...HEADER, alg }, CLAIMS), "token.bad_header"), /toString/);
  });

  test("refuses a wrong or missing typ, even when the signature is valid", () => {
    for (const typ of ["JWT", "jwt", "dbward-exec+JWT", `${TOKEN_TYPE} `, "dbward-checkpoint+jwt", null]) {
      assertRefused(forge({ ...HEADER, typ }, CLAIMS), "token.bad_header");
    }
    assertRefused(forge({ alg: "EdDSA", kid: KEY.kid }, CLAIMS), "token.bad_header");
  });

  test("refuses extra header parameters, even when the signature is valid", () => {
    const extras: ReadonlyArray<Record<string, unknown>> = [
      { crit: ["exp"] },
      { b64: false },
      { jwk: { kty: "OKP", crv: "Ed25519", x: base64url(UNPINNED_KEY.publicKey) } },
      { jku: "https://attacker.example/keys" },
      { x5u: "https://attacker.example/cert" },
      { cty: "JWT" },
      { zip: "DEF" },
    ];
    for (const extra of extras) {
      assertRefused(forge({ ...HEADER, ...extra }, CLAIMS), "token.bad_header");
    }
  });

  test("refuses a kid in the claims that differs from the header, even when the signature is valid", () => {
    assertRefused(forge(HEADER, claimsWith({ kid: "other" })), "token.bad_header");
  });
});

describe("execution token: keys that are not pinned are refused as token.unknown_key", () => {
  test("refuses a token signed by a key the agent has not pinned", () => {
    assertRefused(signExecutionToken(UNPINNED_KEY, INPUT), "token.unknown_key");
  });

  test("refuses a token when the agent pins no keys", () => {
    assertRefused(TOKEN, "token.unknown_key", context({ keys: new Map() }));
  });

  test("refuses a header without a kid, or with a kid that is not a string", () => {
    assertRefused(forge({ alg: "EdDSA", typ: TOKEN_TYPE }, CLAIMS), "token.unknown_key");
    for (const kid of [null, 1, [KEY.kid], { toString: 1, valueOf: 1 }]) {
      assertRefused(forge({ ...HEADER, kid }, CLAIMS), "token.unknown_key");
    }
  });

  test("refuses key ids that name object prototype members", () => {
    for (const kid of ["__proto__", "constructor", "toString"]) {
      assertRefused(forge({ ...HEADER, kid }, claimsWith({ kid })), "token.unknown_key");
    }
  });
});

describe("execution token: tampering is refused as token.bad_signature", () => {
  const [h, p, s] = segments(TOKEN);

  test("refuses a signature with one byte flipped", () => {
    for (const index of [0, 17, 31, 32, 48, 63]) {
      const flipped = signatureBytes(TOKEN);
      flipped[index] = (flipped[index] ?? 0) ^ 0x01;
      assertRefused(withSignature(TOKEN, flipped), "token.bad_signature");
    }
  });

  test("refuses a signature whose last character carries non-canonical bits", () => {
    // 64 bytes take 86 characters; the last one carries 2 bits of signature and 4 that must be 0.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(s.slice(-1)) | 1] ?? "";
    assert.equal(fromBase64url(`${s.slice(0, -1)}${twin}`), undefined);
    assertRefused(`${h}.${p}.${s.slice(0, -1)}${twin}`, "token.bad_signature");
  });

  test("refuses an empty, truncated or extended signature", () => {
    assertRefused(`${h}.${p}.`, "token.bad_signature");
    assertRefused(withSignature(TOKEN, signatureBytes(TOKEN).subarray(0, 63)), "token.bad_signature");
    const extended = new Uint8Array(65);
    extended.set(signatureBytes(TOKEN));
    assertRefused(withSignature(TOKEN, extended), "token.bad_signature");
  });

  const changes: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["the SQL hash", { sql_sha256: sha256Hex("DROP TABLE accounts") }],
    ["the agent", { agent: "agent-2" }],
    ["the database", { db: "billing" }],
    ["the environment", { env: "staging" }],
    ["the operation", { op: "ddl" }],
    ["the expiry", { exp: NOW + 300 }],
    ["the request", { req: 43 }],
    ["the execution number", { exe: 2 }],
    ["the token id", { jti: "tok-0002" }],
  ];
  for (const [name, change] of changes) {
    test(`refuses a payload re-encoded with ${name} changed under the old signature`, () => {
      assertRefused(`${h}.${jsonSegment(claimsWith(change))}.${s}`, "token.bad_signature");
    });
  }

  test("refuses a payload re-encoded with the same claims in another key order", () => {
    const reordered = Object.fromEntries(Object.entries(CLAIMS).reverse());
    assert.deepEqual(reordered, CLAIMS);
    assertRefused(`${h}.${jsonSegment(reordered)}.${s}`, "token.bad_signature");
  });

  test("refuses a header re-encoded in another key order", () => {
    assertRefused(
      `${jsonSegment({ typ: TOKEN_TYPE, kid: KEY.kid, alg: "EdDSA" })}.${p}.${s}`,
      "token.bad_signature",
    );
  });

  test("refuses a header swapped for one naming another pinned key", () => {
    const otherHeader = segments(signExecutionToken(OTHER_KEY, INPUT))[0];
    assertRefused(`${otherHeader}.${p}.${s}`, "token.bad_signature");
  });

  test("refuses a signature spliced from another valid token", () => {
    const other = signExecutionToken(KEY, { ...INPUT, jti: "tok-0002" });
    assertRefused(`${h}.${p}.${segments(other)[2]}`, "token.bad_signature");
  });

  test("refuses a token signed by an unpinned key that claims a pinned key id", () => {
    assertRefused(forge(HEADER, CLAIMS, UNPINNED_KEY), "token.bad_signature");
  });

  test("refuses the universal forgery under a small-order key that was pinned by mistake", () => {
    const zeroKey: PublicKey = { kid: "placeholder", publicKey: new Uint8Array(32) };
    const forgedSignature = new Uint8Array(64);
    forgedSignature[0] = 1; // identity point R, S = 0
    const header = jsonSegment({ ...HEADER, kid: "placeholder" });
    const payload = jsonSegment(claimsWith({ kid: "placeholder", op: "ddl" }));
    const ctx = context({ keys: new Map([["placeholder", zeroKey]]), allows: () => true });
    assertRefused(`${header}.${payload}.${base64url(forgedSignature)}`, "token.bad_signature", ctx);
  });

  test("checks the signature before trusting any claim: a tampered, expired token is a bad signature", () => {
    const tampered = `${h}.${jsonSegment(claimsWith({ agent: "agent-2" }))}.${s}`;
    assertRefused(tampered, "token.bad_signature", context({ now: NOW + 3600, agentId: "agent-2" }));
  });
});

describe("execution token: time", () => {
  test("accepts a token until the second before it expires", () => {
    assertAccepted(TOKEN, context({ now: INPUT.exp - 1 }));
  });

  test("refuses a token at and after its expiry as token.expired", () => {
    for (const now of [INPUT.exp, INPUT.exp + 1, INPUT.exp + 86_400]) {
      assertRefused(TOKEN, "token.expired", context({ now }));
    }
  });

  test("accepts a token issued in the future within the clock skew", () => {
    assertAccepted(TOKEN, context({ now: NOW - MAX_CLOCK_SKEW_SECONDS }));
  });

  test("refuses a token issued in the future beyond the clock skew as token.not_yet_valid", () => {
    for (const now of [NOW - MAX_CLOCK_SKEW_SECONDS - 1, NOW - 3600]) {
      assertRefused(TOKEN, "token.not_yet_valid", context({ now }));
    }
  });

  test("refuses a hand-signed token living longer than five minutes as token.lifetime", () => {
    for (const exp of [NOW + MAX_TOKEN_LIFETIME_SECONDS + 1, NOW + 86_400 * 365]) {
      assertRefused(forge(HEADER, claimsWith({ exp })), "token.lifetime");
    }
  });

  test("refuses a hand-signed token whose expiry is not after its issue time as token.lifetime", () => {
    for (const exp of [NOW, NOW - 1]) assertRefused(forge(HEADER, claimsWith({ exp })), "token.lifetime");
  });

  test("accepts a hand-signed token living exactly five minutes", () => {
    assertAccepted(forge(HEADER, claimsWith({ exp: NOW + MAX_TOKEN_LIFETIME_SECONDS })));
  });
});

describe("execution token: the SQL is bound by its hash (token.sql_mismatch)", () => {
  const variants: ReadonlyArray<readonly [string, string]> = [
    ["one byte changed", SQL.replace("42", "43")],
    ["trailing whitespace added", `${SQL} `],
    ["a trailing newline added", `${SQL}\n`],
    ["a trailing semicolon added", `${SQL};`],
    ["leading whitespace added", ` ${SQL}`],
    ["letter case changed", SQL.toLowerCase()],
    ["a second statement appended", `${SQL}; DROP TABLE accounts`],
    ["the empty string", ""],
  ];
  for (const [name, sql] of variants) {
    test(`refuses the SQL with ${name}`, () => {
      assert.notEqual(sql, SQL);
      assertRefused(TOKEN, "token.sql_mismatch", context({ sql }));
    });
  }

  test("refuses a different Unicode normalization of the same text", () => {
    const nfc = "UPDATE people SET name = 'Zoë'";
    const nfd = nfc.normalize("NFD");
    assert.notEqual(nfc, nfd);
    const token = signExecutionToken(KEY, { ...INPUT, sql_sha256: sha256Hex(nfc) });
    assertAccepted(token, context({ sql: nfc }));
    assertRefused(token, "token.sql_mismatch", context({ sql: nfd }));
  });
});

describe("execution token: agent and capability", () => {
  test("refuses a token issued to another agent as token.agent_mismatch", () => {
    for (const agentId of ["agent-2", "Agent-1", "agent-1 ", ""]) {
      assertRefused(TOKEN, "token.agent_mismatch", context({ agentId }));
    }
  });

  test("asks the capability list about exactly the token's database, environment and operation", () => {
    const asked: Array<readonly [string, string, OperationClass]> = [];
    assertAccepted(
      TOKEN,
      context({
        allows: (db, env, op) => {
          asked.push([db, env, op]);
          return true;
        },
      }),
    );
    assert.deepEqual(asked, [["main", "production", "write"]]);
  });

  test("refuses a token for another database as token.capability", () => {
    assertRefused(signExecutionToken(KEY, { ...INPUT, db: "billing" }), "token.capability");
  });

  test("refuses a token for another environment as token.capability", () => {
    assertRefused(signExecutionToken(KEY, { ...INPUT, env: "staging" }), "token.capability");
  });

  test("refuses an operation the capability list does not allow as token.capability", () => {
    assertRefused(signExecutionToken(KEY, { ...INPUT, op: "ddl" }), "token.capability");
    assertAccepted(signExecutionToken(KEY, { ...INPUT, op: "read" }));
  });

  test("refuses everything when the capability list allows nothing", () => {
    assertRefused(TOKEN, "token.capability", context({ allows: () => false }));
  });
});

describe("execution token: claims are checked field by field (token.malformed)", () => {
  for (const name of Object.keys(CLAIMS)) {
    test(`refuses validly signed claims missing ${name}`, () => {
      assertRefused(forge(HEADER, claimsWithout(name)), "token.malformed");
    });
  }

  test("refuses validly signed claims with an extra field", () => {
    assertRefused(forge(HEADER, claimsWith({ role: "admin" })), "token.malformed");
  });

  test("refuses validly signed claims with one field swapped for an unknown one", () => {
    assertRefused(forge(HEADER, { ...claimsWithout("agent"), agents: ["agent-1"] }), "token.malformed");
  });

  test("refuses validly signed claims from an unsupported version", () => {
    // Version 1 had neither `purpose` nor `max_rows`: its claims never reach the version check.
    assert.match(assertRefused(forge(HEADER, claimsWith({ ver: 3 })), "token.malformed"), /version 3/);
    const v1 = { ...claimsWithout("purpose"), ver: 1 };
    delete (v1 as Record<string, unknown>).max_rows;
    assertRefused(forge(HEADER, v1), "token.malformed");
  });

  const mistyped: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["ver as a string", { ver: "1" }],
    ["jti empty", { jti: "" }],
    ["jti as an array", { jti: ["tok-0001"] }],
    ["jti over 256 characters", { jti: "t".repeat(257) }],
    ["req as a string", { req: "42" }],
    ["req as a fraction", { req: 42.5 }],
    ["req beyond the safe integers", { req: 2 ** 53 }],
    ["exe as null", { exe: null }],
    ["db empty", { db: "" }],
    ["db as a number", { db: 42 }],
    ["env over 256 characters", { env: "e".repeat(257) }],
    ["op unknown", { op: "drop" }],
    ["op in upper case", { op: "WRITE" }],
    ["sql_sha256 in upper case", { sql_sha256: sha256Hex(SQL).toUpperCase() }],
    ["sql_sha256 one character short", { sql_sha256: sha256Hex(SQL).slice(1) }],
    ["sql_sha256 as bytes", { sql_sha256: Array.from(sha256Hex(SQL)) }],
    ["agent as an object", { agent: { id: "agent-1" } }],
    ["iat as a string", { iat: String(NOW) }],
    ["iat as a fraction", { iat: NOW + 0.5 }],
    ["exp as a fraction", { exp: NOW + 60.5 }],
    ["exp as a boolean", { exp: true }],
    ["purpose unknown", { purpose: "analyze" }],
    ["purpose in upper case", { purpose: "EXECUTE" }],
    ["max_rows negative", { max_rows: -1 }],
    ["max_rows as a fraction", { max_rows: 2.5 }],
    ["max_rows as a string", { max_rows: "10" }],
    ["max_rows beyond the largest bound", { max_rows: 1_000_000_000_001 }],
  ];
  for (const [name, change] of mistyped) {
    test(`refuses validly signed claims with ${name}`, () => {
      assertRefused(forge(HEADER, claimsWith(change)), "token.malformed");
    });
  }
});

describe("execution token: independent verification", () => {
  const jwk = { kty: "OKP", crv: "Ed25519", x: base64url(KEY.publicKey) };

  test("jose verifies the token as a standard EdDSA compact JWS (RFC 7515, RFC 8037) with the same payload", async () => {
    const { payload, protectedHeader } = await compactVerify(TOKEN, await importJWK(jwk, "EdDSA"));
    assert.deepEqual(protectedHeader, HEADER);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), CLAIMS);
    assert.deepEqual(payload, utf8(canonicalJson(CLAIMS)));
  });

  test("jose refuses the token with a changed claim, so its acceptance above is meaningful", async () => {
    const [h, , s] = segments(TOKEN);
    const tampered = `${h}.${jsonSegment(claimsWith({ agent: "agent-2" }))}.${s}`;
    await assert.rejects(compactVerify(tampered, await importJWK(jwk, "EdDSA")));
  });

  test("a token signed by jose with the same key verifies here", async () => {
    const privateJwk = { ...jwk, d: base64url(KEY.secretKey) };
    const token = await new CompactSign(utf8(canonicalJson(CLAIMS)))
      .setProtectedHeader({ alg: "EdDSA", kid: KEY.kid, typ: TOKEN_TYPE })
      .sign(await importJWK(privateJwk, "EdDSA"));
    assert.deepEqual(assertAccepted(token), CLAIMS);
  });

  test("Node's built-in Ed25519 verifies the signature over header.payload", () => {
    const [h, p] = segments(TOKEN);
    const key = createPublicKey({ key: jwk, format: "jwk" });
    assert.equal(nodeVerify(null, utf8(`${h}.${p}`), key, signatureBytes(TOKEN)), true);
    assert.equal(nodeVerify(null, utf8(`${h}.${p}x`), key, signatureBytes(TOKEN)), false);
  });
});

describe("execution token: purpose and row guard (token.purpose_mismatch)", () => {
  const signed = (change: Partial<TokenInput>): string => signExecutionToken(KEY, { ...INPUT, ...change });

  test("refuses a token for another purpose than the job the agent runs", () => {
    assertRefused(signed({ purpose: "dry_run" }), "token.purpose_mismatch");
    assertRefused(TOKEN, "token.purpose_mismatch", context({ purpose: "explain" }));
  });

  test("accepts a preflight token for the preflight it was signed for", () => {
    const verdict = verifyExecutionToken(signed({ purpose: "explain" }), context({ purpose: "explain" }));
    assert.ok(verdict.ok, JSON.stringify(verdict));
  });

  test("a write's signed bound reaches the agent as signed", () => {
    const verdict = verifyExecutionToken(signed({ max_rows: 1204 }), context());
    assert.ok(verdict.ok, JSON.stringify(verdict));
    assert.equal(verdict.claims.max_rows, 1204);
  });

  test("refuses a row guard on a read, a DDL or a preflight: only an executed write has one", () => {
    assertRefused(signed({ op: "read", max_rows: 10 }), "token.purpose_mismatch");
    assertRefused(signed({ op: "ddl", max_rows: 10 }), "token.purpose_mismatch");
    assertRefused(
      signed({ purpose: "dry_run", max_rows: 10 }),
      "token.purpose_mismatch",
      context({ purpose: "dry_run" }),
    );
  });

  test("refuses a token whose bound was lifted after signing", () => {
    const [h, , s] = signed({ max_rows: 10 }).split(".") as [string, string, string];
    const lifted = jsonSegment({ ...CLAIMS, max_rows: 1_000_000 });
    assertRefused(`${h}.${lifted}.${s}`, "token.bad_signature");
    const removed = jsonSegment({ ...CLAIMS, max_rows: null });
    assertRefused(`${h}.${removed}.${s}`, "token.bad_signature");
  });
});
