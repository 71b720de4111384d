#!/usr/bin/env bash
# Differential tests of the JS binding against the Streams Standard's reference implementation
# (crates/sluicegate-js/tests/web_differential.rs; RELIABILITY.md, "Differential tests against
# the reference implementation"): random scenarios run on sluicejs and, under Node.js, on the
# reference implementation as web-streams-polyfill ports it; their event logs must be equal.
#
#   scripts/web-diff.sh                                  50,000 seeds from 1
#   WEB_DIFF_CASES=100000 WEB_DIFF_SEED=7 scripts/web-diff.sh
#   WEB_DIFF_KINDS=transform scripts/web-diff.sh          another kind of scenario
#
# Installs the polyfill with `npm ci` from the lockfile beside the scenarios (into
# target/web-diff), and Debian's nodejs and npm when there is no `node` or `npm`; with no
# Node.js 18 or later, says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."

major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

if { ! command -v node || ! command -v npm; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "web-diff: no node or npm on the PATH; installing Debian's nodejs and npm"
  (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null) || true
fi
if [ "$(major)" -lt 18 ] || ! command -v npm >/dev/null 2>&1; then
  echo "web-diff: SKIPPED: needs Node.js 18 or later and npm on the PATH" \
    "(found: node $(node --version 2>/dev/null || echo none), npm $(npm --version 2>/dev/null || echo none))" >&2
  exit 0
fi

dir=target/web-diff
mkdir -p "$dir"
cp crates/sluicegate-js/tests/web_differential/package.json \
  crates/sluicegate-js/tests/web_differential/package-lock.json "$dir/"
if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  echo "web-diff: FAILED: could not install web-streams-polyfill from the package registry (npm ci in $dir)" >&2
  exit 1
fi
export WEB_STREAMS_POLYFILL="$PWD/$dir/node_modules/web-streams-polyfill"
echo "web-diff: Node.js $(node --version), web-streams-polyfill" \
  "$(node -p "require('$WEB_STREAMS_POLYFILL/package.json').version"), ${WEB_DIFF_CASES:=50000} seeds from ${WEB_DIFF_SEED:=1}," \
  "kinds ${WEB_DIFF_KINDS:=readable,from,bytes,writable,transform}"
export WEB_DIFF_CASES WEB_DIFF_SEED WEB_DIFF_KINDS
cargo test --locked --release -p sluicegate-js --features web-differential --test web_differential -- --nocapture
