/**
 * The bot's Ed25519 signing key on disk: created on first start as `<data dir>/signing-key.json`
 * with mode 0600 inside a 0700 directory (SECURITY.md: operational hardening). A key file that
 * others can read is refused rather than used: a leaked key lets anyone mint execution tokens.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  linkSync,
  unlinkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
  closeSync,
  fsyncSync,
} from "node:fs";
import { join } from "node:path";
import {
  DbwardError,
  base64url,
  fromBase64url,
  generateSigningKey,
  signingKeyFromSecret,
  type SigningKey,
} from "@dbward/shared";

/** The token key (and, before dbward kept a key per purpose, the checkpoint key too). */
export const KEY_FILE = "signing-key.json";
/** The checkpoint key of `signing.checkpoints.provider: file`. */
export const CHECKPOINT_KEY_FILE = "checkpoint-signing-key.json";

/** Makes the data directory (0700) if it is missing and tightens it if it is too open. */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export function loadOrCreateSigningKey(
  dataDir: string,
  now: Date,
  name: typeof KEY_FILE | typeof CHECKPOINT_KEY_FILE = KEY_FILE,
): { key: SigningKey; created: boolean } {
  ensureDataDir(dataDir);
  const file = join(dataDir, name);
  if (existsSync(file)) return { key: readKeyFile(file), created: false };
  const key = generateSigningKey();
  const body = JSON.stringify({
    kid: key.kid,
    alg: "EdDSA",
    secret_key: base64url(key.secretKey),
    created_at: now.toISOString(),
  });
  // Written whole to a private temporary file, then linked into place: a crash never leaves a
  // half-written key, and link() fails if another process got there first, so exactly one key wins.
  const temp = join(dataDir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}`);
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${body}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return { key: readKeyFile(file), created: false };
  } finally {
    unlinkSync(temp);
  }
  return { key, created: true };
}

function readKeyFile(file: string): SigningKey {
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw new DbwardError(
      "config.invalid",
      `${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it and rotate the key if it may have leaked`,
    );
  }
  let parsed: { kid?: unknown; secret_key?: unknown };
  try {
    parsed = (JSON.parse(readFileSync(file, "utf8")) ?? {}) as typeof parsed;
  } catch {
    throw new DbwardError("config.invalid", `${file} is not valid JSON`);
  }
  const secret = typeof parsed.secret_key === "string" ? fromBase64url(parsed.secret_key) : undefined;
  if (secret?.length !== 32 || typeof parsed.kid !== "string" || parsed.kid === "") {
    throw new DbwardError("config.invalid", `${file} does not hold an Ed25519 key (kid, secret_key)`);
  }
  return signingKeyFromSecret(secret, parsed.kid);
}
