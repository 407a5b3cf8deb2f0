import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import { assertNumberOptions } from "./number-options.ts";

function refusal(parsed: Record<string, unknown>, argv: string[]): string | undefined {
  try {
    assertNumberOptions(parsed, ["timeout"], argv);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof CliError);
    assert.equal(err.exitCode, EXIT.usage);
    return err.message;
  }
}

describe("assertNumberOptions", () => {
  test("accepts decimal numbers of 0 or more, and an option not given", () => {
    for (const t of ["0", "10", "0.5", ".5", "1e3", "+2"])
      assert.equal(refusal({ timeout: Number(t) }, ["--timeout", t]), undefined, t);
    assert.equal(refusal({ timeout: 600 }, []), undefined);
  });

  test("refuses what is not a number of 0 or more, quoting it as typed", () => {
    for (const t of ["abc", "-1", "NaN", "Infinity", "", "0x10", "1,5"])
      assert.equal(
        refusal({ timeout: Number(t) }, [`--timeout=${t}`]),
        `--timeout takes a number of 0 or more, not ${JSON.stringify(t)}`,
      );
  });

  test("refuses a flag given no value, which yargs would read as its default", () => {
    assert.equal(
      refusal({ timeout: 600 }, ["--timeout"]),
      "--timeout takes a number of 0 or more; none was given",
    );
    assert.equal(
      refusal({ timeout: 600, json: true }, ["--timeout", "--json"]),
      "--timeout takes a number of 0 or more; none was given",
    );
  });

  test("checks the parsed value too, and ignores words after --", () => {
    assert.match(
      refusal({ timeout: Number.NaN }, []) ?? "",
      /--timeout takes a number of 0 or more, not "NaN"/,
    );
    assert.equal(refusal({ timeout: 5 }, ["--timeout", "5", "--", "--timeout", "x"]), undefined);
  });
});
