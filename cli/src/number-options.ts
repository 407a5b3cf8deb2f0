/**
 * Every option declared `type: "number"` takes a finite number of 0 or more. yargs turns text
 * that is not a number into NaN and lets it through (`request wait --timeout abc` would wait
 * NaN ms, that is not at all); this check, run on every command as middleware, refuses it with a
 * usage error naming the option, before any handler runs. No dbward option takes a negative
 * number: they are timeouts, counts and sequence numbers.
 */
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

/**
 * Throws a usage error for the first number option in `parsed` that is NaN, infinite or
 * negative. `numberKeys` are the option names yargs parsed as numbers; `argv` is the command
 * line as typed, to quote what was given.
 */
export function assertNumberOptions(
  parsed: Readonly<Record<string, unknown>>,
  numberKeys: readonly string[],
  argv: readonly string[],
): void {
  for (const key of numberKeys) {
    const values = ([] as unknown[]).concat(parsed[key] ?? []);
    for (const value of values) {
      if (typeof value === "number" && Number.isFinite(value) && value >= 0) continue;
      const typed = typedValue(argv, key);
      throw new CliError(
        `--${key} takes a number of 0 or more${typed === undefined ? "" : `, not ${JSON.stringify(typed)}`}`,
        EXIT.usage,
      );
    }
  }
}

/** What followed `--key` (or `--key=`) on the command line, as typed. */
function typedValue(argv: readonly string[], key: string): string | undefined {
  for (let i = argv.length - 1; i >= 0; i--) {
    const arg = argv[i] ?? "";
    if (arg.startsWith(`--${key}=`)) return arg.slice(key.length + 3);
    if (arg === `--${key}`) return argv[i + 1];
  }
  return undefined;
}
