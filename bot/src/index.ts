export { parseBotConfig, type BotConfig } from "./config/bot-config.ts";
export { startBot, type RunningBot, type StartBotOptions } from "./main.ts";
export { openStore, openStoreFile, STORE_FILE } from "./store/open-store.ts";
export { verifyAuditStore, listAudit } from "./audit/audit-log.ts";
export { agentTokenEnvName, bootstrapSecretProblem, bootstrapTokenVariables } from "./bootstrap-tokens.ts";
export { planRequest, type RequestPlan } from "./core/plan-request.ts";
export { schemaTables } from "./store/schema-report-shape.ts";
export { maskingSchemaFindings } from "./core/masked-column-review.ts";
export { findSchemaContext } from "./store/schema-contexts-repo.ts";
