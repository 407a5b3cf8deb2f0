/**
 * The data keys of an unlocked state store, carried on its Kysely handle as a (do-nothing) plugin,
 * so every repository function and every transaction begun from the handle finds them without a
 * new parameter through every use case. Repositories seal and open through the helpers below:
 *
 * - a store opened with its key (unlock-state-store.ts) seals every new value with the active key;
 * - a handle without it (a clear store, or a tool that opened the file directly) writes a clear
 *   value only after checking, in the same transaction, that the store holds no data key: a
 *   process without the key never writes clear rows into an encrypted store (fail closed);
 * - a stored value that is not sealed is read as it is (written before encryption was turned on);
 *   a sealed one that does not open (wrong key, changed, moved from another row) throws
 *   `state.undecryptable` naming its place: it is reported, never shown as something else.
 */
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import { hasStateKeys } from "../store/state-keys-repo.ts";
import type { Database } from "../store/tables.ts";
import {
  type DataKey,
  isSealedBytes,
  isSealedText,
  openBytes,
  openText,
  sealBytes,
  sealText,
  UnsealError,
} from "./sealed-value.ts";

export class StateCipher implements KyselyPlugin {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #active: DataKey;
  /**
   * True when every value of the store is sealed (a store encrypted from its first row, or one
   * `dbward state encrypt` finished): a clear value where a sealed one belongs is then refused,
   * not read as written before encryption. Carried inside the KEK-wrapped data key
   * (unlock-state-store.ts), so someone holding the file cannot turn it off.
   */
  readonly allSealed: boolean;
  constructor(keys: ReadonlyMap<string, Buffer>, activeId: string, allSealed = false) {
    const active = keys.get(activeId);
    if (active === undefined) throw new Error(`data key ${activeId} is not among the unlocked keys`);
    this.#keys = keys;
    this.#active = { id: activeId, key: active };
    this.allSealed = allSealed;
  }
  get activeKeyId(): string {
    return this.#active.id;
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
  sealText(place: string, clear: string): string {
    return sealText(this.#active, place, clear);
  }
  sealBytes(place: string, clear: Buffer): Buffer {
    return sealBytes(this.#active, place, clear);
  }
  openText(place: string, stored: string): string {
    return openText((id) => this.#keys.get(id), place, stored);
  }
  openBytes(place: string, stored: Buffer): Buffer {
    return openBytes((id) => this.#keys.get(id), place, stored);
  }
  toJSON(): unknown {
    return { stateCipher: this.#active.id };
  }
}

// Any Kysely handle or transaction over the state store.
type Db = Pick<Kysely<Database>, "getExecutor" | "selectFrom">;

/** The unlocked keys `db` carries, or undefined. */
export function stateCipherOf(db: Pick<Kysely<Database>, "getExecutor">): StateCipher | undefined {
  return db.getExecutor().plugins.find((p): p is StateCipher => p instanceof StateCipher);
}

/** The AAD of one stored value: its table, column and row, so it opens only where it was written. */
export function placeOf(table: string, column: string, rowId: string | number): string {
  return `${table}.${column}:${String(rowId)}`;
}

const KEY_MISSING =
  "state.key_missing: the state store is encrypted and this process opened it without its key (DBWARD_STATE_KEY); nothing is written in the clear";

/** The value to store for `clear` at `place`: sealed when the store is encrypted. */
export async function sealValue(db: Db, place: string, clear: string): Promise<string> {
  const cipher = stateCipherOf(db);
  if (cipher !== undefined) return cipher.sealText(place, clear);
  await assertClearStore(db);
  return clear;
}

export async function sealNullable(db: Db, place: string, clear: string | null): Promise<string | null> {
  return clear === null ? null : sealValue(db, place, clear);
}

/** A stored text value in the clear (see the module comment for what is refused). */
export function openValue(db: Pick<Kysely<Database>, "getExecutor">, place: string, stored: string): string {
  const cipher = stateCipherOf(db);
  if (!isSealedText(stored)) return clearOrRefused(cipher, place, stored);
  if (cipher === undefined) throw new Error(`${KEY_MISSING.split(";")[0]}; cannot read ${place}`);
  return cipher.openText(place, stored);
}

export function openNullable(
  db: Pick<Kysely<Database>, "getExecutor">,
  place: string,
  stored: string | null,
): string | null {
  return stored === null ? null : openValue(db, place, stored);
}

/** The bytes to store for `clear` at `place` (a result chunk), sealed when the store is encrypted. */
export async function sealChunk(db: Db, place: string, clear: Buffer): Promise<Buffer> {
  const cipher = stateCipherOf(db);
  if (cipher !== undefined) return cipher.sealBytes(place, clear);
  await assertClearStore(db);
  return clear;
}

export function openChunk(db: Pick<Kysely<Database>, "getExecutor">, place: string, stored: Buffer): Buffer {
  const cipher = stateCipherOf(db);
  if (!isSealedBytes(stored)) return clearOrRefused(cipher, place, stored);
  if (cipher === undefined) throw new Error(`${KEY_MISSING.split(";")[0]}; cannot read ${place}`);
  return cipher.openBytes(place, stored);
}

/**
 * A stored value that is not sealed: written before encryption was turned on, unless the store
 * seals every value, where it is a downgrade (a clear text put in place of a sealed one by someone
 * holding the file): refused as a value that does not open.
 */
function clearOrRefused<T>(cipher: StateCipher | undefined, place: string, stored: T): T {
  if (cipher?.allSealed === true)
    throw new UnsealError(place, "a clear value where this store keeps every value sealed");
  return stored;
}

/** Throws state.key_missing when `db` has no keys but the store is encrypted (a keyless writer). */
export async function assertClearStore(db: Db): Promise<void> {
  if (await hasStateKeys(db as Kysely<Database>)) throw new Error(KEY_MISSING);
}
