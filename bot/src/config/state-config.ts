/**
 * The `state` config section (docs/configuration.md): where the bot keeps its workflow state and
 * audit chain. Without it, the embedded SQLite file under the data directory; with `url`, a
 * PostgreSQL database that several bot instances share. The password never sits in the config
 * file: a URL that carries one is refused, and DBWARD_STATE_PASSWORD supplies it.
 */
import { z } from "zod";

export const STATE_PASSWORD_ENV = "DBWARD_STATE_PASSWORD";

const postgresUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a URL like postgres://dbward@db.internal:5432/dbward" });
    return;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    ctx.addIssue({ code: "custom", message: `must start with postgres://, not ${url.protocol}//` });
  else if (url.password !== "")
    ctx.addIssue({
      code: "custom",
      message: `must not carry a password: set ${STATE_PASSWORD_ENV} in the bot's environment instead`,
    });
  else if (url.hostname === "" || url.pathname.length <= 1)
    ctx.addIssue({
      code: "custom",
      message: "must name a host and a database: postgres://USER@HOST:PORT/DATABASE",
    });
});

export const stateSchema = z.strictObject({
  /** A PostgreSQL database for the state (several instances may share it); absent: SQLite. */
  url: postgresUrl.optional(),
  /** Connections each instance opens to it (docs/deployment.md: pool sizing). */
  pool_size: z.number().int().min(2).max(100).default(10),
});

export const STATE_DEFAULTS = stateSchema.parse({});

export type StateConfig = z.infer<typeof stateSchema>;
