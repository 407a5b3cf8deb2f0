/** The `masks` claim in signed tokens: signed and verified as it is, a full claim fits, a bad one never signs. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256Hex } from "./encoding.ts";
import { signExecutionToken, verifyExecutionToken, type TokenInput } from "./execution-token.ts";
import { MAX_SIGNED_MASKS, type SignedMask } from "./mask-claim.ts";
import { signingKeyFromSecret } from "./signing-key.ts";

const KEY = signingKeyFromSecret(new Uint8Array(32).fill(7));
const SQL = "SELECT email FROM users";
const INPUT: TokenInput = {
  jti: "t1",
  req: 1,
  exe: 1,
  purpose: "execute",
  max_rows: null,
  db: "shop",
  env: "production",
  op: "read",
  sql_sha256: sha256Hex(SQL),
  agent: "agent-1",
  iat: 1_900_000_000,
  exp: 1_900_000_100,
};
const verify = (token: string) =>
  verifyExecutionToken(token, {
    keys: new Map([[KEY.kid, KEY]]),
    now: 1_900_000_010,
    sql: SQL,
    agentId: "agent-1",
    allows: () => true,
    purpose: "execute",
  });

const mask = (i: number): SignedMask => ({
  schema: "public_schema_with_a_long_name",
  table: `customer_accounts_${i}`,
  column: `primary_email_address_${i}`,
  mode: "partial",
  keep_leading: 2,
  keep_trailing: 12,
});

test("a token with the most masks a claim may carry signs and verifies with them", () => {
  const masks = Array.from({ length: MAX_SIGNED_MASKS }, (_, i) => mask(i));
  const verified = verify(signExecutionToken(KEY, { ...INPUT, masks }));
  assert.ok(verified.ok, JSON.stringify(verified));
  assert.deepEqual(verified.claims.masks, masks);
});

test("a token without masks has no masks claim", () => {
  const verified = verify(signExecutionToken(KEY, INPUT));
  assert.ok(verified.ok);
  assert.equal("masks" in verified.claims, false);
});

test("the signer refuses an empty or malformed masks claim instead of making a token no agent accepts", () => {
  assert.throws(() => signExecutionToken(KEY, { ...INPUT, masks: [] }), TypeError);
  assert.throws(
    () => signExecutionToken(KEY, { ...INPUT, masks: [{ ...mask(1), mode: "full" }] }),
    TypeError,
  );
});
