/**
 * `dbward schema show DATABASE ENVIRONMENT`: the schema context an agent last reported for a
 * target (tables, estimated rows, sizes, keys, cascades), as the bot shows it to people who may
 * make requests there. `--json` gives the file `dbward policy explain --schema` reads.
 */
import type { SchemaContextView } from "@dbward/shared/protocol";
import { describeTouchedTable, visibleName } from "@dbward/shared/schema-context";
import { displaySql, visibleJson } from "@dbward/shared/sql/display-sql";
import type { Argv } from "yargs";
import { clientFromFlags } from "../api-client.ts";
import type { Output } from "../output.ts";

export function schemaCommand(out: Output, env: Readonly<Record<string, string | undefined>>) {
  return (y: Argv) =>
    y
      .option("url", { type: "string", describe: "bot URL (default: $DBWARD_URL)" })
      .option("token", {
        type: "string",
        describe: "API token (default: $DBWARD_TOKEN, else dbward login's)",
      })
      .option("json", { type: "boolean", default: false })
      .command(
        "show <database> <environment>",
        "print the tables an agent last reported for a database and environment, with sizes and cascades",
        (c) =>
          c
            .positional("database", { type: "string", demandOption: true })
            .positional("environment", { type: "string", demandOption: true }),
        async (a) => {
          const path = `/api/schema/${encodeURIComponent(a.database)}/${encodeURIComponent(a.environment)}`;
          const view = await clientFromFlags(env, a).get<SchemaContextView>(path);
          out.print(a.json ? visibleJson(view, 2) : schemaText(view));
        },
      )
      .demandCommand(1, "name a schema subcommand");
}

/**
 * The report as text. Every name in it is the agent's (or the database's) text: each line goes
 * through displaySql and visibleName whole, so a bidi override or a line break in a key column,
 * a referenced table or an agent's report cannot reorder or add what is read here.
 */
export function schemaText(v: SchemaContextView): string {
  const shown = (line: string): string => displaySql(visibleName(line));
  const lines = [
    shown(
      `${v.database}/${v.environment}: ${v.tables.length} table(s)${v.truncated ? " (the largest; more exist)" : ""}, collected by ${v.agent} at ${v.collected_at}`,
    ),
  ];
  for (const t of v.tables) {
    const touched = describeTouchedTable({
      schema: t.schema,
      name: t.name,
      estimated_rows: t.estimated_rows,
      size_bytes: t.size_bytes,
      cascades: [],
    });
    const keys = t.primary_key.length === 0 ? "no primary key" : `primary key (${t.primary_key.join(", ")})`;
    lines.push(`  ${shown(`${touched}: ${keys}`)}`);
    for (const fk of t.foreign_keys)
      lines.push(
        `    ${shown(`${fk.columns.join(", ")} → ${fk.references.schema}.${fk.references.table} (${fk.references.columns.join(", ")}), on delete ${fk.on_delete.replace("_", " ")}`)}`,
      );
  }
  return lines.join("\n");
}
