/**
 * The PIN that opens a PKCS#11 token: from an environment variable or a file (a mounted secret),
 * never from the config file, so the config can be shared, reviewed and committed. A PIN file
 * others can read is refused, as a key file is (signing-key-file.ts).
 */
import { readFileSync, statSync } from "node:fs";
import { DbwardError } from "@dbward/shared";
import type { Pkcs11SignerConfig } from "../config/signing-config.ts";

export function readHsmPin(
  c: Pkcs11SignerConfig,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
): string {
  if (c.pin_env !== undefined) {
    const pin = env[c.pin_env];
    if (pin === undefined || pin === "")
      throw new DbwardError(
        "config.invalid",
        `${where}.pin_env: ${c.pin_env} is not set in the bot's environment`,
      );
    return pin;
  }
  const file = c.pin_file ?? "";
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new DbwardError("config.invalid", `${where}.pin_file: ${file} does not exist or cannot be read`);
  }
  if ((mode & 0o077) !== 0)
    throw new DbwardError(
      "config.invalid",
      `${where}.pin_file: ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  const pin = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  if (pin === "") throw new DbwardError("config.invalid", `${where}.pin_file: ${file} is empty`);
  return pin;
}
