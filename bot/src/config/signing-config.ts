/**
 * The `signing:` section of the bot config (docs/configuration.md, "Signing keys"): where the key
 * that signs execution tokens and the key that signs audit checkpoints live. Two keys, two key
 * ids: an agent pins only token keys, and `audit verify` trusts only checkpoint keys.
 *
 * Providers:
 * - `file`: an Ed25519 key file in the data directory, created on first start (today's
 *   behaviour): `signing-key.json` for tokens, `checkpoint-signing-key.json` for checkpoints;
 * - `derived` (checkpoints only, the default): a second key derived from the token key file
 *   (HKDF-SHA256), so an existing install, and every instance sharing one key file, gets its own
 *   checkpoint key with nothing new to copy; same custody as the token key file;
 * - `pkcs11`: a key that never leaves a PKCS#11 token (an HSM), found by its label and/or id.
 *   The PIN comes from an environment variable or a file, never from this file.
 */
import { z } from "zod";

const pkcs11Schema = z
  .strictObject({
    provider: z.literal("pkcs11"),
    /** The vendor's PKCS#11 module (for SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
    library: z.string().startsWith("/", "must be an absolute path to the PKCS#11 module (.so)"),
    /** The token's label (CK_TOKEN_INFO.label), which picks the slot. */
    token_label: z.string().min(1).max(32),
    /** The key pair's CKA_LABEL. */
    key_label: z.string().min(1).max(128).optional(),
    /** The key pair's CKA_ID, in hex. */
    key_id: z
      .string()
      .regex(/^(?:[0-9a-fA-F]{2})+$/, "must be hex, an even number of digits")
      .optional(),
    /** The environment variable holding the user PIN. */
    pin_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")
      .optional(),
    /** A file holding the user PIN (mode 0600 or stricter), e.g. a mounted secret. */
    pin_file: z.string().startsWith("/", "must be an absolute path").optional(),
    /**
     * How long one signature may wait for the HSM (its turn included) before it fails with
     * `signing.unavailable`: a hung HSM must not hold a claim's transaction, and the state's write
     * lock, for ever.
     */
    sign_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  })
  .superRefine((c, ctx) => {
    if (c.key_label === undefined && c.key_id === undefined)
      ctx.addIssue({ code: "custom", message: "name the key: key_label, key_id or both" });
    if ((c.pin_env === undefined) === (c.pin_file === undefined))
      ctx.addIssue({
        code: "custom",
        message: "give the PIN as exactly one of pin_env (an environment variable) or pin_file",
      });
  });

const fileSchema = z.strictObject({ provider: z.literal("file") });
const derivedSchema = z.strictObject({ provider: z.literal("derived") });

export const tokenSignerSchema = z.discriminatedUnion("provider", [fileSchema, pkcs11Schema]);
export const checkpointSignerSchema = z.discriminatedUnion("provider", [
  fileSchema,
  derivedSchema,
  pkcs11Schema,
]);

export const signingSchema = z
  .strictObject({
    tokens: tokenSignerSchema.default({ provider: "file" }),
    checkpoints: checkpointSignerSchema.default({ provider: "derived" }),
  })
  .superRefine((c, ctx) => {
    // The derived key needs the token key's secret, which an HSM never gives out.
    if (c.checkpoints.provider === "derived" && c.tokens.provider !== "file")
      ctx.addIssue({
        code: "custom",
        path: ["checkpoints"],
        message: `a derived checkpoint key needs signing.tokens.provider file; with ${c.tokens.provider} tokens give the checkpoints their own provider (file or pkcs11)`,
      });
    if (
      c.tokens.provider === "pkcs11" &&
      c.checkpoints.provider === "pkcs11" &&
      c.tokens.token_label === c.checkpoints.token_label &&
      c.tokens.key_label === c.checkpoints.key_label &&
      c.tokens.key_id === c.checkpoints.key_id
    )
      ctx.addIssue({
        code: "custom",
        path: ["checkpoints"],
        message: "tokens and checkpoints name the same HSM key; each needs its own key",
      });
  });

export const SIGNING_DEFAULTS = signingSchema.parse({});

export type SigningConfig = z.infer<typeof signingSchema>;
export type SignerConfig = SigningConfig["tokens"] | SigningConfig["checkpoints"];
export type Pkcs11SignerConfig = z.infer<typeof pkcs11Schema>;
