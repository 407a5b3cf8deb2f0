/**
 * "Did you mean …?" for a mistyped name: the closest of the names that would have been accepted,
 * by edit distance, or nothing when none is close enough to be a likely typo. Used for CLI
 * commands and flags and for unknown keys in the bot's and the agent's config files, where the
 * accepted keys are read from the zod schema itself, so a new key can never be missing from the
 * suggestions. Pure: no I/O.
 */
import type { z } from "zod";

/**
 * Edit distance with adjacent transpositions (optimal string alignment): `tiemout` is one edit
 * from `timeout`, as a slip of two fingers is one mistake, not two.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}

/**
 * The candidate closest to `word` (case-insensitive), when it is within a third of the word's
 * length (at least one edit) — close enough to be a typo, far enough that `db` never suggests
 * `env`. Ties go to the earlier candidate; an exact match is not a suggestion.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const typed = word.toLowerCase();
  const limit = Math.max(1, Math.floor(typed.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(typed, name.toLowerCase());
    if (distance === 0 || distance > limit) continue;
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}

/**
 * The keys the object schema at `path` accepts, for an `unrecognized_keys` issue (whose path
 * names the object holding the unknown key). Walks through defaults, optionals, arrays, records,
 * pipes and unions; where a union offers several objects, their keys together. Empty when the
 * path does not lead to an object schema.
 */
export function schemaKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let here: z.core.$ZodType[] = [schema];
  for (const segment of path) here = here.flatMap((s) => childrenOf(s, segment));
  return [...new Set(here.flatMap((s) => objectsIn(s).flatMap((o) => Object.keys(o._zod.def.shape))))];
}

/** The schemas a value at `segment` inside a value of schema `s` is checked against. */
function childrenOf(s: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType[] {
  return objectsOrContainers(s).flatMap((inner) => {
    const def = inner._zod.def;
    if (def.type === "object") {
      const child = (def as z.core.$ZodObjectDef).shape[String(segment)];
      return child === undefined ? [] : [child];
    }
    if (def.type === "array")
      return typeof segment === "number" ? [(def as z.core.$ZodArrayDef).element] : [];
    if (def.type === "record") return [(def as z.core.$ZodRecordDef).valueType];
    return [];
  });
}

/** `s` with its wrappers taken off: the objects, arrays and records it may stand for. */
function objectsOrContainers(s: z.core.$ZodType): z.core.$ZodType[] {
  const def = s._zod.def;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
    case "nonoptional":
      return objectsOrContainers((def as z.core.$ZodOptionalDef).innerType);
    case "pipe": {
      const pipe = def as z.core.$ZodPipeDef;
      return [...objectsOrContainers(pipe.in), ...objectsOrContainers(pipe.out)];
    }
    case "union":
      return (def as z.core.$ZodUnionDef).options.flatMap(objectsOrContainers);
    case "lazy":
      return objectsOrContainers((def as z.core.$ZodLazyDef).getter());
    case "object":
    case "array":
    case "record":
      return [s];
    default:
      return [];
  }
}

function objectsIn(s: z.core.$ZodType): z.core.$ZodObject[] {
  return objectsOrContainers(s).filter((o): o is z.core.$ZodObject => o._zod.def.type === "object");
}
