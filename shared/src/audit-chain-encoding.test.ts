/**
 * The written-out tuple encoding (auditHashInput) against the reference it stands for: SHA-256 over
 * canonicalJson of the versioned tuple, exactly as chain version 1 has always hashed. Any event on
 * which the two disagreed would be an event stored by an older dbward that no longer verifies.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AUDIT_OUTCOMES,
  CHAIN_VERSION,
  ChainVerifier,
  GENESIS_HASH,
  auditHashInput,
  chainEvent,
  hashAuditEvent,
  isCanonicalDetailsText,
  type AuditEvent,
  type StoredAuditEvent,
} from "./audit-chain.ts";
import { canonicalJson } from "./canonical-json.ts";

/** chain version 1 as it was first written: canonicalJson of the tuple, hashed. */
function referenceInput(e: Omit<AuditEvent, "hash">): string {
  return canonicalJson({
    v: CHAIN_VERSION,
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
    prev: e.prevHash,
  });
}

function referenceHash(e: Omit<AuditEvent, "hash">): string {
  return createHash("sha256").update(referenceInput(e)).digest("hex");
}

/** Every action dbward appends, and a few strings no action is but a forged row could hold. */
const ACTIONS = [
  "audit.exported",
  "audit.purged",
  "audit.read_refused",
  "auth.failed",
  "agent.session_conflict",
  "config.reloaded",
  "execution.cancelled",
  "execution.failed",
  "execution.finished_after_cancel",
  "execution.late_result",
  "execution.lost",
  "key.changed",
  "key.created",
  "key.installed",
  "join.decide_refused",
  "join.expired",
  "join.list_refused",
  "join.requested",
  "request.approval_recorded",
  "request.approved",
  "request.auto_approved",
  "request.break_glass",
  "request.cancel_refused",
  "request.cancelled",
  "request.claimed",
  "request.create_refused",
  "request.created",
  "request.dispatched",
  "request.failed",
  "request.finished",
  "request.lost",
  "request.rejected",
  "request.reminder_snooze_refused",
  "request.reminder_snoozed",
  "request.retried",
  "request.retry_refused",
  "result.purged",
  "result.read",
  "result.read_refused",
  "sql.trust_declared",
  "token.create_refused",
  "token.created",
  "token.list_refused",
  "token.revoke_refused",
  "token.revoked",
  "user.activate_refused",
  "user.activated",
  "user.admin_refused",
  "user.create_refused",
  "user.created",
  "user.read_refused",
  "user.suspend_refused",
  "user.suspended",
  "user.update_refused",
  "user.updated",
  "",
  'a"quote\\back',
];

const STRINGS = [
  "",
  "plain",
  "ünïcödé — “quotes” ‘single’",
  "日本語のテキスト",
  "emoji 🔐🧾 and flags 🇩🇪",
  "e\u0301 combining, \u200b zero width, \u202e RTL override",
  "line\u2028separator\u2029paragraph",
  "controls \u0000 \u0001 \u0007 \b \t \n \v \f \r \u001b \u001f \u007f",
  'quote " backslash \\ slash /',
  "lone surrogates \ud800 and \udfff, reversed pair \udc00\ud800",
  "SELECT * FROM t WHERE a = 'x' -- comment",
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1e-7,
  123456789.125,
  2 ** 53 - 1,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1.5e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  5e-324,
];

/** Details as the bot writes them, and as they come back from the store's canonical text. */
function detailsCorpus(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    {},
    { nothing: null },
    { database: "shop", environment: "production", sql_sha256: "ab".repeat(32) },
    { approvers: ["bob", "carol"], final: true, nested: { rows: 10, deeper: { list: [1, [2, [3, null]]] } } },
    { zeta: 1, alpha: { y: 2, x: 1 }, mid: [{ b: 1, a: 2 }] },
    { "10": "ten", "9": "nine", "1": "one", a: "letter" },
    { "": "empty key", " ": "space key", "\u0000": "nul key", é: "e acute", e: "e", Z: "upper" },
    { "🔐": "astral key", "\uffff": "last BMP", "\ud800": "lone surrogate key" },
    { through_seq: 1042, purged: 1041 },
    { empty_array: [], empty_object: {}, empty_string: "" },
    { booleans: [true, false], nulls: [null, null] },
  ];
  for (const s of STRINGS) out.push({ text: s, [s]: "as a key" });
  for (const n of NUMBERS) out.push({ n, list: [n, -n] });
  const protoKey = JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as Record<string, unknown>;
  out.push(protoKey);
  const bare = Object.create(null) as Record<string, unknown>;
  bare.b = 2;
  bare.a = 1;
  out.push(bare);
  out.push({ when: new Date(Date.UTC(2024, 4, 1, 12)) });
  out.push({ toJSON: "a member named toJSON that is not a function" });
  // Read back from stored canonical text, as verification sees them.
  return [...out, ...out.map((d) => JSON.parse(canonicalJson(d)) as Record<string, unknown>)];
}

