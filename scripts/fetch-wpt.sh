#!/usr/bin/env bash
# Fetches the Web Platform Tests' streams suite, for `cargo run --release -p sluicegate-js --bin
# wpt`, into a directory of your choice (default: ./wpt, which git ignores). Nothing fetched here
# is ever committed.
#
# Where from: the WPT files Node.js vendors under `test/fixtures/wpt` (streams/, resources/,
# common/, interfaces/), taken from the Debian source package of nodejs through apt, so it works
# on a machine whose only network is the package registries. Needs apt-get, xz and a Debian
# machine (or `apt-get source` configured); `WPT_SUITE` picks the Debian release (default
# trixie: Node 20.19, WPT streams at the commit its versions.json records). On a machine with
# GitHub access, a sparse checkout of web-platform-tests/wpt (streams/ resources/ common/
# interfaces/) works the same way.
set -euo pipefail

dest="${1:-wpt}"
suite="${WPT_SUITE:-trixie}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The machine's own Debian sources, as source-package sources of the chosen release.
sources=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$sources" ]; then
  echo "no $sources: this script needs a Debian machine with deb822 apt sources" >&2
  exit 1
fi
awk -v suite="$suite" '
  /^Types:/ { print "Types: deb-src"; next }
  /^Suites:/ { print "Suites: " suite; next }
  { print }
' "$sources" | awk 'BEGIN { RS=""; ORS="\n\n" } NR == 1' > "$work/src.sources"
mkdir -p "$work/lists/partial" "$work/archives/partial"
apt_opts=(-o "Dir::Etc::SourceList=$work/src.sources" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives")
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only nodejs >/dev/null 2>&1 || true)
orig="$(ls "$work"/nodejs_*.orig.tar.xz 2>/dev/null | head -n 1)"
if [ -z "$orig" ]; then
  echo "could not download the nodejs source package for $suite" >&2
  exit 1
fi
tar -xJf "$orig" -C "$work" --wildcards '*/test/fixtures/wpt/*'
src="$(echo "$work"/node-*/test/fixtures/wpt)"
mkdir -p "$dest"
for d in streams resources common interfaces; do
  rm -rf "${dest:?}/$d"
  cp -r "$src/$d" "$dest/$d"
done
cp "$src/versions.json" "$src/LICENSE.md" "$dest/"
# WPT serves /resources/WebIDLParser.js from webidl2 (a symlink upstream, dropped by Node).
ln -sf webidl2/lib/webidl2.js "$dest/resources/WebIDLParser.js"
echo "WPT streams suite in $dest (from $(basename "$orig"); WPT commits in $dest/versions.json)"
