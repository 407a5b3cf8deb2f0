/**
 * Where the messages about a request live in Slack (channel id and `ts`), so later changes can
 * redraw them in place and reply in their thread. Kept behind an interface so the store can hold
 * them; the in-memory implementation forgets on restart, after which the next change of a
 * still-pending request posts a fresh message.
 */
export interface MessageRef {
  readonly channel: string;
  readonly ts: string;
}

export interface MessageRefs {
  /** The request's post in the approvals channel. */
  post(requestId: number): Promise<MessageRef | undefined>;
  savePost(requestId: number, ref: MessageRef): Promise<void>;
  /** The DMs with buttons sent to approvers, by dbward user id. */
  dms(requestId: number): Promise<ReadonlyMap<string, MessageRef>>;
  saveDm(requestId: number, userId: string, ref: MessageRef): Promise<void>;
  /** The reminder DMs about the request's steps, by step and then dbward user id. */
  reminderDms(requestId: number): Promise<ReadonlyMap<number, ReadonlyMap<string, MessageRef>>>;
  saveReminderDm(requestId: number, step: number, userId: string, ref: MessageRef): Promise<void>;
}

/** Remembers the most recent `max` requests' messages. */
export function memoryMessageRefs(max = 10_000): MessageRefs {
  const posts = new Map<number, MessageRef>();
  const dms = new Map<number, Map<string, MessageRef>>();
  const reminders = new Map<number, Map<number, Map<string, MessageRef>>>();
  const trim = (): void => {
    for (const map of [posts, dms, reminders]) {
      for (const key of map.keys()) {
        if (map.size <= max) break;
        map.delete(key);
      }
    }
  };
  return {
    post: (id) => Promise.resolve(posts.get(id)),
    savePost(id, ref) {
      posts.set(id, ref);
      trim();
      return Promise.resolve();
    },
    dms: (id) => Promise.resolve(dms.get(id) ?? new Map<string, MessageRef>()),
    saveDm(id, userId, ref) {
      const map = dms.get(id) ?? new Map<string, MessageRef>();
      map.set(userId, ref);
      dms.set(id, map);
      trim();
      return Promise.resolve();
    },
    reminderDms: (id) => Promise.resolve(reminders.get(id) ?? new Map<number, Map<string, MessageRef>>()),
    saveReminderDm(id, step, userId, ref) {
      const bySteps = reminders.get(id) ?? new Map<number, Map<string, MessageRef>>();
      const map = bySteps.get(step) ?? new Map<string, MessageRef>();
      map.set(userId, ref);
      bySteps.set(step, map);
      reminders.set(id, bySteps);
      trim();
      return Promise.resolve();
    },
  };
}
