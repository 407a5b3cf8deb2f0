/**
 * The public halves of the bot's signing keys, for anyone (GET /api/public-key): the key tokens
 * are signed with now, which agents pin by hand; the retired token keys; and, apart, the keys
 * whose audit checkpoints verify, which no agent should pin (a key per purpose).
 */
import { base64url, type PublicKeysView } from "@dbward/shared";
import { checkpointKeyRows, retiredSigningKeys } from "../keys/signing-key-history.ts";
import type { BotContext } from "./bot-context.ts";

export async function listPublicKeys(ctx: BotContext): Promise<PublicKeysView> {
  const retired = await retiredSigningKeys(ctx.store, ctx.signingKey.kid);
  const checkpointKeys = await checkpointKeyRows(ctx.store);
  return {
    keys: [{ kid: ctx.signingKey.kid, alg: "EdDSA", public_key: base64url(ctx.signingKey.publicKey) }],
    retired: retired.map((k) => ({ ...k, alg: "EdDSA" })),
    checkpoint_keys: checkpointKeys.map((k) => ({
      ...k,
      alg: "EdDSA",
      current: k.kid === ctx.checkpointSigner.kid,
    })),
  };
}
