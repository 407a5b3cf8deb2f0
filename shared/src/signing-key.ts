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

/** Parses a base64url public key (32 bytes); undefined when it is not one. */
export function parsePublicKey(kid: string, text: string): PublicKey | undefined {
  const bytes = fromBase64url(text.trim());
  return bytes?.length === 32 ? { kid, publicKey: bytes } : undefined;
}

export function encodePublicKey(key: PublicKey): string {
  return base64url(key.publicKey);
}

/** Ed25519 signature of `message`. */
export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, key.secretKey);
}

/** True only for a valid 64-byte signature; malformed input is `false`, never an exception. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
