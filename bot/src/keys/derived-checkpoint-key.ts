/**
 * `signing.checkpoints.provider: derived` (the default): the checkpoint key is derived from the
 * token key file's secret with HKDF-SHA256 (RFC 5869), so it is another Ed25519 key with another
 * key id, yet an existing install, and every instance that shares one signing-key.json, has it
 * with nothing new to create or copy. It has the token key file's custody, no more: for a
 * checkpoint key kept apart (an HSM, another file), configure another provider.
 *
 * The info string names the purpose and a version, so no other derivation from the same secret
 * can give this key. Rotating the token key file rotates this key with it.
 */
import { hkdfSync } from "node:crypto";
import { signingKeyFromSecret, type SigningKey } from "@dbward/shared";

const INFO = "dbward audit checkpoint key v1";
const SALT = "dbward-signing";

export function deriveCheckpointKey(tokenKey: SigningKey): SigningKey {
  const secret = new Uint8Array(hkdfSync("sha256", tokenKey.secretKey, SALT, INFO, 32));
  return signingKeyFromSecret(secret);
}
