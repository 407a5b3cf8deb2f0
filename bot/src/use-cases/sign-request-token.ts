/**
 * The one place the bot signs a token for a request (execution-token.ts): bound to the stored
 * SQL's hash, its database, environment and operation, this agent, and at most five minutes —
 * for an execution (with the row guard the approvers saw) or a preflight. Signed by the token
 * signer only (a key file or an HSM: keys/open-signers.ts), never the checkpoint key.
 */
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  signExecutionTokenWith,
  type Signer,
  type SignedMask,
  type TokenPurpose,
} from "@dbward/shared";
import type { RequestRecord } from "../store/requests-repo.ts";

export async function signRequestToken(
  key: Signer<"tokens">,
  request: RequestRecord,
  t: {
    readonly tokenId: string;
    readonly agentId: string;
    readonly now: Date;
    /** The execution's number; 0 for a preflight, which runs nothing. */
    readonly execution: number;
    readonly purpose: TokenPurpose;
    readonly maxRows: number | null;
    /** The column masks the agent applies to the rows (use-cases/request-masks.ts); never empty. */
    readonly masks?: readonly SignedMask[] | undefined;
  },
): Promise<string> {
  const iat = Math.floor(t.now.getTime() / 1000);
  return signExecutionTokenWith(key, {
    jti: t.tokenId,
    req: request.id,
    exe: t.execution,
    purpose: t.purpose,
    max_rows: t.maxRows,
    db: request.database,
    env: request.environment,
    op: request.operation,
    sql_sha256: request.sqlSha256,
    agent: t.agentId,
    iat,
    exp: iat + MAX_TOKEN_LIFETIME_SECONDS,
    ...(t.masks === undefined || t.masks.length === 0 ? {} : { masks: t.masks }),
  });
}
