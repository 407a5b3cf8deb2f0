/**
 * V8 settings every dbward process starts with, set before anything large is loaded. Both were
 * measured on the results bench and the startup bench (docs/deployment.md, "Memory"):
 *
 * - `--liftoff-only` (V8 lists it among its testing flags; v8-tuning.test.ts fails if a Node
 *   upgrade drops it): libpg-query is WebAssembly. By default V8 recompiles its hot functions with
 *   TurboFan in the background, and that compilation keeps ~40 MB of resident memory in the bot
 *   and in the agent (a process that has reviewed a few hundred statements: 105 MB → 62 MB).
 *   Parsing with the baseline compiler alone costs 10–15% (66 → 72 µs a parse; the SQL review
 *   bench: ~19,500 → ~16,500 PostgreSQL statements/s), nothing next to a request's round trips.
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial size instead of
 *   growing to 16 MB per semi-space after start-up's burst of allocation, and growing never
 *   gives the memory back: the idle bot holds 91 MB instead of 111 MB. Scavenges come more often
 *   and each one is as cheap, since what they scan is what survives.
 *
 * Both flags are read when they are used (wasm compilation, young-generation growth), which is
 * why setting them at run time works; an operator's own NODE_OPTIONS still apply to the rest.
 */
import { setFlagsFromString } from "node:v8";

export const V8_FLAGS = ["--liftoff-only", "--semi-space-growth-factor=1"] as const;

export function tuneV8(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
