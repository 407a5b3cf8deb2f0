/**
 * Slack message locations in the state store (MessageRefs), so a restarted bot, or another
 * instance, redraws a request's post and DMs in place instead of posting them again.
 *
 * DMs are listed by step and user id, the primary key's order: SQLite happens to return rows in
 * that order without ORDER BY, PostgreSQL in the order they were written (an upsert moves a row
 * to the end), so the DMs are redrawn in the same order on both engines.
 */
import type { MessageRef, MessageRefs } from "../slack/message-refs.ts";
import type { Store } from "./open-store.ts";

export function storeMessageRefs(store: Store): MessageRefs {
  const save = async (
    requestId: number,
    kind: "post" | "dm",
    userId: string,
    ref: MessageRef,
  ): Promise<void> => {
    await store
      .insertInto("slack_messages")
      .values({ request_id: requestId, kind, user_id: userId, channel: ref.channel, ts: ref.ts })
      .onConflict((oc) =>
        oc.columns(["request_id", "kind", "user_id"]).doUpdateSet({ channel: ref.channel, ts: ref.ts }),
      )
      .execute();
  };
  return {
    async post(requestId) {
      const row = await store
        .selectFrom("slack_messages")
        .select(["channel", "ts"])
        .where("request_id", "=", requestId)
        .where("kind", "=", "post")
        .executeTakeFirst();
      return row === undefined ? undefined : { channel: row.channel, ts: row.ts };
    },
    savePost: (requestId, ref) => save(requestId, "post", "", ref),
    async dms(requestId) {
      const rows = await store
        .selectFrom("slack_messages")
        .select(["user_id", "channel", "ts"])
        .where("request_id", "=", requestId)
        .where("kind", "=", "dm")
        .orderBy("user_id")
        .execute();
      return new Map(rows.map((r) => [r.user_id, { channel: r.channel, ts: r.ts }]));
    },
    saveDm: (requestId, userId, ref) => save(requestId, "dm", userId, ref),
    async reminderDms(requestId) {
      const rows = await store
        .selectFrom("reminder_dms")
        .select(["step", "user_id", "channel", "ts"])
        .where("request_id", "=", requestId)
        .orderBy("step")
        .orderBy("user_id")
        .execute();
      const bySteps = new Map<number, Map<string, MessageRef>>();
      for (const r of rows) {
        const map = bySteps.get(r.step) ?? new Map<string, MessageRef>();
        map.set(r.user_id, { channel: r.channel, ts: r.ts });
        bySteps.set(r.step, map);
      }
      return bySteps;
    },
    async saveReminderDm(requestId, step, userId, ref) {
      await store
        .insertInto("reminder_dms")
        .values({ request_id: requestId, step, user_id: userId, channel: ref.channel, ts: ref.ts })
        .onConflict((oc) =>
          oc.columns(["request_id", "step", "user_id"]).doUpdateSet({ channel: ref.channel, ts: ref.ts }),
        )
        .execute();
    },
  };
}
