#!/usr/bin/env bash
# Runs the Web Platform Tests through the JS binding against the expectations files, as CI does,
# so no change to the core can regress conformance unseen.
#
#   scripts/ci-wpt.sh            fetch (or reuse) ./wpt, check it, run the three suites
#   scripts/ci-wpt.sh --record   rewrite scripts/wpt-files.sha256 from the ./wpt present now
#
# The suite is fetched by scripts/fetch-wpt.sh into ./wpt (git-ignored), and checked file by file
# against scripts/wpt-files.sha256, the hashes of the suite the expectations were written for. A
# ./wpt that already matches is reused without fetching. A fetch that fails, or a fetched suite
# that differs from the recorded one (a newer Node.js package, say), fails with a message that
# says which: the counts in the README and the expectations files only mean something for the
# recorded suite.
set -euo pipefail
cd "$(dirname "$0")/.."

hashes=scripts/wpt-files.sha256
dir=wpt

list_files() {
  find "$dir" -type f ! -name '*.pyc' | LC_ALL=C sort
}

if [ "${1:-}" = "--record" ]; then
  list_files | xargs sha256sum > "$hashes"
  echo "recorded $(wc -l < "$hashes") files of $dir in $hashes"
  exit 0
fi

matches() {
  [ -d "$dir" ] && sha256sum --check --quiet --strict "$hashes" >/dev/null 2>&1
}

if matches; then
  echo "== WPT: reusing ./$dir (matches $hashes)"
else
  echo "== WPT: fetching the suite (scripts/fetch-wpt.sh)"
  if ! scripts/fetch-wpt.sh "$dir"; then
    echo "CI: fetching the Web Platform Tests failed (scripts/fetch-wpt.sh above says why);" \
      "the WPT conformance check cannot run" >&2
    exit 1
  fi
  if ! matches; then
    echo "CI: the fetched WPT suite differs from the one recorded in $hashes:" >&2
    sha256sum --check --quiet "$hashes" 2>&1 | head -n 20 >&2 || true
    echo "CI: rerun the suites by hand, update the expectations files and the README's counts," \
      "then scripts/ci-wpt.sh --record" >&2
    exit 1
  fi
fi

# The debug build of the runner: `cargo test` has just built it, and the suites take seconds.
cargo build --locked -p sluicegate-js --bin wpt
runner=target/debug/wpt
harness="$dir/resources/testharness.js"
status=0
for suite in "streams:crates/sluicegate-js/wpt-expectations.txt" \
  "compression:crates/sluicegate-js/wpt-expectations-compression.txt" \
  "encoding/streams:crates/sluicegate-js/wpt-expectations-encoding.txt"; do
  folder="${suite%%:*}"
  expectations="${suite#*:}"
  echo "== WPT $folder against $expectations"
  if ! "$runner" "$dir/$folder" --harness "$harness" --expectations "$expectations" > wpt-run.log 2>&1; then
    tail -n 40 wpt-run.log
    echo "CI: WPT $folder differs from $expectations" >&2
    status=1
  else
    tail -n 2 wpt-run.log
  fi
done
rm -f wpt-run.log
exit "$status"
