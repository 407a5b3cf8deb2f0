import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { openStore, type Store } from "../store/open-store.ts";
import { RoutingPosition, readPosition, storePosition, type PositionOptions } from "./routing-position.ts";

describe("the webhook routing position", () => {
  let dir: string;
  let store: Store;
  let enabled: boolean;
  let errors: unknown[];
  const options = (): PositionOptions => ({
    enabled: () => enabled,
    clock: { now: () => new Date("2024-05-01T12:00:00.000Z") },
    onError: (err) => errors.push(err),
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dbward-position-"));
    store = openStore(dir);
    enabled = true;
    errors = [];
  });
  afterEach(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(errors, []);
  });

  /** Audit rows only as far as the head matters here: the chain itself is not checked. */
  async function audit(upTo: number): Promise<void> {
    for (let seq = 1; seq <= upTo; seq++) {
      await store
        .insertInto("audit_events")
        .values({
          seq,
          time: "2024-05-01T12:00:00.000Z",
          actor: "system",
          action: "request.created",
          target: `request:${seq}`,
          outcome: "success",
          details: "{}",
          prev_hash: "",
          hash: "",
        })
        .execute();
    }
  }

  test("starts at the head, and stores it at once, when there is no stored position", async () => {
    await audit(7);
    const p = await RoutingPosition.load(store, options());
    assert.equal(p.routedThrough, 7);
    assert.equal(await readPosition(store), 7);
  });

  test("starts at the stored position, behind the head, without moving it", async () => {
    await audit(7);
    await storePosition(store, 3, new Date());
    const p = await RoutingPosition.load(store, options());
    assert.equal(p.routedThrough, 3);
    await p.flush();
    assert.equal(await readPosition(store), 3);
  });

  test("moves only as far as every earlier event has its rows, whatever order they land in", async () => {
    const p = await RoutingPosition.load(store, options());
    p.advance(1, 2);
    p.advance(2);
    p.advance(3, 1);
    p.advance(4, 1);
    p.advance(5);
    assert.equal(p.durable(), 0, "event 1 still waits for both its rows");

    p.settled(3);
    p.settled(1);
    await p.flush();
    assert.equal(p.durable(), 0, "one of event 1's two deliveries has no row yet");
    assert.equal(await readPosition(store), 0);

    p.settled(1);
    await p.flush();
    assert.equal(p.durable(), 3, "1, 2 and 3 are settled; 4 is not");
    assert.equal(await readPosition(store), 3);

    p.settled(4);
    await p.flush();
    assert.equal(await readPosition(store), 5);
  });

  test("never moves the stored position back: another process may be further along", async () => {
    const p = await RoutingPosition.load(store, options());
    await storePosition(store, 9, new Date());
    p.advance(4);
    await p.flush();
    assert.equal(await readPosition(store), 9);
  });

  test("is not kept while no webhook is configured, so configuring one later starts at the head", async () => {
    await audit(2);
    await storePosition(store, 1, new Date());
    enabled = false;
    const p = await RoutingPosition.load(store, options());
    assert.equal(await readPosition(store), undefined, "cleared at a start without webhooks");
    assert.equal(p.routedThrough, 2);

    enabled = true; // a reload adds a webhook
    p.advance(5);
    await p.flush();
    assert.equal(await readPosition(store), 5);

    enabled = false; // and a later one removes it
    p.advance(6);
    await p.flush();
    assert.equal(await readPosition(store), undefined);
  });
});
