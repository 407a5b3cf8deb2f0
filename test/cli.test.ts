/**
 * The dbward CLI as a person runs it: the demo end to end, offline audit verification that
 * catches an edited row, the exit codes scripts rely on, and what `request show` prints of a step
 * that escalated.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { sweep } from "../bot/src/use-cases/sweep.ts";
import { main } from "../cli/src/main.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { captureOutput } from "./support/capture-output.ts";
import { startBotHarness, type BotHarness } from "./support/bot-harness.ts";

describe("dbward demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-cli-demo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("walks one request through approval and execution and ends with a verified chain", async () => {
    const out = captureOutput();
    const code = await main(["demo", "--data-dir", dir], {}, out);
    const text = out.stdout.join("\n");
    assert.equal(code, EXIT.ok, out.stderr.join("\n"));
    assert.match(text, /refused: you cannot approve or reject your own request \(request\.self_approval\)/);
    assert.match(text, /#1 {2}succeeded/);
    assert.match(text, /Ada Lovelace +\| paid/);
    assert.match(text, /request\.executed/);
    assert.match(text, /audit chain verified: \d+ events$/m);
  });

  test("audit verify reads the demo's state offline and fails, naming the sequence, after one row is edited", async () => {
    const botDir = join(dir, "bot");
    const ok = captureOutput();
    assert.equal(await main(["audit", "verify", "--data-dir", botDir], {}, ok), EXIT.ok);
    assert.match(ok.stdout.join("\n"), /audit chain verified: \d+ events/);

    const file = new Database(join(botDir, "dbward.sqlite"));
    file.prepare("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 9").run();
    file.close();
    const broken = captureOutput();
    assert.equal(await main(["audit", "verify", "--data-dir", botDir], {}, broken), EXIT.auditBroken);
    assert.match(broken.stderr.join("\n"), /audit chain BROKEN at sequence 9: hash_mismatch/);
  });

  test("audit verify on a directory with no state says where it looked", async () => {
    const out = captureOutput();
    assert.equal(await main(["audit", "verify", "--data-dir", join(dir, "nope")], {}, out), EXIT.usage);
    assert.match(out.stderr.join("\n"), /no dbward state at .*nope/);
  });
});

describe("dbward request", () => {
  let h: BotHarness;
  before(async () => {
    h = await startBotHarness();
  });
  after(async () => h.stop());

  test("create, show and approve work against a running bot and print what happened", async () => {
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("alice") };
    const out = captureOutput();
    const code = await main(
      [
        "request",
        "create",
        "--db",
        "legacy",
        "--env",
        "production",
        "--sql",
        "UPDATE t SET a = 1 WHERE id = 2",
        "--reason",
        "fix",
        "--json",
      ],
      env,
      out,
    );
    assert.equal(code, EXIT.ok, out.stderr.join("\n"));
    const created = JSON.parse(out.stdout[0] ?? "{}") as { id: number; status: string };
    assert.equal(created.status, "pending_approval");
    const bob = captureOutput();
    assert.equal(
      await main(
        ["request", "approve", String(created.id)],
        { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("bob") },
        bob,
      ),
      EXIT.ok,
    );
    assert.match(bob.stdout.join("\n"), new RegExp(`#${created.id} {2}dispatched`));
  });

  test("self-approval exits with the refused code and the bot's reason", async () => {
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("alice") };
    const out = captureOutput();
    await main(
      [
        "request",
        "create",
        "--db",
        "legacy",
        "--env",
        "production",
        "--sql",
        "DELETE FROM t WHERE id = 3",
        "--reason",
        "cleanup",
        "--json",
      ],
      env,
      out,
    );
    const id = (JSON.parse(out.stdout[0] ?? "{}") as { id: number }).id;
    const again = captureOutput();
    assert.equal(await main(["request", "approve", String(id)], env, again), EXIT.refused);
    assert.match(
      again.stderr.join("\n"),
      /cannot approve or reject your own request \(request\.self_approval\)/,
    );
  });

  test("a bad token exits with the auth code; no URL exits with the usage code", async () => {
    const out = captureOutput();
    assert.equal(
      await main(["request", "list"], { DBWARD_URL: h.url, DBWARD_TOKEN: "dbw_nope" }, out),
      EXIT.auth,
    );
    const none = captureOutput();
    assert.equal(await main(["request", "list"], {}, none), EXIT.usage);
    assert.match(none.stderr.join("\n"), /no bot URL: pass --url or set DBWARD_URL/);
  });

  test("an unreachable bot exits with the unreachable code", async () => {
    const out = captureOutput();
    assert.equal(
      await main(["request", "list"], { DBWARD_URL: "http://127.0.0.1:9", DBWARD_TOKEN: "dbw_x" }, out),
      EXIT.unreachable,
    );
  });

  test("a malformed request id is a usage error", async () => {
    const out = captureOutput();
    assert.equal(
      await main(["request", "show", "abc"], { DBWARD_URL: h.url, DBWARD_TOKEN: "dbw_x" }, out),
      EXIT.usage,
    );
  });
});

describe("dbward request show, once a step escalated", () => {
  const CONFIG = `
databases:
  - name: shop
    dialect: postgres
    environments: [production]
workflows:
  - name: writes
    database: shop
    operations: [write, ddl]
    steps:
      - name: leads
        approvers: ["group:leads"]
        escalate_after: 2h
        escalate_to: ["group:dba", "user:root"]
users:
  - { id: alice, name: Alice, roles: [requester] }
  - { id: bob, name: Bob, roles: [approver], groups: [leads] }
  - { id: dana, name: Dana, roles: [approver], groups: [dba] }
  - { id: root, name: Root, roles: [admin] }
agents:
  - id: agent-1
execution:
  pending_ttl_ms: 36000000
`;
  let now = new Date("2030-01-01T00:00:00.000Z");
  let h: BotHarness;
  before(async () => {
    // The sweeper is called by hand below, on a clock the test moves.
    h = await startBotHarness(CONFIG, { clock: { now: () => now }, sweepIntervalMs: 3_600_000 });
  });
  after(async () => h.stop());

  const show = async (id: number): Promise<string> => {
    const out = captureOutput();
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("alice") };
    assert.equal(await main(["request", "show", String(id)], env, out), EXIT.ok, out.stderr.join("\n"));
    return out.stdout.join("\n");
  };

  test("prints the selectors the waiting step escalated to on that step's line, and none before", async () => {
    const made = await h.call(await h.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "production",
      sql: "UPDATE orders SET status = 'x' WHERE id = 1",
      reason: "fix order 1",
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = (made.body as { id: number }).id;
    assert.match(await show(id), /^ {2}→ leads: 1 of group:leads$/m);

    now = new Date(now.getTime() + 2 * 60 * 60 * 1000 + 1);
    await sweep(h.bot.ctx);
    assert.match(await show(id), /^ {2}→ leads: 1 of group:leads; escalated to group:dba, user:root$/m);

    const dana = captureOutput();
    const env = { DBWARD_URL: h.url, DBWARD_TOKEN: await h.tokenFor("dana") };
    assert.equal(await main(["request", "approve", String(id)], env, dana), EXIT.ok, dana.stderr.join("\n"));
    assert.match(
      dana.stdout.join("\n"),
      /^ {3} leads: 1 of group:leads; escalated to group:dba, user:root — approved by dana ✓$/m,
    );
  });
});
