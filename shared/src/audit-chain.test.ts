import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CHAIN_VERSION,
  ChainVerifier,
  GENESIS_HASH,
  chainEvent,
  hashAuditEvent,
  verifyChain,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type ChainBreak,
} from "./audit-chain.ts";

const START = Date.UTC(2024, 4, 1, 12, 0, 0);
const ACTIONS = ["request.created", "request.approved", "job.claimed", "execution.succeeded", "auth.failed"];
const OUTCOMES: readonly AuditOutcome[] = ["success", "success", "success", "success", "denied"];

function inputFor(i: number): AuditEventInput {
  return {
    actor: i % 3 === 0 ? "agent:agent-1" : `user:user-${i % 4}`,
    action: ACTIONS[i % ACTIONS.length] ?? "request.created",
    target: `request:${Math.ceil(i / 4)}`,
    outcome: OUTCOMES[i % OUTCOMES.length] ?? "success",
    details: { index: i, sql_sha256: "ab".repeat(32), approvers: ["bob", "carol"], nested: { rows: i * 10 } },
  };
}

function buildChain(length: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 1; i <= length; i++)
    events.push(chainEvent(events.at(-1), inputFor(i), new Date(START + i * 1000)));
  return events;
}

/** An event after `edit`, with its hash recomputed as a forger with write access would. */
function rehashed(event: AuditEvent, edit: Partial<AuditEvent> = {}): AuditEvent {
  const changed = { ...event, ...edit };
  return { ...changed, hash: hashAuditEvent(changed) };
}

function at(events: readonly AuditEvent[], seq: number): AuditEvent {
  const event = events[seq - 1];
  assert.ok(event !== undefined && event.seq === seq, `event ${seq} exists`);
  return event;
}

function replaced(events: readonly AuditEvent[], seq: number, event: AuditEvent): AuditEvent[] {
  return events.map((e) => (e.seq === seq ? event : e));
}

function assertBreak(
  events: Iterable<AuditEvent>,
  seq: number,
  reason: ChainBreak,
  anchor?: { seq: number; hash: string },
) {
  const verdict = verifyChain(events, anchor);
  if (verdict.ok) assert.fail(`expected ${reason} at ${seq}, but the chain verified`);
  assert.deepEqual({ seq: verdict.seq, reason: verdict.reason }, { seq, reason }, verdict.message);
  return verdict.message;
}

const CHAIN = buildChain(20);

describe("audit chain: building and verifying", () => {
  test("a chain of 20 events verifies, reporting its count and head", () => {
    assert.deepEqual(verifyChain(CHAIN), { ok: true, count: 20, lastSeq: 20, lastHash: at(CHAIN, 20).hash });
  });

  test("the first event has sequence 1 and links to 64 zeros", () => {
    assert.equal(GENESIS_HASH, "0".repeat(64));
    assert.equal(at(CHAIN, 1).seq, 1);
    assert.equal(at(CHAIN, 1).prevHash, "0".repeat(64));
  });

  test("each event has the next sequence number and links to its predecessor's hash", () => {
    for (let seq = 2; seq <= 20; seq++) {
      assert.equal(at(CHAIN, seq).prevHash, at(CHAIN, seq - 1).hash);
    }
    assert.equal(new Set(CHAIN.map((e) => e.hash)).size, 20);
  });

  test("records the time as ISO 8601 UTC with milliseconds", () => {
    assert.equal(at(CHAIN, 1).time, "2024-05-01T12:00:01.000Z");
  });

  test("chains after a stored row that carries only seq and hash", () => {
    const next = chainEvent({ seq: 20, hash: at(CHAIN, 20).hash }, inputFor(21), new Date(START + 21_000));
    assert.equal(next.seq, 21);
    assert.equal(next.prevHash, at(CHAIN, 20).hash);
    assert.equal(verifyChain([...CHAIN, next]).ok, true);
  });

  test("hashes the versioned canonical tuple, pinned so stored chains keep verifying", () => {
    const event = chainEvent(
      undefined,
      {
        actor: "user:alice",
        action: "request.created",
        target: "request:1",
        outcome: "success",
        details: { sql_sha256: "ab", database: "main" },
      },
      new Date("2024-05-01T12:00:00.000Z"),
    );
    const encoding =
      '{"action":"request.created","actor":"user:alice","details":{"database":"main","sql_sha256":"ab"},' +
      `"outcome":"success","prev":"${"0".repeat(64)}","seq":1,"target":"request:1",` +
      `"time":"2024-05-01T12:00:00.000Z","v":${CHAIN_VERSION}}`;
    assert.equal(event.hash, createHash("sha256").update(encoding).digest("hex"));
    assert.equal(event.hash, "3002ab96326878193ba2475ab78dd167679b9b221f320d3eb5db7a63d8a2b991");
  });

  test("still verifies after details are stored as JSON and read back with keys in another order", () => {
    const reread = CHAIN.map((e) => ({
      ...e,
      details: Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(e.details)) as object).reverse()),
    }));
    assert.notDeepEqual(Object.keys(at(reread, 1).details), Object.keys(at(CHAIN, 1).details));
    assert.equal(verifyChain(reread).ok, true);
  });

  test("an empty chain verifies with count 0 at the genesis", () => {
    assert.deepEqual(verifyChain([]), { ok: true, count: 0, lastSeq: 0, lastHash: GENESIS_HASH });
  });
});

