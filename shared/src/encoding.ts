import { createHash } from "node:crypto";

/** base64url without padding (RFC 4648 §5), as JWS requires (RFC 7515 §2). */
export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Strict base64url decoding: returns undefined for anything that is not canonical unpadded
 * base64url, so that two different strings can never decode to the same bytes.
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, "base64url");
  if (base64url(bytes) !== text) return undefined;
  return new Uint8Array(bytes);
}

/** Lower-case hex SHA-256 of a UTF-8 string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function hexToBytes(hex: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, "hex"));
}