function corpus(): Omit<AuditEvent, "hash">[] {
  const events: Omit<AuditEvent, "hash">[] = [];
  const details = detailsCorpus();
  let seq = 1;
  const push = (e: Omit<AuditEvent, "hash" | "seq" | "prevHash">): void => {
    events.push({ ...e, seq, prevHash: seq === 1 ? GENESIS_HASH : "cd".repeat(32) });
    seq += 1;
  };
  for (const action of ACTIONS)
    for (const outcome of AUDIT_OUTCOMES)
      push({
        time: "2024-05-01T12:00:00.000Z",
        actor: "user:alice",
        action,
        target: "request:1",
        outcome,
        details: {},
      });
  for (const [i, d] of details.entries())
    push({
      time: new Date(Date.UTC(2024, 4, 1) + i).toISOString(),
      actor: STRINGS[i % STRINGS.length] ?? "",
      action: ACTIONS[i % ACTIONS.length] ?? "",
      target: STRINGS[(i + 3) % STRINGS.length] ?? "",
      outcome: AUDIT_OUTCOMES[i % AUDIT_OUTCOMES.length] ?? "success",
      details: d,
    });
  events.push({ ...(events.at(-1) as Omit<AuditEvent, "hash">), seq: 2 ** 53 - 1 });
  return events;
}

describe("audit chain encoding: the written-out tuple is the canonical JSON", () => {
  const events = corpus();

  test("agrees with canonicalJson of the tuple on every event of the corpus", () => {
    assert.ok(events.length > 150);
    for (const e of events) assert.equal(auditHashInput(e), referenceInput(e), JSON.stringify(e.details));
  });

  test("hashes every event of the corpus as chain version 1 always has", () => {
    for (const e of events) assert.equal(hashAuditEvent(e), referenceHash(e));
  });

  test("chains built from the corpus verify, and each hash is the reference one", () => {
    const verifier = new ChainVerifier();
    let last: AuditEvent | undefined;
    for (const e of events.slice(0, -1)) {
      last = chainEvent(last, e, new Date(Date.parse(e.time)));
      assert.equal(last.hash, referenceHash(last));
      assert.equal(verifier.push(last), true);
    }
    assert.equal(verifier.verdict().ok, true);
  });

  test("refuses what canonicalJson refuses, with the same error", () => {
    const base = events[0] as Omit<AuditEvent, "hash">;
    const holes: unknown[] = [1];
    holes[2] = 3;
    const withSymbol: Record<string | symbol, unknown> = { a: 1 };
    withSymbol[Symbol("s")] = 2;
    const refused: unknown[] = [
      { u: undefined },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { big: 1n },
      { f: () => 1 },
      { toJSON: () => "replaced" },
      { m: new Map([["a", 1]]) },
      { bytes: new Uint8Array([1]) },
      { holes },
      withSymbol,
      { bad: new Date(Number.NaN) },
    ];
    for (const d of refused) {
      const e = { ...base, details: d as Record<string, unknown> };
      let expected: unknown;
      try {
        referenceInput(e);
      } catch (err) {
        expected = err;
      }
      assert.ok(expected instanceof Error, `the reference refuses ${String(Object.keys(d as object))}`);
      assert.throws(() => auditHashInput(e), { name: expected.name, message: expected.message });
    }
  });

  test("an event the encoding refuses is a malformed_event break at its sequence number, not a crash", () => {
    const first = chainEvent(undefined, { ...(events[0] as AuditEvent) }, new Date(0));
    const second = {
      ...chainEvent(first, { ...(events[1] as AuditEvent) }, new Date(1)),
      details: { big: 1n },
    };
    const verifier = new ChainVerifier();
    assert.equal(verifier.push(first), true);
    assert.equal(verifier.push(second), false);
    const verdict = verifier.verdict();
    assert.ok(!verdict.ok);
    assert.equal(verdict.seq, 2);
    assert.equal(verdict.reason, "malformed_event");
    assert.match(verdict.message, /event 2 cannot be encoded/);
  });

  test("deeply nested details still encode as canonicalJson does", () => {
    let deep: unknown = { z: 1, a: 2 };
    for (let i = 0; i < 200; i++) deep = { level: deep };
    const e = { ...(events[0] as Omit<AuditEvent, "hash">), details: deep as Record<string, unknown> };
    assert.equal(auditHashInput(e), referenceInput(e));
  });
});

