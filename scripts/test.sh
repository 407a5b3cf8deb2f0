#!/usr/bin/env bash
# Runs every test file explicitly. On Node 20, `node --test` with no file arguments finds no .ts
# files and still exits 0, so an empty list is an error here: CI can never pass by running nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find shared bot agent cli test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "scripts/test.sh: no test files found" >&2
  exit 1
fi
echo "running ${#files[@]} test files"
node --import tsx --test --test-concurrency=1 "$@" "${files[@]}"

# The use-case suites again, on PostgreSQL state (DBWARD_TEST_STATE, test/support/postgres-state.ts):
# the same tests through the same harness, the other engine. Suites that read the SQLite file
# itself (backup, offline verification, doctor) stay in the first pass only.
postgres_suites=(
  test/bot-api.test.ts test/bot-concurrency.test.ts test/bot-sweeper.test.ts test/approve-as.test.ts
  test/users-admin.test.ts test/suspension.test.ts test/rerun.test.ts test/idempotency-key.test.ts
  test/bot-results-api.test.ts test/e2e-results.test.ts test/permission-matrix.test.ts
  test/not-found-codes.test.ts test/webhooks.test.ts test/slack/approvals.test.ts test/slack/home.test.ts
  test/slack/socket-mode.test.ts test/slack/run-again.test.ts
)
echo "running ${#postgres_suites[@]} test files on PostgreSQL state"
DBWARD_TEST_STATE=postgres node --import tsx --test --test-concurrency=1 "$@" "${postgres_suites[@]}"
