/**
 * `dbward keygen`: a fresh Ed25519 key pair, and the line an agent config pins. The same key file
 * format serves a token key (signing-key.json, pinned by agents) and a checkpoint key
 * (checkpoint-signing-key.json, never pinned: docs/security-hardening.md, "HSM-backed signing").
 */
import { base64url, generateSigningKey } from "@dbward/shared";
import type { Output } from "../output.ts";

export function keygen(out: Output, json: boolean): void {
  const key = generateSigningKey();
  const pub = base64url(key.publicKey);
  if (json) {
    out.print(
      JSON.stringify({ kid: key.kid, alg: "EdDSA", public_key: pub, secret_key: base64url(key.secretKey) }),
    );
    return;
  }
  out.print(`key id:      ${key.kid}`);
  out.print(`public key:  ${pub}`);
  out.print(
    `secret key:  ${base64url(key.secretKey)}   (keep secret: store it as the bot's signing-key.json, mode 0600)`,
  );
  out.print("");
  out.print("agent config lines (a token key only; a checkpoint-signing-key.json is never pinned):");
  out.print("keys:");
  out.print(`  ${key.kid}: ${pub}`);
}
