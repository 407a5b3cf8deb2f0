/**
 * The PostgreSQL driver, loaded when a store, bus or lock connection first needs it: a bot on the
 * embedded SQLite state never loads pg.
 */
import type pg from "pg";

let driver: Promise<typeof pg> | undefined;

export function loadPg(): Promise<typeof pg> {
  driver ??= import("pg").then((m) => m.default);
  return driver;
}
