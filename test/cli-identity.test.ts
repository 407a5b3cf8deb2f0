/**
 * The identity commands of the CLI against a running bot: `dbward token` for an admin and a
 * refused non-admin (exit codes scripts rely on), and `dbward audit list` filters with NDJSON
 * output for a SIEM.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AuditEventView, CreatedTokenView } from "@dbward/shared";
import { main } from "../cli/src/main.ts";
import { EXIT } from "../cli/src/exit-codes.ts";
import { GENEROUS_LIMITS } from "./support/audit-reader.ts";
import { captureOutput } from "./support/capture-output.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";

describe("dbward token and audit list", () => {
  let h: BotHarness;
  let env: Record<string, string>;
  before(async () => {
    h = await startBotHarness(`${TEST_CONFIG}${GENEROUS_LIMITS}`);
    env = { DBWARD_URL: h.url, DBWARD_TOKEN: h.adminToken, XDG_CONFIG_HOME: "/nonexistent-dbward-test" };
  });
  after(async () => h.stop());

  test("an admin creates a token for someone else with a ceiling and an expiry, and sees it listed", async () => {
    const out = captureOutput();
    const code = await main(
      ["token", "create", "--user", "dave", "--name", "ci", "--roles", "requester", "--expires-in-days", "7"],
      env,
      out,
    );
    assert.equal(code, EXIT.ok, out.stderr.join("\n"));
    const text = out.stdout.join("\n");
    assert.match(text, /token tok_\S+ for dave \(ci\)/);
    assert.match(text, /roles: {3}requester/);
    assert.match(text, /only time the secret is shown/);
    const secret = out.stdout.find((l) => l.startsWith("dbw_"));
    assert.ok(secret !== undefined);
    const listed = captureOutput();
    assert.equal(await main(["token", "list", "--user", "dave"], env, listed), EXIT.ok);
    assert.match(listed.stdout.join("\n"), /dave +\| ci +\| dbw_\S+… \| requester +\| active/);
    assert.ok(!listed.stdout.join("\n").includes(secret));
  });

  test("a requester asking for someone else's token gets the auth exit code and the bot's reason", async () => {
    const out = captureOutput();
    const code = await main(
      ["token", "create", "--user", "bob", "--name", "x"],
      { ...env, DBWARD_TOKEN: await h.tokenFor("alice") },
      out,
    );
    assert.equal(code, EXIT.auth);
    assert.match(
      out.stderr.join("\n"),
      /only an admin can create tokens for someone else \(auth\.forbidden\)/,
    );
  });

  test("the per-user bound surfaces as a refusal exit code", async () => {
    const token = await h.tokenFor("carol");
    const out = captureOutput();
    for (let i = 0; i < 19; i++)
      assert.equal(
        await main(["token", "create", "--name", `n${i}`, "--json"], { ...env, DBWARD_TOKEN: token }, out),
        EXIT.ok,
      );
    const over = captureOutput();
    assert.equal(
      await main(["token", "create", "--name", "over"], { ...env, DBWARD_TOKEN: token }, over),
      EXIT.refused,
    );
    assert.match(over.stderr.join("\n"), /quota\.exceeded/);
  });

  test("audit list --json prints one event per line, filtered by actor, action prefix and time", async () => {
    const since = new Date().toISOString();
    const made = captureOutput();
    assert.equal(
      await main(["token", "create", "--user", "bob", "--name", "audited", "--json"], env, made),
      EXIT.ok,
    );
    const created = JSON.parse(made.stdout.join("")) as CreatedTokenView;
    assert.equal(await main(["token", "revoke", created.id], env, captureOutput()), EXIT.ok);
    const out = captureOutput();
    const code = await main(
      ["audit", "list", "--json", "--all", "--actor", "user:root", "--action", "token.*", "--since", since],
      env,
      out,
    );
    assert.equal(code, EXIT.ok, out.stderr.join("\n"));
    const events = out.stdout.map((line) => JSON.parse(line) as AuditEventView);
    assert.deepEqual(
      events.map((e) => e.action),
      ["token.created", "token.revoked"],
    );
    assert.ok(events.every((e) => e.actor === "user:root" && e.time >= since));
    const bad = captureOutput();
    assert.equal(await main(["audit", "list", "--since", "last tuesday"], env, bad), EXIT.usage);
  });
});
