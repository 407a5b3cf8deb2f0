#!/usr/bin/env bash
# Type-checks and lints side by side (each runs mostly on one core); fails when either fails,
# after both have said what is wrong.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run --silent typecheck &
typecheck=$!
npm run --silent lint
lint=$?
wait "$typecheck"
typecheck=$?
[ "$typecheck" -eq 0 ] && [ "$lint" -eq 0 ]
