/**
 * `dbward audit verify` with signed checkpoints: offline, with only the bot's public key. Verifies
 * the store in `--data-dir` or `--state-url` (from its retained anchor, whose signature is checked) or an NDJSON
 * export (`--export FILE`, `-` for stdin), against the export's own checkpoint and every
 * `--checkpoint FILE` kept elsewhere — the kept ones are what reveal deleted newest events.
 *
 * Exit codes: 0 verified; 6 (auditBroken) for any edit, deletion, reordering, truncation, bad
 * signature or malformed export; 1 when a checkpoint cannot be checked (no key for its key id, or
 * older than the retained events); 2 for unreadable files or keys.
 */
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  verifyExport,
  verifyStoreAgainstCheckpoints,
  type ExportVerdict,
} from "@dbward/bot/audit/verify-export";
import {
  parseCheckpoint,
  parsePublicKey,
  type SignedCheckpoint,
  type TrustedKey,
  type TrustedKeys,
} from "@dbward/shared";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";
import { withState, type StateSource } from "../read-state.ts";

export interface SignedVerifyOptions {
  readonly state: StateSource;
  readonly export: string | undefined;
  readonly checkpoint: readonly string[];
  readonly publicKey: readonly string[];
  readonly json: boolean;
}

export async function verifySigned(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  o: SignedVerifyOptions,
): Promise<void> {
  if (o.publicKey.length === 0) {
    throw new CliError(
      "checking signed checkpoints needs the bot's public keys: pass --public-key with the saved GET /api/public-key answer (its checkpoint_keys, bounds included); an agent's keys: line is the token key, which vouches for no checkpoint",
      EXIT.usage,
    );
  }
  const keys = readTrustedKeys(o.publicKey);
  const kept = o.checkpoint.map(readCheckpointFile);
  const verdict =
    o.export !== undefined
      ? await verifyExport(readLines(o.export), keys, kept)
      : await withState(o.state, env, (store) => verifyStoreAgainstCheckpoints(store, keys, kept));
  if (o.json) out.print(JSON.stringify(verdict));
  if (!verdict.ok) {
    const inconclusive = verdict.reason === "unknown_key" || verdict.reason === "not_covered";
    const where = "seq" in verdict ? `at sequence ${verdict.seq}` : `at line ${verdict.line}`;
    throw new CliError(
      inconclusive
        ? `audit chain NOT VERIFIED: ${verdict.message}`
        : `audit chain BROKEN ${where}: ${verdict.reason}: ${verdict.message}`,
      inconclusive ? EXIT.failure : EXIT.auditBroken,
    );
  }
  if (!o.json) out.print(describe(verdict));
}

function describe(v: Extract<ExportVerdict, { ok: true }>): string {
  const from =
    v.anchorSeq === undefined ? "from the first event" : `from the signed anchor at ${v.anchorSeq}`;
  const cps =
    v.checkpoints.length === 0
      ? "no signed checkpoint"
      : `signed checkpoint(s) at ${v.checkpoints.join(", ")}`;
  return `audit chain verified: ${v.count} events ${from} up to ${v.lastSeq} (head ${v.lastHash.slice(0, 16)}…), against ${cps}`;
}

/**
 * `--public-key` values: `BASE64URL`, `KID:BASE64URL`, or a file holding either, or the JSON that
 * `GET /api/public-key` answers.
 */
export function readTrustedKeys(values: readonly string[]): TrustedKeys {
  const byKid = new Map<string, TrustedKey>();
  const anyKid: Uint8Array[] = [];
  for (const value of values) {
    for (const [kid, text, untilSeq] of keyTexts(value)) {
      const key = parsePublicKey(kid ?? "-", text);
      if (key === undefined)
        throw new CliError(
          `--public-key ${value}: not an Ed25519 public key (base64url, 32 bytes)`,
          EXIT.usage,
        );
      if (kid === undefined) anyKid.push(key.publicKey);
      else byKid.set(kid, untilSeq === undefined ? key : { ...key, untilSeq });
    }
  }
  return { byKid, anyKid };
}

/** Key id, key text, and the `until_seq` bound the public-key answer gives a token key that signed checkpoints once. */
function keyTexts(value: string): [string | undefined, string, number?][] {
  if (existsSync(value)) {
    const text = readFileSync(value, "utf8").trim();
    if (text.startsWith("{")) {
      let parsed: {
        keys?: { kid?: unknown; public_key?: unknown; until_seq?: unknown }[];
        checkpoint_keys?: typeof parsed.keys;
      };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch (err) {
        throw new CliError(`--public-key ${value}: ${(err as Error).message}`, EXIT.usage);
      }
      // A bot that keeps a checkpoint key lists it apart (checkpoint_keys); an older answer has one key for both.
      return (parsed.checkpoint_keys ?? parsed.keys ?? []).flatMap((k) =>
        typeof k.kid === "string" && typeof k.public_key === "string"
          ? [
              [
                k.kid,
                k.public_key,
                Number.isSafeInteger(k.until_seq) ? (k.until_seq as number) : undefined,
              ] as [string, string, number?],
            ]
          : [],
      );
    }
    return keyTexts(text);
  }
  const m = /^([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_-]+)$/.exec(value.trim());
  return m === null ? [[undefined, value.trim()]] : [[m[1], m[2] as string]];
}

/** A checkpoint file: the bare checkpoint, `{ "checkpoint": … }` from the API, or an export line. */
export function readCheckpointFile(path: string): SignedCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`cannot read checkpoint ${path}: ${(err as Error).message}`, EXIT.usage);
  }
  const inner =
    typeof value === "object" && value !== null && "checkpoint" in value ? value.checkpoint : value;
  const cp = parseCheckpoint(inner);
  if (cp === undefined) throw new CliError(`${path} is not a dbward audit checkpoint`, EXIT.usage);
  return cp;
}

function readLines(path: string): AsyncIterable<string> {
  if (path !== "-" && !existsSync(path))
    throw new CliError(`cannot read export ${path}: no such file`, EXIT.usage);
  const input = path === "-" ? process.stdin : createReadStream(path, "utf8");
  return createInterface({ input, crlfDelay: Infinity });
}
