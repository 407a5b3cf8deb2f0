/**
 * PostgreSQL's protocol-level cancel (protocol-flow.html, "Canceling Requests in Progress"): a
 * fresh socket to the server carrying only a CancelRequest packet with the backend's process id
 * and the secret key it sent at login (BackendKeyData), what libpq's PQcancel and pg's own
 * `Connection#cancel` send. Unlike `pg_cancel_backend` from a second session it needs no login:
 * it works when the role's CONNECTION LIMIT or max_connections leaves no room for another
 * session, and through PgBouncer, which maps the key to the server connection it forwarded to
 * (a pid from `pg_backend_pid()` there names a backend behind the pooler).
 *
 * The server answers nothing: it signals the backend and closes the socket, so the request is
 * delivered once the socket has closed cleanly.
 */
import { connect } from "node:net";

/** The CancelRequest code: 1234 in the most significant 16 bits, 5678 in the least. */
const CANCEL_REQUEST_CODE = 80877102;

export interface CancelTarget {
  /** A host name or address, or a Unix socket directory (starting with `/`). */
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

/** Sends a CancelRequest; rejects when the server cannot be reached within `timeoutMs`. */
export function sendCancelRequest(target: CancelTarget, timeoutMs: number): Promise<void> {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(target.processId, 8);
  packet.writeInt32BE(target.secretKey, 12);
  return new Promise((resolve, reject) => {
    const socket = target.host.startsWith("/")
      ? connect(`${target.host}/.s.PGSQL.${target.port}`)
      : connect(target.port, target.host);
    const timer = setTimeout(() => {
      socket.destroy(new Error(`the cancel request got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => socket.end(packet));
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("close", (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve();
    });
  });
}
