import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { jobFixture } from "../../test/support/agent/job-fixture.ts";
import { JOURNAL_FILE, openOutcomeJournal, reportOf } from "./outcome-journal.ts";
import { NOW_MS, tempDir } from "../../test/support/agent/unit-helpers.ts";

const now = (): Date => new Date(NOW_MS);

describe("outcome journal", () => {
  test("keeps what it knows of an unacknowledged job across a reopen, and forgets it once acknowledged", (t) => {
    const dir = tempDir(t);
    const journal = openOutcomeJournal(dir, now);
    journal.started("7-1", "jti-a");
    journal.committed("7-1", { row_count: 0, affected_rows: 3 });
    journal.started("8-1", "jti-b");
    journal.close();

    const reopened = openOutcomeJournal(dir, now);
    const pending = reopened.pending();
    assert.deepEqual(
      pending.map((p) => [p.job_id, p.state]),
      [
        ["7-1", "committed"],
        ["8-1", "started"],
      ],
    );
    assert.equal(pending[0]?.started_at, new Date(NOW_MS).toISOString());
    reopened.acknowledged("7-1");
    reopened.close();

    const third = openOutcomeJournal(dir, now);
    assert.deepEqual(
      third.pending().map((p) => p.job_id),
      ["8-1"],
    );
    third.close();
    // Compacted at open: the acknowledged job is gone from the file, not only from memory.
    assert.doesNotMatch(readFileSync(join(dir, JOURNAL_FILE), "utf8"), /7-1/);
    assert.equal(statSync(join(dir, JOURNAL_FILE)).mode & 0o777, 0o600);
  });

  test("cuts off a torn last line: that step never reached its fsync", (t) => {
    const dir = tempDir(t);
    const journal = openOutcomeJournal(dir, now);
    journal.started("7-1", "jti-a");
    journal.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"state":"committed","job_id":"7-1"');
    const reopened = openOutcomeJournal(dir, now);
    assert.equal(reopened.pending()[0]?.state, "started");
    reopened.close();
  });

  test("refuses to start on a damaged line, which could hide a committed statement", (t) => {
    const dir = tempDir(t);
    appendFileSync(join(dir, JOURNAL_FILE), 'not json\n{"state":"started"}\n');
    assert.throws(() => openOutcomeJournal(dir, now), /line 1 is damaged/);
  });

  test("reports a commit as executed-not-delivered, a bare start as unknown, and a failure as its result", (t) => {
    const dir = tempDir(t);
    const journal = openOutcomeJournal(dir, now);
    journal.started("1-1", "a");
    journal.committed("1-1", { row_count: 2, affected_rows: 5 });
    journal.started("2-1", "b");
    journal.started("3-1", "c");
    journal.failed("3-1", {
      outcome: "timed_out",
      duration_ms: 12,
      error: { code: "execution.timeout", message: "too slow" },
    });
    const started_at = new Date(NOW_MS).toISOString();
    const [committed, started, failed] = journal.pending().map(reportOf);
    assert.deepEqual(committed, {
      delivery: "late",
      started_at,
      outcome: "succeeded_unreported",
      row_count: 2,
      affected_rows: 5,
    });
    assert.equal(started !== undefined && "delivery" in started && started.outcome, "unknown");
    assert.equal(started?.error?.code, "execution.outcome_unknown");
    assert.deepEqual(failed, {
      outcome: "timed_out",
      duration_ms: 12,
      error: { code: "execution.timeout", message: "too slow" },
    });
    journal.close();
  });
});

describe("job runner and the outcome journal", () => {
  test("journals a write as committed, with its affected rows, before the result is handed back", async (t) => {
    const f = jobFixture(t);
    const c = f.claim({ sql: "UPDATE items SET name = 'z' WHERE id < 3", operation: "write" });
    const { body } = await f.run(c);
    assert.equal(body.outcome, "succeeded");
    const job = f.journal.pending().find((p) => p.job_id === c.job_id);
    assert.equal(job?.state, "committed");
    assert.equal(job.state === "committed" ? job.affected_rows : undefined, 2);
  });

  test("journals a failed statement with its error", async (t) => {
    const f = jobFixture(t);
    const c = f.claim({ sql: "UPDATE no_such_table SET x = 1", operation: "write" });
    const { body } = await f.run(c);
    assert.equal(body.outcome, "failed");
    const job = f.journal.pending().find((p) => p.job_id === c.job_id);
    assert.equal(job?.state, "failed");
  });

  test("journals nothing for a refused job: nothing ran", async (t) => {
    const f = jobFixture(t);
    const c = f.claim({ sql: "DELETE FROM items", operation: "read" });
    const { body } = await f.run(c);
    assert.equal(body.outcome, "refused");
    assert.equal(f.journal.pending().length, 0);
  });
});
