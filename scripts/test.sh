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
# The web catalog's build, once before any test: the browser tests load it and every app serves it (test files run
# two at a time, so none of them may rebuild it while another reads it).
node -e "import('vite').then(({ build }) => build({ configFile: 'ui/vite.config.ts', logLevel: 'warn' }))"
url="${DOCENT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! node -e "const c = new (require('pg').Client)({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
  c.connect().then(() => c.end(), () => process.exit(1))" "$url" 2>/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "npm test: PostgreSQL at $url is not reachable, and CI=true requires it" >&2
    exit 1
  fi
  echo "npm test: PostgreSQL at $url is not reachable: every PostgreSQL suite is SKIPPED (SQLite runs in full)" >&2
fi
exec node --import tsx --test --test-concurrency=2 "$@" "${files[@]}"
