/**
 * Webhooks over HTTPS against real local TLS receivers, with a CA and certificates made by
 * `openssl` for this run. send-webhook.ts connects to the address the SSRF guard checked, yet TLS
 * must still be about the URL's host: SNI carries the host name, and the certificate must name it
 * and chain to a CA the process trusts. Node reads extra CAs (NODE_EXTRA_CA_CERTS) only at start,
 * so every send runs in a child process (support/send-webhook-child.ts); the receivers run here
 * and record what reached them.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { ChildAttempt, ChildInput, ChildOutput } from "./support/send-webhook-child.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CHILD = new URL("./support/send-webhook-child.ts", import.meta.url).pathname;
const HOST = "hooks.example.test";
const BODY = '{"type":"request.created","audit_seq":7}';
const HEADERS = { "content-type": "application/json", "x-dbward-signature": "t=1,v1=abc" };

// ---- certificates -----------------------------------------------------------------------------

interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

/** Runs `openssl` in `dir`: `command` split on spaces, then `extra` as given (values with spaces). */
const openssl = (dir: string, command: string, ...extra: string[]): void => {
  execFileSync("openssl", [...command.split(" "), ...extra], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
};
const NEW_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
const read = (dir: string, name: string): string => readFileSync(join(dir, name), "utf8");

/** A CA certificate and key, written as ca.pem and ca.key. */
function makeCa(dir: string): void {
  openssl(
    dir,
    `req -x509 ${NEW_KEY} -keyout ca.key -out ca.pem -days 1`,
    "-subj",
    "/CN=dbward webhook test CA",
  );
}

/** A server certificate for `dnsName` (subjectAltName DNS), signed by the CA in the same directory. */
function issue(dir: string, name: string, dnsName: string): KeyPair {
  openssl(dir, `req -new ${NEW_KEY} -keyout ${name}.key -out ${name}.csr -subj /CN=${dnsName}`);
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName = DNS:${dnsName}\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n`,
  );
  const serial = `0x${Buffer.from(name).toString("hex")}`;
  openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -set_serial ${serial} -days 1 -extfile ${name}.ext -out ${name}.pem`,
  );
  return { key: read(dir, `${name}.key`), cert: read(dir, `${name}.pem`) };
}

/** A certificate for `dnsName` signed by its own key: no CA vouches for it. */
function selfSigned(dir: string, name: string, dnsName: string): KeyPair {
  openssl(
    dir,
    `req -x509 ${NEW_KEY} -keyout ${name}.key -out ${name}.pem -days 1 -subj /CN=${dnsName}`,
    "-addext",
    `subjectAltName = DNS:${dnsName}`,
  );
  return { key: read(dir, `${name}.key`), cert: read(dir, `${name}.pem`) };
}

// ---- receivers --------------------------------------------------------------------------------

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

interface TlsReceiver {
  readonly port: number;
  /** The SNI server name of every TLS handshake begun, including those that then failed. */
  readonly serverNames: string[];
  /** The local address of every TCP connection accepted. */
  readonly connections: string[];
  /** Requests that reached the handler (only after a completed handshake). */
  readonly requests: Received[];
  close(): Promise<void>;
}

async function startTlsReceiver(pair: KeyPair, address = "127.0.0.1", port = 0): Promise<TlsReceiver> {
  const serverNames: string[] = [];
  const connections: string[] = [];
  const requests: Received[] = [];
  const server: Server = createServer(
    {
      ...pair,
      SNICallback: (servername, done) => {
        serverNames.push(servername);
        done(null, undefined); // keep the default context
      },
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
        res.writeHead(204).end();
      });
    },
  );
  server.on("connection", (socket: { localAddress?: string }) => connections.push(socket.localAddress ?? ""));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    serverNames,
    connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- the sending side -------------------------------------------------------------------------

const execFileAsync = promisify(execFile);

/**
 * Runs `attempts` sends in a fresh Node process whose only extra trusted CA is `caFile` (none when
 * undefined). The environment is built from scratch, so nothing from the test's own environment
 * (another NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED) can change what is trusted.
 */
async function sendInChild(
  input: Partial<ChildInput> & Pick<ChildInput, "url">,
  caFile: string | undefined,
): Promise<ChildAttempt[]> {
  const full: ChildInput = {
    body: BODY,
    headers: HEADERS,
    allowPrivate: ["127.0.0.1/32"],
    answers: [["127.0.0.1"]],
    attempts: 1,
    ...input,
  };
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  if (caFile !== undefined) env.NODE_EXTRA_CA_CERTS = caFile;
  const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(full)], {
    cwd: ROOT,
    env,
  });
  return (JSON.parse(stdout) as ChildOutput).attempts;
}

// ---- tests ------------------------------------------------------------------------------------

