/**
 * The public halves of the bot's signing keys, for anyone (GET /api/public-key): the key tokens
 * are signed with now, which agents pin by hand, and the retired ones, which only verify the
 * audit checkpoints they signed.
 */
import { base64url, type PublicKeysView } from "@dbward/shared";
import { retiredSigningKeys } from "../keys/signing-key-history.ts";
import type { BotContext } from "./bot-context.ts";

export async function listPublicKeys(ctx: BotContext): Promise<PublicKeysView> {
  const retired = await retiredSigningKeys(ctx.store, ctx.signingKey.kid);
  return {
    keys: [{ kid: ctx.signingKey.kid, alg: "EdDSA", public_key: base64url(ctx.signingKey.publicKey) }],
    retired: retired.map((k) => ({ ...k, alg: "EdDSA" })),
  };
}
