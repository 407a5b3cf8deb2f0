/** `dbward review`: SQL review from stdin for people, scripts and CI. */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { EXIT } from "../cli/src/exit-codes.ts";
import { main } from "../cli/src/main.ts";
import { captureOutput } from "./support/capture-output.ts";

const run = async (args: string[], input: string) => {
  const out = captureOutput();
  const code = await main(["review", ...args], {}, out, Readable.from([input]));
  return { code, out };
};

describe("dbward review", () => {
  test("prints class, risk and findings for a person", async () => {
    const { code, out } = await run([], "UPDATE orders SET status = 'x' WHERE id = 1");
    assert.equal(code, EXIT.ok);
    assert.match(out.stdout.join("\n"), /class: write/);
  });

  test("exits with the refused code when a finding blocks, so CI can gate on it", async () => {
    const { code, out } = await run(["--json"], "DELETE FROM orders");
    assert.equal(code, EXIT.refused);
    const parsed = JSON.parse(out.stdout[0] ?? "{}") as { class: string; findings: { rule: string }[] };
    assert.equal(parsed.class, "write");
    assert.ok(parsed.findings.some((f) => f.rule === "no_where_delete"));
  });

  test("answers one line per input line in order with --ndjson, and an error object for a bad line", async () => {
    const { code, out } = await run(
      ["--ndjson", "--dialect", "mysql"],
      '{"sql":"SELECT 1"}\nnot json\n{"sql":"SELECT SLEEP(5)"}\n',
    );
    assert.equal(code, EXIT.ok);
    const lines = out.stdout.map((l) => JSON.parse(l) as { class?: string; error?: { code: string } });
    assert.equal(lines.length, 3);
    assert.equal(lines[0]?.class, "read");
    assert.equal(lines[1]?.error?.code, "request.invalid");
    assert.notEqual(lines[2]?.class, "read", "SLEEP has a side effect and is never a read");
  });

  test("refuses an unknown dialect as a usage error", async () => {
    const { code } = await run(["--dialect", "oracle"], "SELECT 1");
    assert.equal(code, EXIT.usage);
  });
});
