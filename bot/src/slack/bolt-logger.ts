import { LogLevel, type Logger as BoltLogger } from "@slack/bolt";
import type { Logger } from "pino";

/** Bolt's logger interface over pino; Bolt's debug chatter stays at debug. */
export function boltLogger(log: Logger): BoltLogger {
  const text = (msg: unknown[]): string => msg.map((m) => (typeof m === "string" ? m : String(m))).join(" ");
  let level = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => log.debug(text(msg)),
    info: (...msg: unknown[]) => log.info(text(msg)),
    warn: (...msg: unknown[]) => log.warn(text(msg)),
    error: (...msg: unknown[]) => log.error(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
