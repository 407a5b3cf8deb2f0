import { DbwardError, type RequestId } from "@dbward/shared";
import { findRequest, type RequestRecord } from "../store/requests-repo.ts";

export async function findRequestOrThrow(
  db: Parameters<typeof findRequest>[0],
  id: RequestId,
): Promise<RequestRecord> {
  const r = await findRequest(db, id);
  if (r === undefined) throw new DbwardError("request.not_found", `there is no request #${id}`);
  return r;
}
