/**
 * The shape of a schema report's tables (protocol.ts SchemaTable), checked when an agent reports
 * them and again when they are read back from the store: unknown keys refused, every list and
 * name bounded, so a report cannot smuggle a payload the views would then carry.
 */
import {
  FOREIGN_KEY_ACTIONS,
  MAX_SCHEMA_TABLES,
  SCHEMA_TABLE_LIMITS as L,
  type SchemaTable,
} from "@dbward/shared";
import { z } from "zod";

const ident = z.string().min(1).max(L.name);
const names = z.array(ident).max(L.keyColumns);
const estimate = z.number().finite().min(0).nullable();
const action = z.enum(FOREIGN_KEY_ACTIONS);

const table = z.strictObject({
  schema: ident,
  name: ident,
  estimated_rows: estimate,
  size_bytes: estimate,
  columns: z
    .array(z.strictObject({ name: ident, type: z.string().min(1).max(L.name), nullable: z.boolean() }))
    .max(L.columns),
  primary_key: names,
  foreign_keys: z
    .array(
      z.strictObject({
        name: ident,
        columns: names,
        references: z.strictObject({ schema: ident, table: ident, columns: names }),
        on_delete: action,
        on_update: action,
      }),
    )
    .max(L.foreignKeys),
  indexes: z
    .array(
      z.strictObject({
        name: ident,
        columns: z.array(z.string().max(L.indexColumn)).max(L.keyColumns),
        unique: z.boolean(),
      }),
    )
    .max(L.indexes),
});

export const schemaTables: z.ZodType<SchemaTable[]> = z.array(table).max(MAX_SCHEMA_TABLES);
