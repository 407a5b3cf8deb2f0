#!/usr/bin/env bash
# Runs every test file explicitly. On Node 20, `node --test` with no file arguments finds no .ts
# files and still exits 0, so an empty list is an error here: CI can never pass by running nothing.
#
# Three passes:
# 1. the unit tests beside the code (*/src/**/*.test.ts), several files at once (one per core, or
#    DBWARD_TEST_JOBS). They share nothing fixed: temporary directories, port 0, a table, function
#    or database named per run, markers per run in the servers' activity views;
# 2. the cross-process suites under test/, one file at a time (several restart bots, kill or
#    count connections on the shared servers, or compare audit chains and timings of their
#    own), except the in-process harness suites listed below, two at a time;
# 3. the use-case suites again on PostgreSQL state, one file at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t unit < <(find shared bot agent cli -path '*/src/*' -name '*.test.ts' -not -path '*/node_modules/*' | sort)
mapfile -t integration < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
mapfile -t all < <(find shared bot agent cli test -name '*.test.ts' -not -path '*/node_modules/*')
if [ "${#unit[@]}" -eq 0 ] || [ "${#integration[@]}" -eq 0 ]; then
  echo "scripts/test.sh: no test files found" >&2
  exit 1
fi
# A test file in neither pass (say shared/test/x.test.ts) would never run.
if [ $((${#unit[@]} + ${#integration[@]})) -ne "${#all[@]}" ]; then
  echo "scripts/test.sh: ${#all[@]} test files, but only $((${#unit[@]} + ${#integration[@]})) are in a pass" >&2
  exit 1
fi
jobs=${DBWARD_TEST_JOBS:-$(node -p 'require("node:os").availableParallelism()')}
# --test-force-exit: a test file's process ends once its tests have reported. Twice a file whose
# tests had all passed (idle-connection-loss, ha-three-instances) spun at 100% CPU on exit: Node
# 20 leaves a socket handle that never closes when a socket with a pending shutdown is reset,
# which the TCP relay in test/support did (fixed there; test/tcp-relay.test.ts). Kept so that a
# handle leaked the same way elsewhere cannot hold a run; a failing test still fails it.
force=(--test-force-exit)

echo "running ${#unit[@]} unit test files, $jobs at a time"
node --import tsx --test "${force[@]}" --test-concurrency="$jobs" "$@" "${unit[@]}"

# Suites that run in one process against the in-process bot harness (a temporary data directory,
# port 0, a fake Slack of their own), start no bot or agent process, and count, kill or time
# nothing on the shared servers: two at a time, beside each other. Every other suite under test/
# runs alone.
mapfile -t beside < <(
  printf '%s\n' test/slack/*.test.ts | grep -v '^test/slack/socket-mode.test.ts$'
  printf '%s\n' test/approve-as.test.ts test/not-found-codes.test.ts test/permission-matrix.test.ts \
    test/idempotency-key.test.ts test/rerun.test.ts test/run-by-requester.test.ts \
    test/bot-schema-context.test.ts test/strict-bodies.test.ts test/trojan-source.test.ts \
    test/sql-review-differential.test.ts
)
declare -A in_beside=()
for f in "${beside[@]}"; do
  [ -f "$f" ] || { echo "scripts/test.sh: $f is listed to run beside others but does not exist" >&2; exit 1; }
  in_beside[$f]=1
done
alone=()
for f in "${integration[@]}"; do [ -n "${in_beside[$f]:-}" ] || alone+=("$f"); done

echo "running ${#beside[@]} integration test files, two at a time"
node --import tsx --test "${force[@]}" --test-concurrency=2 "$@" "${beside[@]}"

echo "running ${#alone[@]} integration test files, one at a time"
node --import tsx --test "${force[@]}" --test-concurrency=1 "$@" "${alone[@]}"

# The use-case suites again, on PostgreSQL state (DBWARD_TEST_STATE, test/support/postgres-state.ts):
# the same tests through the same harness, the other engine. Suites that read the SQLite file
# itself (backup, offline verification, doctor, webhooks-restart's rows, slack-outbox-crash's
# outbox) or start bot processes on their own config stay in the first pass only, and so do
# suites whose subject is not the state store (Socket Mode's transport, unroutable Slack
# requests, the hostile-agent and run-mode attacks, the step-up attacks, whose two-instance case
# runs on PostgreSQL state in the first pass anyway, the attacks on the encrypted state, whose
# store-specific half is state-encryption.test.ts), so the whole run stays under 20 minutes.
postgres_suites=(
  test/bot-api.test.ts test/bot-concurrency.test.ts test/bot-sweeper.test.ts
  test/approve-as.test.ts test/users-admin.test.ts test/suspension.test.ts test/rerun.test.ts
  test/idempotency-key.test.ts test/bot-results-api.test.ts test/e2e-results.test.ts
  test/permission-matrix.test.ts test/not-found-codes.test.ts test/webhooks.test.ts
  test/slack/approvals.test.ts test/slack/home.test.ts test/slack/run-again.test.ts
  test/run-by-requester.test.ts test/bot-dry-run.test.ts test/bot-schema-context.test.ts
  test/slack/reminders.test.ts test/slack/redelivery.test.ts test/slack/approve-as.test.ts
  test/slack/admin.test.ts test/slack/join.test.ts test/slack/commands.test.ts
  test/slack/run-now.test.ts test/slack/plan-in-post.test.ts test/bot-restart-leases.test.ts
  test/idempotency-attack.test.ts test/bot-preflight.test.ts test/schema-and-guard-attack.test.ts
  test/slack/approve-and-run.test.ts test/slack/query-modal.test.ts
  test/slack/outbox-attack.test.ts test/slack/forged-or-replayed-request.test.ts
  test/step-up.test.ts test/state-encryption.test.ts test/state-encryption-clear-rows.test.ts
)
# Each bot state there is a database of its own, so the suites listed above run two at a time
# here too.
pg_beside=()
pg_alone=()
for f in "${postgres_suites[@]}"; do
  [ -f "$f" ] || { echo "scripts/test.sh: $f is listed for PostgreSQL state but does not exist" >&2; exit 1; }
  if [ -n "${in_beside[$f]:-}" ]; then pg_beside+=("$f"); else pg_alone+=("$f"); fi
done
echo "running ${#postgres_suites[@]} test files on PostgreSQL state (${#pg_beside[@]} two at a time)"
DBWARD_TEST_STATE=postgres node --import tsx --test "${force[@]}" --test-concurrency=2 "$@" "${pg_beside[@]}"
DBWARD_TEST_STATE=postgres node --import tsx --test "${force[@]}" --test-concurrency=1 "$@" "${pg_alone[@]}"
