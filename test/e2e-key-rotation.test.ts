/**
 * Rotating the bot's signing key by the documented procedure (docs/security-hardening.md, "Key
 * rotation"), with the real bot restarted on the same state directory and the real agent running
 * SQL on the real PostgreSQL: make a key with `dbward keygen --json`, pin it next to the old one,
 * swap the key file, restart. The switch is audited, the old key stays published as retired, an
 * agent that pins only the old key refuses every new token, and nothing runs twice.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { AgentHandle } from "@dbward/agent";
import { listAudit, verifyAuditStore } from "@dbward/bot";
import { base64url, type PublicKeysView, type RequestView } from "@dbward/shared";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { DEFAULT_AGENT_DBS, PG_URL, startTestAgent } from "./support/agent-harness.ts";
import { startBotHarness, TEST_CONFIG, type BotHarness } from "./support/bot-harness.ts";
import { captureOutput } from "./support/capture-output.ts";
import { token } from "./support/processes.ts";
import { waitForStatus } from "./support/wait.ts";

describe("signing key rotation, end to end", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dbward-rotation-"));
  // Tokens from the environment, so the restarted bot and the agent keep them.
  const env = { DBWARD_ADMIN_TOKEN: token("dbw_"), DBWARD_AGENT_TOKEN_AGENT_1: token("dbwa_") };
  let h: BotHarness | undefined;
  let agent: AgentHandle | undefined;
  after(async () => {
    await agent?.stop();
    await h?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const startBot = (): Promise<BotHarness> => startBotHarness(TEST_CONFIG, { dataDir, env });
  const pinning = (bot: BotHarness, keys: Record<string, string>): Promise<AgentHandle> =>
    startTestAgent(bot, "agent-1", DEFAULT_AGENT_DBS, {}, keys, env.DBWARD_AGENT_TOKEN_AGENT_1);

  async function read(bot: BotHarness, reason: string): Promise<RequestView> {
    const res = await bot.call(await bot.tokenFor("alice"), "POST", "/api/requests", {
      database: "shop",
      environment: "staging",
      sql: "SELECT 42 AS answer",
      reason,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as RequestView;
  }

  async function keygen(): Promise<{ kid: string; public_key: string; secret_key: string }> {
    const out = captureOutput();
    assert.equal(await main(["keygen", "--json"], {}, out), EXIT.ok);
    return JSON.parse(out.stdout.join("\n")) as { kid: string; public_key: string; secret_key: string };
  }

  test("the documented procedure switches keys without a refused or repeated job, and audits it", async () => {
    // The bot's first start makes key A.
    h = await startBot();
    const a = { kid: h.bot.signingKey.kid, public_key: base64url(h.bot.signingKey.publicKey) };
    // 1-2. Make key B; every agent pins A and B.
    const b = await keygen();
    agent = await pinning(h, { [a.kid]: a.public_key, [b.kid]: b.public_key });
    const before = await read(h, "before the rotation");
    await waitForStatus(h, before.id, "succeeded");

    // 3. Stop the bot, install B as its key file, start it again on the same state.
    await agent.stop();
    await h.stop();
    writeFileSync(join(dataDir, "bot", "signing-key.json"), `${JSON.stringify(b)}\n`, { mode: 0o600 });
    h = await startBot();
    assert.equal(h.bot.signingKey.kid, b.kid);
    agent = await pinning(h, { [a.kid]: a.public_key, [b.kid]: b.public_key });
    const afterwards = await read(h, "after the rotation");
    const done = await waitForStatus(h, afterwards.id, "succeeded");
    assert.equal(done.executions.length, 1);

    const published = (await (await fetch(`${h.url}/api/public-key`)).json()) as PublicKeysView;
    assert.deepEqual(
      published.keys.map((k) => k.kid),
      [b.kid],
      "agents are told to pin only the new key",
    );
    assert.deepEqual(
      published.retired.map((k) => [k.kid, k.public_key]),
      [[a.kid, a.public_key]],
    );

    const keyEvents = (await listAudit(h.bot.store))
      .filter((e) => e.action.startsWith("key."))
      .map((e) => [e.action, e.target, e.details.previous_kid ?? null]);
    assert.deepEqual(keyEvents, [
      ["key.created", `key:${a.kid}`, null],
      ["key.changed", `key:${b.kid}`, a.kid],
    ]);
    const first = (await h.call(await h.tokenFor("olga"), "GET", `/api/requests/${before.id}`))
      .body as RequestView;
    assert.equal(first.executions.length, 1, "the job from before the switch ran once");
    assert.equal((await verifyAuditStore(h.bot.store)).ok, true);

    // `dbward doctor` on the agent's config points at the key to remove once the switch is over.
    const config = join(dataDir, "agent.yml");
    writeFileSync(
      config,
      [
        "id: agent-1",
        `bot_url: ${h.url}`,
        "keys:",
        `  ${a.kid}: ${a.public_key}`,
        `  ${b.kid}: ${b.public_key}`,
        `data_dir: ${join(dataDir, "doctor-agent")}`,
        "databases:",
        "  - { name: shop, environment: staging, driver: postgres, url_env: PG_URL, operations: [read] }",
      ].join("\n"),
    );
    const out = captureOutput();
    const code = await main(["doctor", "--agent-config", config], { DBWARD_AGENT_TOKEN: "x", PG_URL }, out);
    const text = [...out.stdout, ...out.stderr].join("\n");
    assert.equal(code, EXIT.ok, text);
    assert.match(text, new RegExp(`no longer used by the bot: ${a.kid} \\(retired\\)`));
  });

  test("an agent that still pins only the old key refuses every new token, and nothing runs", async () => {
    assert.ok(h !== undefined);
    await agent?.stop();
    const retired = ((await (await fetch(`${h.url}/api/public-key`)).json()) as PublicKeysView).retired[0];
    assert.ok(retired !== undefined);
    agent = await pinning(h, { [retired.kid]: retired.public_key });
    const r = await read(h, "to an agent that missed step 2");
    const failed = await waitForStatus(h, r.id, "failed");
    assert.equal(failed.executions[0]?.error?.code, "token.unknown_key");
    assert.equal(failed.executions[0]?.row_count ?? null, null, "no rows: the SQL never ran");
  });

  test("after step 4 the agent pins only the new key, and jobs run", async () => {
    assert.ok(h !== undefined);
    await agent?.stop();
    agent = await pinning(h, { [h.bot.signingKey.kid]: base64url(h.bot.signingKey.publicKey) });
    const r = await read(h, "after step 4");
    await waitForStatus(h, r.id, "succeeded");
  });
});
