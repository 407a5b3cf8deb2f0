/**
 * Where the key-encryption key (KEK) of the state store comes from. The KEK never encrypts data:
 * it wraps the data keys the state store holds (state_keys), so a new KEK re-wraps a few rows and
 * rewrites no data. `KeyEncryptionKey` is the seam a KMS or HSM fills later: `wrap`/`unwrap` are
 * all the store asks of it, and a cloud KMS's Encrypt/Decrypt (or a PKCS#11 wrap/unwrap) has that
 * shape. The one provider today is a 32-byte key from the environment.
 *
 *   DBWARD_STATE_KEY / DBWARD_STATE_KEY_FILE                    the KEK (base64 of 32 bytes)
 *   DBWARD_STATE_KEY_PREVIOUS / DBWARD_STATE_KEY_PREVIOUS_FILE  the KEK being rotated away from
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { openBytes, sealBytes } from "./sealed-value.ts";

export interface KeyEncryptionKey {
  /** A fingerprint naming this KEK in state_keys.kek_id; reveals nothing of the key. */
  readonly id: string;
  /** Wraps data key `dataKeyId`'s bytes; the result names this KEK. */
  wrap(dataKeyId: string, key: Buffer): Promise<Buffer>;
  /** Unwraps what `wrap` made; throws when this KEK did not wrap it or it was changed. */
  unwrap(dataKeyId: string, wrapped: Buffer): Promise<Buffer>;
}

/** The KEKs the environment names: none (a clear store), the current one, and one being retired. */
export interface KekSource {
  readonly current: KeyEncryptionKey | undefined;
  readonly previous: KeyEncryptionKey | undefined;
}

const KEY_BYTES = 32;

/** A KEK held in this process (from the environment or a file), wrapping with AES-256-GCM. */
export function localKek(key: Buffer): KeyEncryptionKey {
  if (key.length !== KEY_BYTES) throw new Error(`a state key is ${KEY_BYTES} bytes, not ${key.length}`);
  const id = createHash("sha256").update("dbward state kek\0").update(key).digest("hex").slice(0, 16);
  const own = Buffer.from(key);
  const aad = (dataKeyId: string): string => `state_keys.wrapped:${dataKeyId}`;
  return Object.freeze({
    id,
    // async: a failure is a rejection, as it is from a KMS call.
    wrap: async (dataKeyId: string, dataKey: Buffer) => sealBytes({ id, key: own }, aad(dataKeyId), dataKey),
    unwrap: async (dataKeyId: string, wrapped: Buffer) =>
      openBytes((k) => (k === id ? own : undefined), aad(dataKeyId), wrapped),
    // A KEK printed by accident (a logged error, a debugger) shows its id only.
    toJSON: () => ({ kek: id }),
    toString: () => `[state key ${id}]`,
  });
}

/** The KEKs of `env`; throws naming the variable when one is set but is not a 32-byte base64 key. */
export function kekFromEnvironment(env: Readonly<Record<string, string | undefined>>): KekSource {
  return {
    current: readKek(env, "DBWARD_STATE_KEY"),
    previous: readKek(env, "DBWARD_STATE_KEY_PREVIOUS"),
  };
}

function readKek(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): KeyEncryptionKey | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== "" && file !== undefined && file !== "")
    throw new Error(`config.invalid: set ${name} or ${name}_FILE, not both`);
  let text: string;
  if (direct !== undefined && direct !== "") text = direct;
  else if (file !== undefined && file !== "") {
    try {
      // Like the signing key and the HSM PIN file: a key others can read is refused, not used.
      const mode = statSync(file).mode;
      if (process.platform !== "win32" && (mode & 0o077) !== 0)
        throw new Error(
          `config.invalid: ${name}_FILE (${file}) is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it and rotate the key if it may have leaked`,
        );
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as Error).message.startsWith("config.invalid")) throw err;
      throw new Error(`config.invalid: ${name}_FILE (${file}) cannot be read: ${(err as Error).message}`);
    }
  } else return undefined;
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) || key.length !== KEY_BYTES)
    throw new Error(
      `config.invalid: ${name} must be the base64 of ${KEY_BYTES} random bytes (make one with: openssl rand -base64 32)`,
    );
  return localKek(key);
}

/**
 * What a start says when DBWARD_STATE_KEY_PREVIOUS is still set once the store is unlocked: every
 * data key is then wrapped by the current key, so the previous one is needed by nothing; left set,
 * someone holding that retired key and able to write the state could slip a data key of their own
 * into state_keys wrapped by it, and the next start would adopt it.
 */
export function retiredKeyWarning(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const set = (name: string): boolean => (env[name] ?? "") !== "";
  if (!set("DBWARD_STATE_KEY_PREVIOUS") && !set("DBWARD_STATE_KEY_PREVIOUS_FILE")) return undefined;
  return "DBWARD_STATE_KEY_PREVIOUS is set but no data key needs it any more (rotation is done): remove it at the next restart and destroy the old key";
}
