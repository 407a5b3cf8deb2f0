/**
 * First-start credentials survive a start that fails: a real `dbward bot` whose port is taken
 * exits without committing the generated tokens, so the start that first listens prints them
 * and they work.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort, killAllProcesses, spawnDbward } from "./support/processes.ts";

after(() => killAllProcesses());

const occupy = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });

/** A free port, a bot config for an admin and one agent listening on it, and `dbward bot`'s arguments. */
async function botArgs(dir: string): Promise<{ port: number; args: string[] }> {
  const port = await freePort();
  const config = join(dir, "bot.yml");
  writeFileSync(
    config,
    `
listen: { host: 127.0.0.1, port: ${port} }
databases: [{ name: shop, dialect: postgres, environments: [staging] }]
workflows: [{ name: reads-auto, operations: [read], auto_approve: always }]
users: [{ id: root, name: Root, roles: [admin] }]
agents: [{ id: agent-1 }]
`,
  );
  return { port, args: ["bot", "--config", config, "--data-dir", join(dir, "bot")] };
}

test("a start that fails on a taken port commits no bootstrap tokens; the next start prints usable ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bootstrap-"));
  try {
    const { port, args } = await botArgs(dir);
    const squatter = await occupy(port);
    const failed = spawnDbward(args, {});
    assert.notEqual(await failed.exited, 0, "the first start fails on the taken port");
    assert.doesNotMatch(failed.stderr(), /generated .* token/);
    await new Promise<void>((resolve) => squatter.close(() => resolve()));

    const bot = spawnDbward(args, {});
    const printed = await printedTokens(bot.stderr);
    const url = `http://127.0.0.1:${port}`;
    const users = await fetch(`${url}/api/users`, { headers: { authorization: `Bearer ${printed.admin}` } });
    assert.equal(users.status, 200, "the printed admin token works");
    const poll = await fetch(`${url}/api/agent/poll`, {
      method: "POST",
      headers: { authorization: `Bearer ${printed.agent}`, "content-type": "application/json" },
      body: JSON.stringify({ capabilities: [], wait_ms: 0 }),
    });
    assert.equal(poll.status, 200, "the printed agent token works");
    bot.child.kill("SIGTERM");
    await bot.exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The admin and agent tokens the bot prints once, waited for on its standard error. */
async function printedTokens(stderr: () => string): Promise<{ admin: string; agent: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const admin = /generated user token for root [^:]*: (\S+)/.exec(stderr())?.[1];
    const agent = /generated agent token for agent-1 [^:]*: (\S+)/.exec(stderr())?.[1];
    if (admin !== undefined && agent !== undefined) return { admin, agent };
    if (Date.now() > deadline) assert.fail(`no bootstrap tokens printed; stderr: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a token in the environment that is not one (a typo, the agent's in the admin's place) stops the start with the variable's name, and stores nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-bootstrap-"));
  try {
    const { args } = await botArgs(dir);
    const agentShaped = `dbwa_${"A".repeat(43)}`;
    for (const [env, named] of [
      [{ DBWARD_ADMIN_TOKEN: "dbw_short" }, "DBWARD_ADMIN_TOKEN"],
      [{ DBWARD_ADMIN_TOKEN: agentShaped }, "DBWARD_ADMIN_TOKEN"],
      [{ DBWARD_AGENT_TOKEN_AGENT_1: `dbw_${"B".repeat(43)}` }, "DBWARD_AGENT_TOKEN_AGENT_1"],
    ] as const) {
      const bot = spawnDbward(args, env);
      assert.notEqual(await bot.exited, 0);
      assert.match(
        bot.stderr(),
        new RegExp(`${named} is not a dbward (user|agent) token: it must look like dbwa?_<43`),
      );
      assert.doesNotMatch(bot.stderr(), /TypeError|\n\s+at /, "a message, not a stack trace");
    }
    // The next start with no such variable generates and prints both, as on a first start.
    const bot = spawnDbward(args, {});
    const printed = await printedTokens(bot.stderr);
    assert.match(printed.admin, /^dbw_/);
    bot.child.kill("SIGTERM");
    await bot.exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