describe("audit chain encoding: stored canonical details text hashed as it stands", () => {
  const events = corpus();

  /** An event as a store reads it back: its details text, and what that text parses to. */
  function stored(e: Omit<AuditEvent, "hash">, detailsJson: string): StoredAuditEvent {
    return { ...e, hash: "", detailsJson, details: JSON.parse(detailsJson) as Record<string, unknown> };
  }

  test("hashes every corpus event read back from its canonical text as the reference does", () => {
    let fast = 0;
    for (const e of events) {
      const text = canonicalJson(e.details);
      if (isCanonicalDetailsText(text)) fast += 1;
      const back = stored(e, text);
      assert.equal(auditHashInput(back), referenceInput(back), text);
      assert.equal(hashAuditEvent(back), referenceHash(back));
    }
    assert.ok(fast > events.length / 3, `the plain-text path is taken (${fast} of ${events.length})`);
  });

  test("takes no other spelling of the same details for canonical, and hashes it as its parsed value", () => {
    const spellings = [
      '{ "a": 1 }',
      '{"a":1 }',
      '{"b":1,"a":2}',
      '{"a":1,"a":2}',
      '{"a":"\\u0041"}',
      '{"a":"\\/"}',
      '{"a":"x\\ny"}',
      '{"a":1.0}',
      '{"a":1e2}',
      '{"a":1E2}',
      '{"a":-0}',
      '{"a":0.5}',
      '{"a":12345678901234567890}',
      '{"a":1234567890123456}',
      '{"a":[1 ,2]}',
      '{"a":{"z":1,"y":2}}',
      '{"a":"🔐"}',
      '{"a":true}x',
      '{"a":tru}',
      '{"10":1,"9":2}',
      '{"9":2,"10":1}',
      "{}",
      '{"":0,"a":-1,"b":[],"c":{},"d":[null,false,"s"]}',
    ];
    for (const text of spellings) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        assert.equal(isCanonicalDetailsText(text), false, text);
        continue;
      }
      const canonical = canonicalJson(parsed);
      // Only the canonical spelling may be taken as it stands (an escape is canonical yet refused).
      if (text !== canonical) assert.equal(isCanonicalDetailsText(text), false, text);
      const back = stored(events[0] as Omit<AuditEvent, "hash">, text);
      assert.equal(auditHashInput(back), referenceInput(back), text);
    }
  });

  test("never takes a text for canonical that is not, over random values and random edits of them", () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3) return pick([null, true, false, 0, -1, 7, 2 ** 40, 0.25, -3e-9, 1e21]);
      if (r < 0.55) return pick(STRINGS);
      if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 5) }, () => [
          pick([...STRINGS, "a", "b", "10", "9"]),
          value(depth + 1),
        ]),
      );
    };
    const edits = [" ", ",", ":", "0", "-", ".", "e", '"', "\\", "{", "}", "[", "]", "a", "é", "\ud83d"];
    let checked = 0;
    for (let n = 0; n < 3000; n++) {
      const canonical = canonicalJson({ k: value(0), [pick(STRINGS)]: value(1) });
      assert.ok(!isCanonicalDetailsText(canonical) || canonicalJson(JSON.parse(canonical)) === canonical);
      const at = Math.floor(random() * canonical.length);
      const edited =
        random() < 0.5
          ? canonical.slice(0, at) + pick(edits) + canonical.slice(at)
          : canonical.slice(0, at) + canonical.slice(at + 1);
      if (!isCanonicalDetailsText(edited)) continue;
      checked += 1;
      assert.equal(canonicalJson(JSON.parse(edited)), edited, edited);
    }
    assert.ok(checked > 0, "some edits are still canonical texts, and were checked");
  });
});
