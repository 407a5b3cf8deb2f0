/**
 * A reader following a result (GET …/result?follow=true) over node:http, as the CLI reads it: the
 * body as it comes, its status and headers, how it ended (trailers, or the error of a stream cut
 * off), and a way to hang up.
 */
import { get as httpGet, type ClientRequest, type IncomingHttpHeaders } from "node:http";

export interface FollowReader {
  text(): string;
  status(): number;
  headers(): IncomingHttpHeaders;
  hangUp(): void;
  readonly ended: Promise<{ trailers: NodeJS.Dict<string>; error?: Error }>;
}

export function followReader(
  baseUrl: string,
  requestId: number,
  token: string,
  format = "csv",
): FollowReader {
  const got: Buffer[] = [];
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  let req: ClientRequest | undefined;
  const ended = new Promise<{ trailers: NodeJS.Dict<string>; error?: Error }>((resolve) => {
    req = httpGet(
      `${baseUrl}/api/requests/${requestId}/result?format=${format}&follow=true`,
      // A connection of its own: a reader hanging up closes only its own socket.
      { headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        status = res.statusCode ?? 0;
        headers = res.headers;
        res.on("data", (d: Buffer) => got.push(d));
        res.on("end", () => resolve({ trailers: res.trailers }));
        res.on("error", (error) => resolve({ trailers: {}, error }));
        res.on("aborted", () => resolve({ trailers: {}, error: new Error("aborted") }));
      },
    );
    req.on("error", (error) => resolve({ trailers: {}, error }));
  });
  return {
    text: () => Buffer.concat(got).toString("utf8"),
    status: () => status,
    headers: () => headers,
    hangUp: () => req?.destroy(),
    ended,
  };
}
