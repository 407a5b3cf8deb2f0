/**
 * Opens the bot's two signers from the `signing:` config (signing-config.ts): the token key and
 * the checkpoint key, each behind the `Signer` interface whatever holds it. Both must open, and
 * be two different keys, or the bot does not start.
 */
import { join } from "node:path";
import { DbwardError, memorySigner, type SigningKey, type SigningPurpose } from "@dbward/shared";
import type { SignerConfig, SigningConfig } from "../config/signing-config.ts";
import { deriveCheckpointKey } from "./derived-checkpoint-key.ts";
import { openPkcs11Signer } from "./pkcs11-signer.ts";
import { CHECKPOINT_KEY_FILE, KEY_FILE, loadOrCreateSigningKey } from "./signing-key-file.ts";
import type { StartingKey } from "./signing-key-history.ts";

export interface BotSigners {
  readonly tokens: StartingKey<"tokens">;
  readonly checkpoints: StartingKey<"checkpoints">;
  /** Key files generated at this start: removed again when the start fails before they count. */
  readonly createdFiles: readonly string[];
  /** Ends HSM sessions; a no-op for file keys. */
  close(): void;
}

interface Opened<P extends SigningPurpose> {
  readonly key: StartingKey<P>;
  /** The in-memory key of a file provider (what `derived` derives from). */
  readonly fileKey?: SigningKey;
  readonly file?: string;
  readonly close: () => void;
}

export interface OpenSignersOptions {
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: Date;
}

export async function openSigners(c: SigningConfig, o: OpenSignersOptions): Promise<BotSigners> {
  const tokens = await openOne(c.tokens, "tokens", o, undefined);
  let checkpoints: Opened<"checkpoints">;
  try {
    checkpoints = await openOne(c.checkpoints, "checkpoints", o, tokens);
  } catch (err) {
    tokens.close();
    throw err;
  }
  const close = (): void => {
    tokens.close();
    checkpoints.close();
  };
  // By public key as well as by key id: a key file's kid is whatever the file says, so a copy of
  // signing-key.json under another kid is still the token key.
  const t = tokens.key.signer;
  const cp = checkpoints.key.signer;
  if (t.kid === cp.kid || Buffer.from(t.publicKey).equals(Buffer.from(cp.publicKey))) {
    close();
    throw new DbwardError(
      "config.invalid",
      `signing: tokens (key ${t.kid}) and checkpoints (key ${cp.kid}) are signed by the same key; each needs its own key`,
    );
  }
  return {
    tokens: tokens.key,
    checkpoints: checkpoints.key,
    createdFiles: [tokens, checkpoints].flatMap((k) =>
      k.key.created && k.file !== undefined ? [k.file] : [],
    ),
    close,
  };
}

async function openOne<P extends SigningPurpose>(
  c: SignerConfig,
  purpose: P,
  o: OpenSignersOptions,
  tokens: Opened<"tokens"> | undefined,
): Promise<Opened<P>> {
  switch (c.provider) {
    case "file": {
      const name = purpose === "tokens" ? KEY_FILE : CHECKPOINT_KEY_FILE;
      const { key, created } = loadOrCreateSigningKey(o.dataDir, o.now, name);
      return {
        key: {
          signer: memorySigner(key, purpose),
          created,
          copyHint: `copy ${name} from another instance into this instance's data directory`,
        },
        fileKey: key,
        file: join(o.dataDir, name),
        close: () => undefined,
      };
    }
    case "derived": {
      // The config refuses `derived` unless the tokens' provider is `file`.
      const from = tokens?.fileKey;
      if (from === undefined || tokens === undefined)
        throw new DbwardError("config.invalid", "signing.checkpoints: a derived key needs a token key file");
      return {
        key: {
          signer: memorySigner(deriveCheckpointKey(from), purpose),
          created: tokens.key.created,
          copyHint: tokens.key.copyHint,
        },
        close: () => undefined,
      };
    }
    case "pkcs11": {
      const opened = await openPkcs11Signer(c, purpose, o.env);
      return {
        key: {
          signer: opened.signer,
          // An HSM key is made by the operator, never by a start.
          created: false,
          copyHint: `give this instance the same signing.${purpose} key as the others`,
        },
        close: opened.close,
      };
    }
  }
}
