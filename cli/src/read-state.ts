/** The bot's state file opened read-only for an offline command, closed whatever happens. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { STORE_FILE, openStoreFile } from "@dbward/bot";
import type { Store } from "@dbward/bot/store/open-store";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

export async function withStateFile<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
  const file = join(dataDir, STORE_FILE);
  if (!existsSync(file))
    throw new CliError(
      `no dbward state at ${file}; point --data-dir at the bot's data directory`,
      EXIT.usage,
    );
  const store = openStoreFile(file, { readonly: true });
  try {
    return await work(store);
  } finally {
    await store.destroy();
  }
}
