#!/usr/bin/env bash
# Fetches the Web Platform Tests' streams, compression and encoding suites, for `cargo run
# --release -p sluicegate-js --bin wpt`, into a directory of your choice (default: ./wpt, which git
# ignores). Nothing fetched here is ever committed.
#
# Where from: the WPT files Node.js vendors under `test/fixtures/wpt`, taken from the Debian
# source package of nodejs through apt, so it works on a machine whose only network is the
# package registries. Needs apt-get, xz and a Debian machine with deb822 apt sources.
#
# - streams/, resources/, common/, interfaces/ come from `WPT_SUITE` (default trixie: Node 20.19,
#   WPT streams at the commit its versions.json records), the suite the README's streams counts
#   are for.
# - compression/ and encoding/ come from `WPT_EXTRA_SUITE` (default sid: Node 22, whose copy has
#   compression/, which Node 20's lacks); each source version the suite lists is tried, newest
#   first, until one downloads. Their WPT commits go to versions-compression-encoding.json.
#
# On a machine with GitHub access, a sparse checkout of web-platform-tests/wpt (streams/
# compression/ encoding/ resources/ common/ interfaces/) works the same way.
set -euo pipefail

dest="${1:-wpt}"
suite="${WPT_SUITE:-trixie}"
extra_suite="${WPT_EXTRA_SUITE:-sid}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sources=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$sources" ]; then
  echo "no $sources: this script needs a Debian machine with deb822 apt sources" >&2
  exit 1
fi

# Downloads the nodejs source of Debian suite $1 into $work/$1 and extracts its WPT fixtures;
# prints the fixtures' directory.
node_wpt() {
  local s="$1" dir="$work/$1"
  mkdir -p "$dir/lists/partial" "$dir/archives/partial"
  # The machine's own Debian sources, as source-package sources of the chosen release.
  awk -v suite="$s" '
    /^Types:/ { print "Types: deb-src"; next }
    /^Suites:/ { print "Suites: " suite; next }
    { print }
  ' "$sources" | awk 'BEGIN { RS=""; ORS="\n\n" } NR == 1' > "$dir/src.sources"
  local apt_opts=(-o "Dir::Etc::SourceList=$dir/src.sources" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::Archives=$dir/archives")
  apt-get "${apt_opts[@]}" update >/dev/null 2>&1
  local versions
  versions="$(apt-cache "${apt_opts[@]}" showsrc nodejs 2>/dev/null | awk '/^Version:/ { print $2 }' |
    sort -rV | uniq)"
  for v in "" $versions; do
    # First what `apt-get source` picks, then each listed version (a mirror may lack the newest).
    (cd "$dir" && apt-get "${apt_opts[@]}" source --download-only "nodejs${v:+=$v}" >/dev/null 2>&1 ||
      true)
    if ls "$dir"/nodejs_*.orig.tar.xz >/dev/null 2>&1; then
      break
    fi
  done
  local orig
  orig="$(ls "$dir"/nodejs_*.orig.tar.xz 2>/dev/null | head -n 1)"
  if [ -z "$orig" ]; then
    echo "could not download the nodejs source package for $s" >&2
    return 1
  fi
  tar -xJf "$orig" -C "$dir" --wildcards '*/test/fixtures/wpt/*'
  echo "$dir"/node-*/test/fixtures/wpt
}

src="$(node_wpt "$suite")"
extra="$(node_wpt "$extra_suite")"
mkdir -p "$dest"
for d in streams resources common interfaces; do
  rm -rf "${dest:?}/$d"
  cp -r "$src/$d" "$dest/$d"
done
for d in compression encoding; do
  rm -rf "${dest:?}/$d"
  cp -r "$extra/$d" "$dest/$d"
done
# The IDL of the compression and encoding suites' idlharness files, which Node 20's interfaces/
# lacks.
for idl in compression encoding; do
  if [ -f "$extra/interfaces/$idl.idl" ]; then
    cp "$extra/interfaces/$idl.idl" "$dest/interfaces/"
  fi
done
cp "$src/versions.json" "$src/LICENSE.md" "$dest/"
cp "$extra/versions.json" "$dest/versions-compression-encoding.json"
# WPT serves /resources/WebIDLParser.js from webidl2 (a symlink upstream, dropped by Node).
ln -sf webidl2/lib/webidl2.js "$dest/resources/WebIDLParser.js"
echo "WPT streams suite in $dest from $(basename "$(dirname "$(dirname "$(dirname "$src")")")"), \
compression and encoding from $(basename "$(dirname "$(dirname "$(dirname "$extra")")")") \
(WPT commits in $dest/versions*.json)"
