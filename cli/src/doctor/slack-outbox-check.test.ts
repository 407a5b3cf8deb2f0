import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { STORE_FILE, openStore, openStoreFile } from "@dbward/bot";
import { checkSlackOutbox } from "./slack-outbox-check.ts";

describe("doctor's Slack outbox check", () => {
  test("is quiet when nothing waits, warns on a stale backlog and on deliveries given up on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbward-doctor-outbox-"));
    try {
      const store = openStore(dir);
      const row = (status: "pending" | "failed", at: string, error: string | null) => ({
        lane: "request:7",
        coalesce_key: null,
        delivery: JSON.stringify({ kind: "request_post", request: 7 }),
        status,
        next_attempt_at: at,
        lease_until: null,
        lease_token: null,
        last_error: error,
        created_at: at,
        updated_at: at,
      });
      const file = join(dir, STORE_FILE);
      const now = new Date("2026-12-01T12:00:00Z");
      /** The check over the file opened read-only, as doctor opens it. */
      const check = async () => {
        const reader = openStoreFile(file, { readonly: true });
        try {
          return await checkSlackOutbox(reader, now);
        } finally {
          await reader.destroy();
        }
      };
      assert.deepEqual(
        (await check()).map((c) => c.status),
        ["ok"],
      );
      await store
        .insertInto("slack_outbox")
        .values(row("pending", "2026-12-01T11:00:00Z", "ratelimited"))
        .execute();
      await store
        .insertInto("slack_outbox")
        .values(row("failed", "2026-12-01T10:00:00Z", "chat.postMessage failed: channel_not_found"))
        .execute();
      await store.destroy();
      const checks = await check();
      assert.deepEqual(
        checks.map((c) => c.status),
        ["warn", "warn"],
      );
      assert.match(checks[0]?.detail ?? "", /1 deliveries waiting; the oldest for 60 minutes/);
      assert.match(checks[1]?.detail ?? "", /channel_not_found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
