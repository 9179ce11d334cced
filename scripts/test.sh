#!/usr/bin/env bash
# The whole suite, on SQLite and on PostgreSQL (DOCENT_TEST_POSTGRES_URL, default the local server).
# Without a reachable PostgreSQL the PostgreSQL half is reported as skipped; under CI=true that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under test/" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=2 "$@" "${files[@]}"
