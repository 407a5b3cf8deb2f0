/**
 * How the CLI answers input it cannot use: a mistyped command or flag names the one probably
 * meant; a number option given something that is not a number of 0 or more is refused, naming
 * the option, before the command runs (an API command would otherwise reach the bot: exit 7
 * here, where nothing listens). And the completion script `dbward completion` prints.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";
import { DBWARD_BIN } from "./support/processes.ts";

/** Where no bot listens: an API command that got past parsing exits 7 (unreachable). */
const NO_BOT = { DBWARD_URL: "http://127.0.0.1:9", DBWARD_TOKEN: "dbw_x" };
const dir = mkdtempSync(join(tmpdir(), "dbward-cli-usage-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[], env: Record<string, string> = NO_BOT) {
  const out = captureOutput();
  const code = await main(argv, env, out);
  return { code, out: out.stdout.join("\n"), err: out.stderr.join("\n") };
}

describe("did you mean", () => {
  test("a mistyped command names the command", async () => {
    const r = await cli(["requst", "list"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /Unknown arguments: requst, list\n`requst`: did you mean `request`\?/);
  });

  test("a mistyped subcommand names the subcommand of that command", async () => {
    const r = await cli(["request", "wiat", "3"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /`wiat`: did you mean `wait`\?/);
  });

  test("a mistyped flag names the flag the command takes", async () => {
    const r = await cli(["request", "wait", "3", "--tiemout", "5"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /Unknown argument: tiemout\n`--tiemout`: did you mean `--timeout`\?/);
  });

  test("a mistyped required flag is named beside yargs' 'missing' message", async () => {
    const r = await cli(["bot", "--confg", "bot.yml"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /Missing required argument: config\n`--confg`: did you mean `--config`\?/);
  });

  test("each of several typos gets its own suggestion", async () => {
    const r = await cli(["request", "create", "--db", "d", "--env", "e", "--sqll", "S", "--reasn", "R"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /`--sqll`: did you mean `--sql`\?/);
    assert.match(r.err, /`--reasn`: did you mean `--reason`\?/);
  });

  test("a word close to nothing the command takes gets no guess", async () => {
    const r = await cli(["frobnicate"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /Unknown argument: frobnicate/);
    assert.doesNotMatch(r.err, /did you mean/);
  });
});

describe("number options", () => {
  // Every option of the CLI declared as a number, with a command line that reaches it.
  const options: [string, string[]][] = [
    ["--timeout", ["request", "wait", "3"]],
    ["--limit", ["request", "result", "3"]],
    ["--expires-in-days", ["token", "create", "--name", "ci"]],
    ["--after", ["audit", "list"]],
    ["--limit", ["audit", "list"]],
    ["--timeout", ["reload", "--data-dir", join(dir, "no-bot")]],
  ];
  for (const [flag, argv] of options) {
    for (const value of ["abc", "-1", "NaN", "Infinity", "", "0x10"]) {
      test(`${argv.filter((a) => /^[a-z]+$/.test(a)).join(" ")} ${flag} ${JSON.stringify(value)} is refused, naming the option`, async () => {
        const r = await cli([...argv, `${flag}=${value}`]);
        assert.equal(r.code, EXIT.usage, r.err);
        assert.equal(r.err, `dbward: ${flag} takes a number of 0 or more, not "${value}"`);
      });
    }
  }

  test("the value is quoted as typed when it follows the flag as its own word", async () => {
    const r = await cli(["request", "wait", "3", "--timeout", "soon"]);
    assert.equal(r.code, EXIT.usage);
    assert.equal(r.err, 'dbward: --timeout takes a number of 0 or more, not "soon"');
  });

  test("a number flag given no value is refused, not taken as absent", async () => {
    for (const argv of [
      ["request", "wait", "3", "--timeout"],
      ["request", "wait", "3", "--timeout", "--json"],
    ]) {
      const r = await cli(argv);
      assert.equal(r.code, EXIT.usage, argv.join(" "));
      assert.equal(r.err, "dbward: --timeout takes a number of 0 or more; none was given");
    }
  });

  test("a good number goes through to the command (which then finds no bot)", async () => {
    for (const t of ["0.5", ".5", "1e2", "600"])
      assert.equal((await cli(["request", "wait", "3", "--timeout", t])).code, EXIT.unreachable, t);
    assert.equal((await cli(["audit", "list", "--after", "0", "--limit", "10"])).code, EXIT.unreachable);
    const reload = await cli(["reload", "--data-dir", join(dir, "no-bot"), "--timeout", "0"]);
    assert.equal(reload.code, EXIT.notFound, reload.err);
  });
});

describe("dbward completion", () => {
  const run = promisify(execFile);
  const dbward = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [DBWARD_BIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });

  test("prints a bash completion script that asks dbward for its completions", async () => {
    const { stdout } = await dbward(["completion"], { SHELL: "/bin/bash" });
    assert.match(stdout, /###-begin-dbward-completions-###/);
    assert.match(stdout, /dbward --get-yargs-completions/);
    assert.match(stdout, /complete -o bashdefault -o default -F _dbward_yargs_completions dbward/);
  });

  test("prints a zsh script under zsh", async () => {
    const { stdout } = await dbward(["completion"], { SHELL: "/bin/zsh" });
    assert.match(stdout, /#compdef dbward/);
  });

  test("completes commands, subcommands and a subcommand's flags", async () => {
    const top = (await dbward(["--get-yargs-completions", ""])).stdout.split("\n");
    for (const c of ["request", "audit", "doctor", "completion"]) assert.ok(top.includes(c), c);
    const sub = (await dbward(["--get-yargs-completions", "request", ""])).stdout.split("\n");
    for (const c of ["create", "show", "wait"]) assert.ok(sub.includes(c), c);
    const flags = (await dbward(["--get-yargs-completions", "request", "wait", "--"])).stdout.split("\n");
    assert.ok(flags.includes("--timeout"), flags.join(" "));
  });
});
