/**
 * The one encoding of an encrypted state value (docs/security-hardening.md, "Encrypted state at
 * rest"): AES-256-GCM from node:crypto, nothing hand-rolled. A sealed value is
 *
 *   magic "DBWS" (4) · version 0x01 (1) · data key id (8) · nonce (12, random per value) · tag (16) · ciphertext
 *
 * The additional authenticated data is the value's place — `<table>.<column>:<row id>` — so a
 * ciphertext copied into another row or column fails its tag instead of being shown there. The
 * key id is inside the bytes, so a store holding several data keys opens each value with its own.
 * Text columns hold `dbward-sealed:` + base64 of the same bytes.
 */
import { DbwardError } from "@dbward/shared";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const MAGIC = Buffer.from("DBWS", "latin1");
const VERSION = 1;
export const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEAD = MAGIC.length + 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;

/** What a sealed text column value starts with; a clear value written before encryption does not. */
export const SEALED_TEXT_PREFIX = "dbward-sealed:";

/** A data key: 32 bytes for AES-256 and its id (hex of 8 bytes). */
export interface DataKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Thrown when a sealed value does not open: a wrong key, a changed byte, or a moved ciphertext. */
export class UnsealError extends DbwardError {
  constructor(place: string, why: string) {
    // A DbwardError, so an API caller gets the code (500 state.undecryptable), not `internal`.
    super(
      "state.undecryptable",
      `state.undecryptable: the encrypted value of ${place} does not open (${why}); it is not shown`,
    );
  }
}

export function isSealedBytes(data: Buffer): boolean {
  return data.length >= HEAD && data.subarray(0, MAGIC.length).equals(MAGIC);
}

export function isSealedText(value: string): boolean {
  return value.startsWith(SEALED_TEXT_PREFIX);
}

/** Seals `clear` under `key` for the place `aad` names. */
export function sealBytes(key: DataKey, aad: string, clear: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = cipher.update(clear);
  const final = cipher.final();
  const head = Buffer.allocUnsafe(MAGIC.length + 1);
  MAGIC.copy(head, 0);
  head[MAGIC.length] = VERSION;
  return Buffer.concat([head, Buffer.from(key.id, "hex"), nonce, cipher.getAuthTag(), body, final]);
}

/** The data key id a sealed value names. */
export function sealedKeyId(sealed: Buffer): string {
  return sealed.subarray(MAGIC.length + 1, MAGIC.length + 1 + KEY_ID_BYTES).toString("hex");
}

/** Opens a sealed value with the key it names; throws UnsealError naming `aad` otherwise. */
export function openBytes(keyOf: (id: string) => Buffer | undefined, aad: string, sealed: Buffer): Buffer {
  if (!isSealedBytes(sealed)) throw new UnsealError(aad, "not a sealed value");
  const version = sealed[MAGIC.length];
  if (version !== VERSION) throw new UnsealError(aad, `unknown format version ${String(version)}`);
  const id = sealedKeyId(sealed);
  const key = keyOf(id);
  if (key === undefined) throw new UnsealError(aad, `data key ${id} is not in this store`);
  let at = MAGIC.length + 1 + KEY_ID_BYTES;
  const nonce = sealed.subarray(at, (at += NONCE_BYTES));
  const tag = sealed.subarray(at, (at += TAG_BYTES));
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(tag);
  try {
    // GCM's final() checks the tag and yields no bytes: no concat, no second copy of a 4 MiB chunk.
    const clear = decipher.update(sealed.subarray(at));
    decipher.final();
    return clear;
  } catch {
    throw new UnsealError(aad, "authentication failed: changed, or moved from another row");
  }
}

export function sealText(key: DataKey, aad: string, clear: string): string {
  return SEALED_TEXT_PREFIX + sealBytes(key, aad, Buffer.from(clear, "utf8")).toString("base64");
}

export function openText(keyOf: (id: string) => Buffer | undefined, aad: string, sealed: string): string {
  const bytes = Buffer.from(sealed.slice(SEALED_TEXT_PREFIX.length), "base64");
  return openBytes(keyOf, aad, bytes).toString("utf8");
}