describe("audit chain: tampering is reported at the first bad sequence number", () => {
  const edits: ReadonlyArray<readonly [string, Partial<AuditEvent>]> = [
    ["actor", { actor: "user:mallory" }],
    ["action", { action: "request.rejected" }],
    ["target", { target: "request:99" }],
    ["outcome", { outcome: "failure" }],
    ["details", { details: { ...at(CHAIN, 7).details, index: 70 } }],
    ["a nested detail", { details: { ...at(CHAIN, 7).details, nested: { rows: 0 } } }],
    ["details, by dropping a key", { details: { index: 7 } }],
    ["time", { time: "2024-05-01T12:00:06.999Z" }],
  ];
  for (const [field, edit] of edits) {
    test(`an edited ${field} is a hash_mismatch at that event`, () => {
      assertBreak(replaced(CHAIN, 7, { ...at(CHAIN, 7), ...edit }), 7, "hash_mismatch");
    });
  }

  test("an edited stored hash is a hash_mismatch at that event", () => {
    assertBreak(replaced(CHAIN, 7, { ...at(CHAIN, 7), hash: "f".repeat(64) }), 7, "hash_mismatch");
  });

  test("an edited previous hash is a broken_link at that event", () => {
    assertBreak(replaced(CHAIN, 7, { ...at(CHAIN, 7), prevHash: at(CHAIN, 5).hash }), 7, "broken_link");
  });

  test("a wrong previous hash with the event's hash recomputed is a broken_link at that event", () => {
    const forged = rehashed(at(CHAIN, 7), { prevHash: "1".repeat(64) });
    assertBreak(replaced(CHAIN, 7, forged), 7, "broken_link");
  });

  test("an edited event with its own hash recomputed is a broken_link at the next event", () => {
    const forged = rehashed(at(CHAIN, 7), { actor: "user:mallory" });
    const message = assertBreak(replaced(CHAIN, 7, forged), 8, "broken_link");
    assert.match(message, /event 8/);
  });

  test("an edit to the newest event with its hash recomputed is invisible without a checkpoint", () => {
    const checkpoint = { seq: 20, hash: at(CHAIN, 20).hash };
    const verdict = verifyChain(replaced(CHAIN, 20, rehashed(at(CHAIN, 20), { outcome: "failure" })));
    assert.equal(verdict.ok, true);
    assert.ok(verdict.ok && verdict.lastSeq === checkpoint.seq && verdict.lastHash !== checkpoint.hash);
  });

  test("a deleted middle event is a sequence_gap at the event after it", () => {
    const message = assertBreak(
      CHAIN.filter((e) => e.seq !== 10),
      11,
      "sequence_gap",
    );
    assert.match(message, /expected sequence 10, found 11/);
  });

  test("a deleted first event is a sequence_gap", () => {
    assertBreak(CHAIN.slice(1), 2, "sequence_gap");
  });

  test("a swapped pair is a sequence_gap where the order breaks", () => {
    const swapped = [...CHAIN];
    swapped[4] = at(CHAIN, 6);
    swapped[5] = at(CHAIN, 5);
    assert.match(assertBreak(swapped, 6, "sequence_gap"), /expected sequence 5, found 6/);
  });

  test("a swapped pair renumbered and rehashed is a broken_link at the first of them", () => {
    const five = rehashed(at(CHAIN, 6), { seq: 5 });
    const six = rehashed(at(CHAIN, 5), { seq: 6 });
    assertBreak(replaced(replaced(CHAIN, 5, five), 6, six), 5, "broken_link");
  });

  test("an inserted event that links correctly is caught at the original event it displaces", () => {
    const inserted = chainEvent(at(CHAIN, 10), inputFor(99), new Date(START + 10_500));
    assert.equal(inserted.seq, 11);
    const chain = [...CHAIN.slice(0, 10), inserted, ...CHAIN.slice(10)];
    assert.match(assertBreak(chain, 11, "sequence_gap"), /expected sequence 12, found 11/);
  });

  test("an inserted event with the later events renumbered is a broken_link at the renumbered event", () => {
    const inserted = chainEvent(at(CHAIN, 10), inputFor(99), new Date(START + 10_500));
    const renumbered = CHAIN.slice(10).map((e) => ({ ...e, seq: e.seq + 1 }));
    assertBreak([...CHAIN.slice(0, 10), inserted, ...renumbered], 12, "broken_link");
  });

  test("an event replayed twice is a sequence_gap at the copy", () => {
    assertBreak([...CHAIN.slice(0, 8), at(CHAIN, 8), ...CHAIN.slice(8)], 8, "sequence_gap");
  });

  test("reports the first of several breaks", () => {
    const chain = replaced(replaced(CHAIN, 12, { ...at(CHAIN, 12), actor: "user:mallory" }), 15, {
      ...at(CHAIN, 15),
      target: "request:0",
    });
    assertBreak(chain, 12, "hash_mismatch");
  });

  test("a rewrite of every event after an edit verifies on its own but not against a checkpoint", () => {
    const rewritten: AuditEvent[] = CHAIN.slice(0, 6);
    for (const e of CHAIN.slice(6)) {
      const edit = e.seq === 7 ? { actor: "user:mallory" } : {};
      rewritten.push(rehashed(e, { ...edit, prevHash: rewritten.at(-1)?.hash ?? GENESIS_HASH }));
    }
    const verdict = verifyChain(rewritten);
    assert.ok(verdict.ok, "a full rewrite is self-consistent");
    assert.equal(verdict.lastSeq, 20);
    assert.notEqual(verdict.lastHash, at(CHAIN, 20).hash);
  });

  test("deleting the newest events verifies on its own but falls short of a checkpoint", () => {
    const checkpoint = { seq: 20, hash: at(CHAIN, 20).hash };
    const verdict = verifyChain(CHAIN.slice(0, 17));
    assert.ok(verdict.ok);
    assert.equal(verdict.lastSeq, 17);
    assert.ok(verdict.lastSeq < checkpoint.seq);
  });
});