describe("webhooks over HTTPS", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-webhooks-https-"));
  const caFile = join(dir, "ca.pem");
  let good: KeyPair;
  let otherName: KeyPair;
  let untrusted: KeyPair;

  before(() => {
    makeCa(dir);
    good = issue(dir, "good", HOST);
    otherName = issue(dir, "other", "other.example.test");
    untrusted = selfSigned(dir, "self", HOST);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("delivers to a receiver whose certificate names the URL's host and chains to a trusted CA", async (t) => {
    const receiver = await startTlsReceiver(good);
    t.after(() => receiver.close());

    const [attempt, ...more] = await sendInChild({ url: `https://${HOST}:${receiver.port}/x` }, caFile);

    assert.deepEqual(more, []);
    assert.deepEqual(attempt?.outcome, { status: "succeeded", httpStatus: 204 });
    assert.deepEqual(attempt.lookups, [HOST], "the name was resolved once, through the injected Lookup");
    assert.deepEqual(receiver.serverNames, [HOST], "SNI carried the URL's host, not the address");
    assert.deepEqual(receiver.connections, ["127.0.0.1"]);
    assert.equal(receiver.requests.length, 1);
    const got = receiver.requests[0];
    assert.equal(got?.method, "POST");
    assert.equal(got.path, "/x");
    assert.equal(got.body, BODY);
    assert.equal(got.headers["content-type"], HEADERS["content-type"]);
    assert.equal(got.headers["x-dbward-signature"], HEADERS["x-dbward-signature"]);
    assert.equal(got.headers["content-length"], String(Buffer.byteLength(BODY)));
    assert.equal(got.headers.host, `${HOST}:${receiver.port}`);
  });

  test("the same receiver fails without NODE_EXTRA_CA_CERTS: the trust comes from the CA", async (t) => {
    const receiver = await startTlsReceiver(good);
    t.after(() => receiver.close());

    const [attempt] = await sendInChild({ url: `https://${HOST}:${receiver.port}/x` }, undefined);

    assert.ok(attempt?.outcome.status === "failed", JSON.stringify(attempt?.outcome));
    assert.equal(attempt.outcome.reason, "tls");
    assert.match(attempt.outcome.error, /unable to (verify the first certificate|get local issuer)/);
    assert.deepEqual(receiver.requests, [], "the body never reached the handler");
  });

  test("fails, as a bounded certificate failure, when the certificate is for another name", async (t) => {
    const receiver = await startTlsReceiver(otherName);
    t.after(() => receiver.close());

    const [attempt] = await sendInChild({ url: `https://${HOST}:${receiver.port}/x` }, caFile);

    // Retried like a connection failure, up to max_attempts, but counted as reason "tls".
    assert.ok(attempt?.outcome.status === "failed", JSON.stringify(attempt?.outcome));
    assert.equal(attempt.outcome.reason, "tls");
    assert.equal(attempt.outcome.retryable, true);
    assert.equal(attempt.outcome.httpStatus, undefined);
    assert.match(attempt.outcome.error, /Host: hooks\.example\.test\. is not in the cert's altnames/);
    assert.match(attempt.outcome.error, /DNS:other\.example\.test/);
    assert.deepEqual(receiver.serverNames, [HOST], "the handshake was attempted for the URL's host");
    assert.deepEqual(receiver.connections, ["127.0.0.1"]);
    assert.deepEqual(receiver.requests, [], "the body never reached the handler");
  });

  test("fails likewise when the certificate is self-signed and not trusted", async (t) => {
    const receiver = await startTlsReceiver(untrusted);
    t.after(() => receiver.close());

    const [attempt] = await sendInChild({ url: `https://${HOST}:${receiver.port}/x` }, caFile);

    assert.ok(attempt?.outcome.status === "failed", JSON.stringify(attempt?.outcome));
    assert.equal(attempt.outcome.reason, "tls");
    assert.equal(attempt.outcome.retryable, true);
    assert.equal(attempt.outcome.httpStatus, undefined);
    assert.match(attempt.outcome.error, /self[- ]signed certificate/);
    assert.deepEqual(receiver.serverNames, [HOST]);
    assert.deepEqual(receiver.requests, [], "the body never reached the handler");
  });

  test("resolves once per attempt and connects to the address that attempt checked", async (t) => {
    // Two receivers on the same port, one per loopback address. The Lookup answers 127.0.0.1 to its
    // first call and 127.0.0.2 to every later one: a second resolution inside an attempt would send
    // the first attempt to the wrong receiver.
    const first = await startTlsReceiver(good, "127.0.0.1");
    t.after(() => first.close());
    const second = await startTlsReceiver(good, "127.0.0.2", first.port);
    t.after(() => second.close());

    const attempts = await sendInChild(
      {
        url: `https://${HOST}:${first.port}/x`,
        allowPrivate: ["127.0.0.1/32", "127.0.0.2/32"],
        answers: [["127.0.0.1"], ["127.0.0.2"]],
        attempts: 2,
      },
      caFile,
    );

    assert.deepEqual(
      attempts.map((a) => a.outcome),
      [
        { status: "succeeded", httpStatus: 204 },
        { status: "succeeded", httpStatus: 204 },
      ],
    );
    assert.deepEqual(
      attempts.map((a) => a.lookups),
      [[HOST], [HOST]],
      "exactly one resolution per attempt",
    );
    assert.deepEqual(first.connections, ["127.0.0.1"], "attempt 1 went to the first answer");
    assert.deepEqual(second.connections, ["127.0.0.2"], "attempt 2 went to the second answer");
    assert.deepEqual(first.serverNames, [HOST]);
    assert.deepEqual(second.serverNames, [HOST]);
    assert.deepEqual([first.requests.length, second.requests.length], [1, 1]);
    assert.equal(first.requests[0]?.body, BODY);
    assert.equal(second.requests[0]?.body, BODY);
  });
});
