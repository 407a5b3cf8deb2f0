import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RequestId } from "@dbward/shared";
import { requestIdOfAction, requestIdOfView, staleInteractionText, staleModal } from "./stale-interaction.ts";

describe("stale interactions", () => {
  test("names the status command when the request is known, the list command otherwise", () => {
    assert.match(staleInteractionText(42 as RequestId), /`\/dbward status 42`/);
    assert.match(staleInteractionText(undefined), /`\/dbward list`/);
  });

  test("finds the request in a button's value, else in its request block id", () => {
    assert.equal(requestIdOfAction({ value: "42", block_id: "request-7" }), 42);
    assert.equal(requestIdOfAction({ value: "yes", block_id: "request-7" }), 7);
    assert.equal(requestIdOfAction({ value: "yes", block_id: "user-7" }), undefined);
    assert.equal(requestIdOfAction({}), undefined);
  });

  test("finds the request in a modal's JSON metadata", () => {
    assert.equal(requestIdOfView(JSON.stringify({ requestId: 12 })), 12);
    assert.equal(requestIdOfView("12"), undefined);
    assert.equal(requestIdOfView("not json"), undefined);
    assert.equal(requestIdOfView(undefined), undefined);
  });

  test("renders a closable modal with the explanation", () => {
    const view = staleModal(3 as RequestId);
    assert.equal(view.type, "modal");
    assert.equal(view.submit, undefined);
    assert.match(JSON.stringify(view.blocks), /status 3/);
  });
});
