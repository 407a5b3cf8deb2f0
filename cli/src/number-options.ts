/**
 * Every option declared `type: "number"` takes a finite number of 0 or more, written in decimal.
 * yargs turns text that is not a number into NaN, an empty value into 0 and a flag given no value
 * into its default (or nothing), and lets each through (`request wait --timeout abc` waited NaN ms, that is
 * not at all); this check, run on every command as middleware, refuses them with a usage error
 * naming the option, before any handler runs. No dbward option takes a negative number: they
 * are timeouts, counts and sequence numbers.
 */
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

const DECIMAL = /^\s*\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/**
 * Throws a usage error for the first number option that was typed as something other than a
 * number of 0 or more, or whose parsed value is not one. `numberKeys` are the option names
 * yargs parsed as numbers; `argv` is the command line as typed.
 */
export function assertNumberOptions(
  parsed: Readonly<Record<string, unknown>>,
  numberKeys: readonly string[],
  argv: readonly string[],
): void {
  for (const key of numberKeys) {
    for (const typed of typedValues(argv, key)) {
      if (typed === undefined)
        throw new CliError(`--${key} takes a number of 0 or more; none was given`, EXIT.usage);
      if (!DECIMAL.test(typed) || !isCount(Number(typed))) throw refusal(key, typed);
    }
    for (const value of ([] as unknown[]).concat(parsed[key] ?? [])) {
      if (!isCount(value)) throw refusal(key, String(value));
    }
  }
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function refusal(key: string, typed: string): CliError {
  return new CliError(`--${key} takes a number of 0 or more, not ${JSON.stringify(typed)}`, EXIT.usage);
}

/** What followed each `--key` (or `--key=`) before `--`; undefined where no value followed. */
function typedValues(argv: readonly string[], key: string): (string | undefined)[] {
  const end = argv.indexOf("--");
  const words = end === -1 ? argv : argv.slice(0, end);
  const values: (string | undefined)[] = [];
  words.forEach((arg, i) => {
    if (arg.startsWith(`--${key}=`)) values.push(arg.slice(key.length + 3));
    else if (arg === `--${key}`) {
      const next = words[i + 1];
      values.push(next === undefined || /^--?[a-z]/i.test(next) ? undefined : next);
    }
  });
  return values;
}
