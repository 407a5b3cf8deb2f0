/**
 * SQL read from a file or stdin, decoded only when it is valid UTF-8. Node's `toString("utf8")`
 * would turn invalid bytes into U+FFFD, and the request would then hold text the file never had.
 */
import { isUtf8 } from "node:buffer";
import { CliError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

/** `bytes` as text; `what` names the source in the error (`sql.txt`, `stdin`). */
export function decodeUtf8(bytes: Buffer, what: string): string {
  if (!isUtf8(bytes)) {
    throw new CliError(`${what} is not valid UTF-8; save it as UTF-8 and try again`, EXIT.usage);
  }
  return bytes.toString("utf8");
}
