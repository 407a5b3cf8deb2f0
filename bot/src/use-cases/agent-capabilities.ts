/** Parsing and matching of the capabilities an agent declares when it polls. */
import {
  DbwardError,
  isOperationClass,
  parseDatabaseName,
  parseEnvironmentName,
  type AgentCapability,
  type OperationClass,
} from "@dbward/shared";

const MAX_CAPABILITIES = 200;

export function parseCapabilities(value: unknown): AgentCapability[] {
  if (!Array.isArray(value) || value.length > MAX_CAPABILITIES) {
    throw new DbwardError(
      "request.invalid",
      `capabilities must be a list of at most ${MAX_CAPABILITIES} entries`,
    );
  }
  return value.map((c: unknown, i) => {
    const o = (typeof c === "object" && c !== null ? c : {}) as Record<string, unknown>;
    const database = parseDatabaseName(o.database);
    const environment = parseEnvironmentName(o.environment);
    const ops = Array.isArray(o.operations) ? o.operations : [];
    if (
      database === undefined ||
      environment === undefined ||
      ops.length === 0 ||
      !ops.every(isOperationClass)
    ) {
      throw new DbwardError(
        "request.invalid",
        `capabilities.${i}: needs database, environment and operations (read, write, ddl)`,
      );
    }
    return { database, environment, operations: [...new Set(ops)] };
  });
}

export function capabilityAllows(
  caps: readonly AgentCapability[],
  db: string,
  env: string,
  op: OperationClass,
): boolean {
  return caps.some((c) => c.database === db && c.environment === env && c.operations.includes(op));
}
