import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachStoreDialect } from "./each-store-dialect-testing.ts";
import {
  deleteChallengesExpiredBefore,
  findChallenge,
  findChallengeByLink,
  findChallengeByState,
  insertStepUpChallenge,
  moveChallenge,
  startSignIn,
} from "./step-up-challenges-repo.ts";

const T0 = new Date("2026-12-03T10:00:00.000Z");
const minutes = (n: number): Date => new Date(T0.getTime() + n * 60_000);

describeEachStoreDialect(
  "step-up challenges in the store",
  (store) => {
    const issue = (id: string, link: string, expiresAt = minutes(10)): Promise<void> =>
      insertStepUpChallenge(store(), {
        id,
        linkSecret: link,
        requestId: 7,
        step: 0,
        userId: "bob",
        oidcSubject: "https://idp#bob",
        decision: { comment: "ok", notBefore: "2026-12-03T22:00:00Z" },
        now: T0,
        expiresAt,
      });

    test("secrets are found by their hash only, and the stored row holds none of them", async () => {
      await issue("su_a", "link-secret-a");
      assert.equal((await findChallengeByLink(store(), "link-secret-a"))?.id, "su_a");
      assert.equal(await findChallengeByLink(store(), "link-secret-b"), undefined);
      assert.ok(
        await startSignIn(store(), "su_a", {
          state: "state-a",
          browser: "browser-a",
          nonce: "n",
          codeVerifier: "v",
          now: T0,
        }),
      );
      const c = await findChallengeByState(store(), "state-a");
      assert.equal(c?.status, "redirected");
      assert.deepEqual(c?.decision, { comment: "ok", notBefore: "2026-12-03T22:00:00Z" });
      const raw = JSON.stringify(await store().selectFrom("step_up_challenges").selectAll().execute());
      for (const secret of ["link-secret-a", "state-a", "browser-a"])
        assert.ok(!raw.includes(secret), secret);
    });

    test("each move happens once: a second taker of the same status finds it gone", async () => {
      await issue("su_b", "link-secret-c");
      await startSignIn(store(), "su_b", {
        state: "s",
        browser: "b",
        nonce: "n",
        codeVerifier: "v",
        now: T0,
      });
      const [first, second] = await Promise.all([
        moveChallenge(store(), "su_b", "redirected", "checking", T0),
        moveChallenge(store(), "su_b", "redirected", "checking", T0),
      ]);
      assert.deepEqual([first, second].sort(), [false, true]);
      const taken = await findChallenge(store(), "su_b");
      assert.equal(taken?.codeVerifier, null, "the verifier is gone once taken");
      assert.equal(
        await startSignIn(store(), "su_b", {
          state: "s2",
          browser: "b",
          nonce: "n",
          codeVerifier: "v",
          now: T0,
        }),
        false,
        "a taken challenge cannot be opened again",
      );
      assert.ok(await moveChallenge(store(), "su_b", "checking", "verified", T0, T0.toISOString()));
      assert.ok(await moveChallenge(store(), "su_b", "verified", "approved", T0));
      assert.equal(await moveChallenge(store(), "su_b", "verified", "approved", T0), false);
    });

    test("challenges expired before the cut are deleted, later ones kept", async () => {
      await issue("su_old", "link-old", minutes(-60 * 25));
      await issue("su_new", "link-new", minutes(10));
      await deleteChallengesExpiredBefore(store(), minutes(-60 * 24));
      assert.equal(await findChallenge(store(), "su_old"), undefined);
      assert.equal((await findChallenge(store(), "su_new"))?.id, "su_new");
    });
  },
  { freshStoreEachTest: true },
);
