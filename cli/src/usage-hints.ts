/**
 * "Did you mean …?" for yargs' refusals: `dbward requst` → `request`, `--tiemout` → `--timeout`.
 * yargs reports an unknown word or flag without the names it would have accepted (and reports a
 * missing required option before a mistyped one), so the commands and options of the command
 * being parsed are recorded as it is parsed (by a middleware that runs before validation) and
 * the refusal is completed from them and from the command line as typed.
 */
import { didYouMean } from "@dbward/shared/did-you-mean";

/** The names a command accepts: its subcommands and its options (with their aliases). */
export interface CommandNames {
  readonly commands: readonly string[];
  readonly options: readonly string[];
}

const UNKNOWN = /^Unknown arguments?: (.+)$/;

/**
 * yargs' message with a hint for each mistyped word (named unknown by the message) or flag (any
 * flag on the command line the command does not take) that is close to a name the command
 * accepts; the message unchanged when there is none.
 */
export function withHints(message: string, names: CommandNames | undefined, argv: readonly string[]): string {
  if (names === undefined) return message;
  const flags = unknownFlags(argv, names.options);
  const words = (UNKNOWN.exec(message)?.[1]?.split(", ") ?? []).filter((w) => !flags.includes(w));
  const hints: string[] = [];
  const hint = (typed: string, meant: string | undefined): void => {
    if (meant !== undefined) hints.push(`\`${typed}\`: did you mean \`${meant}\`?`);
  };
  const longOptions = names.options.filter((o) => o.length > 1);
  for (const flag of flags) {
    const meant = didYouMean(flag, longOptions);
    hint(`--${flag}`, meant === undefined ? undefined : `--${meant}`);
  }
  for (const word of words) hint(word, didYouMean(word, names.commands));
  return [message, ...hints].join("\n");
}

/** The `--name` flags in `argv` (before `--`) that are not among `options`. */
function unknownFlags(argv: readonly string[], options: readonly string[]): string[] {
  const end = argv.indexOf("--");
  const known = new Set(options.flatMap((o) => [o, kebab(o)]));
  return (end === -1 ? argv : argv.slice(0, end))
    .filter((a) => a.startsWith("--") && a.length > 2)
    .map((a) => a.slice(2).split("=")[0] ?? "")
    .filter((name) => !known.has(name) && !known.has(name.replace(/^no-/, "")) && !known.has(kebab(name)));
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
