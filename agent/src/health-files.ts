/**
 * Liveness and readiness files for container runtimes (SECURITY.md: operational hardening). The
 * agent listens on no port, so its probes are files:
 * - the liveness file is rewritten every few seconds while the agent's event loop runs; a probe
 *   checks that it changed recently (`find FILE -mmin -1`);
 * - the readiness file exists while the agent can take jobs: the bot answered its last poll, at
 *   least one of its databases is reachable, and it is not shutting down (`test -f FILE`).
 * Both are removed when the agent stops.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const LIVENESS_INTERVAL_MS = 5000;

export interface HealthFiles {
  /** Creates or removes the readiness file when readiness changes. */
  setReady(ready: boolean): void;
  readonly ready: boolean;
  /** Stops the liveness beat and removes both files. */
  close(): void;
}

export function startHealthFiles(paths: { liveness: string; readiness: string }): HealthFiles {
  for (const path of [paths.liveness, paths.readiness])
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const touch = (): void => writeFileSync(paths.liveness, `${new Date().toISOString()}\n`);
  touch();
  // A failing write here must not stop the agent: a missing beat is what the probe detects.
  const timer = setInterval(() => {
    try {
      touch();
    } catch {
      return;
    }
  }, LIVENESS_INTERVAL_MS);
  timer.unref();
  rmSync(paths.readiness, { force: true });
  let ready = false;
  return {
    setReady(next) {
      if (next === ready) return;
      ready = next;
      if (next) writeFileSync(paths.readiness, `${new Date().toISOString()}\n`);
      else rmSync(paths.readiness, { force: true });
    },
    get ready() {
      return ready;
    },
    close() {
      clearInterval(timer);
      rmSync(paths.readiness, { force: true });
      rmSync(paths.liveness, { force: true });
    },
  };
}
