/**
 * Operation classes: what a SQL text does, as the bot's policy and the agent's capability list
 * see it. `read` is the only class that may ever skip a write's scrutiny, so a classifier that is
 * unsure must never answer `read`.
 */
export const OPERATION_CLASSES = ["read", "write", "ddl"] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];

export function isOperationClass(value: unknown): value is OperationClass {
  return typeof value === "string" && (OPERATION_CLASSES as readonly string[]).includes(value);
}
