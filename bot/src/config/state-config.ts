/**
 * The `state` config section (docs/configuration.md): where the bot keeps its workflow state and
 * audit chain. Without it, the embedded SQLite file under the data directory; with `url`, a
 * PostgreSQL database that several bot instances share. The password never sits in the config
 * file: a URL that carries one is refused, and DBWARD_STATE_PASSWORD supplies it.
 */
import { z } from "zod";

export const STATE_PASSWORD_ENV = "DBWARD_STATE_PASSWORD";

/**
 * The connection parameters a state URL may carry: TLS and timeouts. An allowlist, because the
 * driver also takes `password` (and files that hold one) from the query, which would put the
 * secret back into the config file, shell history and process list.
 */
const URL_PARAMETERS: ReadonlySet<string> = new Set([
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "connect_timeout",
  "application_name",
]);

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
  else if ([...url.searchParams.keys()].some((k) => !URL_PARAMETERS.has(k)))
    ctx.addIssue({
      code: "custom",
      message: `may carry only ${[...URL_PARAMETERS].join(", ")} as parameters, not ${[
        ...url.searchParams.keys(),
      ]
        .filter((k) => !URL_PARAMETERS.has(k))
        .join(", ")} (a password goes in ${STATE_PASSWORD_ENV})`,
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

/**
 * How to reach the PostgreSQL state at `url`: the URL, and the password from the environment
 * when one is set (unset or empty: the server's trust, certificate or .pgpass rules apply).
 */
export function stateCredentials(
  url: string,
  env: Readonly<Record<string, string | undefined>>,
): { readonly url: string; readonly password?: string } {
  const password = env[STATE_PASSWORD_ENV];
  return password === undefined || password === "" ? { url } : { url, password };
}
