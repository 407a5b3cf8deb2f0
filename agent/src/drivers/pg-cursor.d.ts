// Types for pg-cursor 2.x, which ships none: only the part of its API the PostgreSQL driver uses.
declare module "pg-cursor" {
  import type { Connection, CustomTypesConfig, FieldDef, Submittable } from "pg";

  interface CursorResult {
    fields: FieldDef[];
    /** Set once the statement completed; null while the portal is suspended. */
    rowCount: number | null;
    command: string;
  }

  interface CursorConfig {
    rowMode?: "array";
    types?: CustomTypesConfig;
  }

  export default class Cursor implements Submittable {
    constructor(text: string, values?: unknown[] | null, config?: CursorConfig);
    submit: (connection: Connection) => void;
    read(
      rows: number,
      callback: (err: Error | undefined, rows: unknown[][], result: CursorResult) => void,
    ): void;
    close(): Promise<void>;
  }
}
