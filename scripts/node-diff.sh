#!/usr/bin/env bash
# Differential tests of sluicegate-node against Node.js's own streams
# (crates/sluicegate-node/tests/differential.rs; RELIABILITY.md, "Differential tests against
# Node.js"): random scenarios run on both, and their event logs must be equal.
#
#   scripts/node-diff.sh                      20,000 scenarios, seed 1
#   DIFF_CASES=100000 DIFF_SEED=7 scripts/node-diff.sh
#
# Needs Node.js 20 or later, the version whose behaviour the crate follows. Installs Debian's
# nodejs when no `node` is on the PATH; with none of version 20 or later, says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."

major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

if ! command -v node >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "node-diff: no node on the PATH; installing Debian's nodejs"
  (apt-get update -qq && apt-get install -y -qq nodejs >/dev/null) || true
fi
if [ "$(major)" -lt 20 ]; then
  echo "node-diff: SKIPPED: needs Node.js 20 or later on the PATH" \
    "(found: $(node --version 2>/dev/null || echo none))" >&2
  exit 0
fi
echo "node-diff: Node.js $(node --version), ${DIFF_CASES:=20000} scenarios, seed ${DIFF_SEED:=1}"
export DIFF_CASES DIFF_SEED
cargo test --locked --release -p sluicegate-node --features node-differential --test differential
