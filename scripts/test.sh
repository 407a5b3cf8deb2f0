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
exec node --import tsx --test --test-concurrency=1 "$@" "${files[@]}"
