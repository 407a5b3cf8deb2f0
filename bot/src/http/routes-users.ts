/**
 * User administration, join requests and sign-in discovery: a thin adapter over the use cases
 * the Slack admin modals call too.
 */
import {
  DbwardError,
  type JoinRequestListView,
  type JoinRequestStatus,
  type UserListView,
} from "@dbward/shared";
import { Router, type Request } from "express";
import { activateUser } from "../use-cases/activate-user.ts";
import { addUser } from "../use-cases/add-user.ts";
import type { BotContext } from "../use-cases/bot-context.ts";
import { decideJoinRequest } from "../use-cases/decide-join-request.ts";
import { describeCaller, oidcLoginInfo } from "../use-cases/describe-caller.ts";
import { JOIN_REQUEST_STATUSES, listJoinRequestViews } from "../use-cases/list-join-requests.ts";
import { getUserView, listUserViews } from "../use-cases/list-users.ts";
import { suspendUser } from "../use-cases/suspend-user.ts";
import { updateUser } from "../use-cases/update-user.ts";
import { authenticateUser } from "./authenticate.ts";
import { BODY_SHAPES } from "./body-shapes.ts";
import { bodyOf } from "./routes-requests.ts";

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function statusesOf(req: Request): JoinRequestStatus[] {
  const wanted = text(req.query.status)
    .split(",")
    .filter((s) => s !== "");
  const bad = wanted.filter((s) => !(JOIN_REQUEST_STATUSES as readonly string[]).includes(s));
  if (bad.length > 0) throw new DbwardError("request.invalid", `unknown status ${bad.join(", ")}`);
  return wanted as JoinRequestStatus[];
}

export function userRoutes(ctx: BotContext): Router {
  const r = Router();
  // Public: a client must learn where to sign in before it has any credential.
  r.get("/api/auth/oidc", (_req, res) => {
    const info = oidcLoginInfo(ctx);
    if (info === undefined)
      throw new DbwardError("request.not_found", "this bot does not offer OIDC sign-in");
    res.json(info);
  });
  r.get("/api/me", async (req, res) => {
    res.json(await describeCaller(ctx, await authenticateUser(ctx, req)));
  });
  r.get("/api/users", async (req, res) => {
    const body: UserListView = { users: await listUserViews(ctx, await authenticateUser(ctx, req)) };
    res.json(body);
  });
  r.get("/api/users/:id", async (req, res) => {
    res.json(await getUserView(ctx, await authenticateUser(ctx, req), req.params.id));
  });
  r.post("/api/users", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.status(201).json(await addUser(ctx, caller, await bodyOf(req, BODY_SHAPES.createUser)));
  });
  r.patch("/api/users/:id", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(await updateUser(ctx, caller, req.params.id, await bodyOf(req, BODY_SHAPES.updateUser)));
  });
  r.post("/api/users/:id/suspend", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(
      await suspendUser(ctx, caller, req.params.id, text((await bodyOf(req, BODY_SHAPES.userStatus)).reason)),
    );
  });
  r.post("/api/users/:id/activate", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(
      await activateUser(
        ctx,
        caller,
        req.params.id,
        text((await bodyOf(req, BODY_SHAPES.userStatus)).reason),
      ),
    );
  });
  r.get("/api/join-requests", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const body: JoinRequestListView = {
      join_requests: await listJoinRequestViews(ctx, caller, statusesOf(req)),
    };
    res.json(body);
  });
  r.post("/api/join-requests/:id/approve", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    const body = await bodyOf(req, BODY_SHAPES.decideJoinRequest);
    const userId = text(body.user_id);
    res.json(
      await decideJoinRequest(ctx, caller, req.params.id, {
        kind: "approve",
        ...(userId !== "" ? { userId } : {}),
        reason: text(body.reason),
      }),
    );
  });
  r.post("/api/join-requests/:id/reject", async (req, res) => {
    const caller = await authenticateUser(ctx, req);
    res.json(
      await decideJoinRequest(ctx, caller, req.params.id, {
        kind: "reject",
        reason: text((await bodyOf(req, BODY_SHAPES.decideJoinRequest)).reason),
      }),
    );
  });
  return r;
}
