/**
 * What `dbward doctor` finds: one line per check, and for each problem what to do about it.
 * Checks never print a secret: tokens, passwords and connection URLs are named by the
 * environment variable that holds them.
 */
export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  readonly status: CheckStatus;
  /** Short name of what was checked: `config`, `data directory`, `database shop/production`. */
  readonly what: string;
  readonly detail: string;
  /** What to do, for `warn` and `fail`. */
  readonly fix?: string;
}

export const ok = (what: string, detail: string): Check => ({ status: "ok", what, detail });
export const warn = (what: string, detail: string, fix: string): Check => ({
  status: "warn",
  what,
  detail,
  fix,
});
export const fail = (what: string, detail: string, fix: string): Check => ({
  status: "fail",
  what,
  detail,
  fix,
});

const LABEL = { ok: "ok  ", warn: "WARN", fail: "FAIL" } as const satisfies Record<CheckStatus, string>;

export function renderChecks(title: string, checks: readonly Check[]): string[] {
  const width = Math.min(28, Math.max(...checks.map((c) => c.what.length), 0));
  const lines = [title];
  for (const c of checks) {
    lines.push(`  ${LABEL[c.status]}  ${c.what.padEnd(width)}  ${c.detail}`);
    if (c.fix !== undefined && c.status !== "ok") lines.push(`        ${" ".repeat(width)}  fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  lines.push(
    failed === 0
      ? `no problems found${warned > 0 ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}`
      : `${failed} problem${failed === 1 ? "" : "s"} found`,
  );
  return lines;
}

/** The reason a fetch failed, as a person can act on it (`ECONNREFUSED`, a TLS error, a timeout). */
export function fetchFailure(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return "no answer in time";
  const cause: unknown = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code} (${cause.message})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Mode bits as `0755`. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}
