import { ed25519 } from "@noble/curves/ed25519.js";
import { base64url, fromBase64url, sha256Hex } from "./encoding.ts";

/**
 * Ed25519 keys (RFC 8032) as dbward stores and pins them. A key id is derived from the public key
 * (first 16 hex characters of its SHA-256) unless an operator names one, so an agent config line
 * `kid: base64url-public-key` is self-checking.
 */
export interface SigningKey {
  readonly kid: string;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface PublicKey {
  readonly kid: string;
  readonly publicKey: Uint8Array;
}

/** A fresh key pair from the platform's CSPRNG. */
export function generateSigningKey(kid?: string): SigningKey {
  const secretKey = ed25519.utils.randomSecretKey();
  return signingKeyFromSecret(secretKey, kid);
}

export function signingKeyFromSecret(secretKey: Uint8Array, kid?: string): SigningKey {
  if (secretKey.length !== 32) throw new TypeError("an Ed25519 secret key is 32 bytes");
  const publicKey = ed25519.getPublicKey(secretKey);
  return { kid: kid ?? deriveKeyId(publicKey), secretKey, publicKey };
}

export function deriveKeyId(publicKey: Uint8Array): string {
  return sha256Hex(publicKey).slice(0, 16);
}

/**
 * Parses a base64url public key (32 bytes); undefined when it is not one. The bytes must be the
 * canonical encoding of a curve point (RFC 8032 §5.1.3) of more than small order: a small-order
 * "key" such as 32 zero bytes (a tempting placeholder in a config file) admits a signature that
 * verifies for every message, so it is refused here as well as in `verifySignature`.
 */
export function parsePublicKey(kid: string, text: string): PublicKey | undefined {
  const bytes = fromBase64url(text.trim());
  return bytes?.length === 32 && isStrongPublicKey(bytes) ? { kid, publicKey: bytes } : undefined;
}

function isStrongPublicKey(bytes: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return false;
  }
}

export function encodePublicKey(key: PublicKey): string {
  return base64url(key.publicKey);
}

/** Ed25519 signature of `message`. */
export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, key.secretKey);
}

/**
 * True only for a valid 64-byte signature; malformed input is `false`, never an exception.
 *
 * Verification is strict RFC 8032 §5.1.7 (`zip215: false`): non-canonical point encodings and
 * small-order public keys are refused. The library's default (ZIP-215) accepts a small-order key,
 * and with one the signature (identity point, S = 0) verifies for any message — a universal
 * forgery if such a key were ever pinned.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!isBytes(publicKey, 32) || !isBytes(signature, 64) || !isBytes(message)) return false;
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

/**
 * What a key signs. The bot keeps one key (and key id) per purpose, so an agent that pins the
 * token keys never trusts a checkpoint key, and a verifier of checkpoints never trusts a token key.
 */
export const SIGNING_PURPOSES = ["tokens", "checkpoints"] as const;
export type SigningPurpose = (typeof SIGNING_PURPOSES)[number];

/**
 * An Ed25519 key that signs without showing its secret: a key file held in memory, a PKCS#11
 * token (the secret never leaves the HSM), or a cloud KMS (docs/security-hardening.md). `sign` is
 * asynchronous so a remote signer fits. The purpose is part of the type, so code that signs
 * tokens cannot be handed the checkpoint signer, and the reverse.
 */
export interface Signer<P extends SigningPurpose = SigningPurpose> {
  readonly purpose: P;
  readonly kid: string;
  /** The raw 32-byte Ed25519 public key (RFC 8032 §5.1.5). */
  readonly publicKey: Uint8Array;
  /** A 64-byte Ed25519 signature of exactly `message` (pure Ed25519, no prehash). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A signer over a key held in memory (a key file, or a test's key). */
export function memorySigner<P extends SigningPurpose>(key: SigningKey, purpose: P): Signer<P> {
  return {
    purpose,
    kid: key.kid,
    publicKey: key.publicKey,
    sign: (message) => Promise.resolve(sign(key, message)),
  };
}