describe("audit chain: anchored verification", () => {
  const anchor = { seq: 10, hash: at(CHAIN, 10).hash };

  test("verifies the events after a checkpoint without the older ones", () => {
    assert.deepEqual(verifyChain(CHAIN.slice(10), anchor), {
      ok: true,
      count: 10,
      lastSeq: 20,
      lastHash: at(CHAIN, 20).hash,
    });
  });

  test("an anchored chain with nothing after the checkpoint verifies at the checkpoint", () => {
    assert.deepEqual(verifyChain([], anchor), { ok: true, count: 0, lastSeq: 10, lastHash: anchor.hash });
  });

  test("refuses events that do not link to the checkpoint's hash", () => {
    assertBreak(CHAIN.slice(10), 11, "broken_link", { seq: 10, hash: at(CHAIN, 9).hash });
  });

  test("refuses events that do not start right after the checkpoint", () => {
    assertBreak(CHAIN, 1, "sequence_gap", anchor);
    assertBreak(CHAIN.slice(11), 12, "sequence_gap", anchor);
  });

  test("catches an edit after the checkpoint", () => {
    assertBreak(
      replaced(CHAIN, 14, { ...at(CHAIN, 14), outcome: "failure" }).slice(10),
      14,
      "hash_mismatch",
      anchor,
    );
  });
});

describe("audit chain: ChainVerifier", () => {
  test("gives the same verdict pushed one event at a time as verifyChain", () => {
    const verifier = new ChainVerifier();
    for (const e of CHAIN) assert.equal(verifier.push(e), true);
    assert.deepEqual(verifier.verdict(), verifyChain(CHAIN));
  });

  test("stops after the first failure and keeps reporting it", () => {
    const chain = replaced(CHAIN, 7, { ...at(CHAIN, 7), actor: "user:mallory" });
    const verifier = new ChainVerifier();
    const accepted = chain.map((e) => verifier.push(e));
    assert.deepEqual(accepted, [...Array<boolean>(6).fill(true), ...Array<boolean>(14).fill(false)]);
    // A correct continuation offered after the break does not revive the chain.
    assert.equal(verifier.push(chainEvent(at(CHAIN, 20), inputFor(21), new Date(START + 21_000))), false);
    const verdict = verifier.verdict();
    assert.ok(!verdict.ok);
    assert.equal(verdict.seq, 7);
    assert.equal(verdict.reason, "hash_mismatch");
  });

  test("verifyChain reads no further than the first failure", () => {
    const chain = replaced(CHAIN, 7, { ...at(CHAIN, 7), target: "request:0" });
    let read = 0;
    function* events(): Generator<AuditEvent> {
      for (const e of chain) {
        read += 1;
        yield e;
      }
    }
    assertBreak(events(), 7, "hash_mismatch");
    assert.equal(read, 7);
  });

  test("starts from an anchor when given one", () => {
    const verifier = new ChainVerifier({ seq: 15, hash: at(CHAIN, 15).hash });
    assert.equal(verifier.push(at(CHAIN, 15)), false);
    const fresh = new ChainVerifier({ seq: 15, hash: at(CHAIN, 15).hash });
    for (const e of CHAIN.slice(15)) assert.equal(fresh.push(e), true);
    assert.deepEqual(fresh.verdict(), { ok: true, count: 5, lastSeq: 20, lastHash: at(CHAIN, 20).hash });
  });
});
