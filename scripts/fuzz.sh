#!/usr/bin/env bash
# Fuzzing on the stable toolchain: libFuzzer (from the libfuzzer-sys crate, which builds it with
# the C++ compiler) linked into binaries that rustc instruments with LLVM's SanitizerCoverage
# passes, enabled by codegen flags that stable accepts. See RELIABILITY.md, "Fuzzing".
#
#   scripts/fuzz.sh build                    build both instrumented targets
#   scripts/fuzz.sh replay TARGET            run every input of the committed corpus once
#   scripts/fuzz.sh run TARGET SECONDS [ARGS] fuzz for SECONDS from the corpus (new inputs go to
#                                            target/fuzz/corpus/TARGET, crashes to
#                                            target/fuzz/artifacts/TARGET); extra ARGS go to
#                                            libFuzzer (for example -jobs=2 -workers=2)
#   scripts/fuzz.sh merge TARGET             fold the new inputs that add coverage into the
#                                            committed corpus (minimised)
#
# TARGET is byte_controller or js_binding. Builds go to target/fuzz, apart from the workspace's
# ordinary target directory, so they never invalidate (or slow) `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="$PWD/target/fuzz"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$CARGO_TARGET_DIR/$triple/release"
corpus="crates/sluicegate-fuzz/corpus"

build() {
  # libfuzzer-sys compiles libFuzzer, which is C++: install a compiler when there is none.
  if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq g++ >/dev/null
    else
      echo "fuzzing needs a C++ compiler (for libFuzzer), and apt-get is not available" >&2
      exit 1
    fi
  fi
  # `--target` keeps the flags off build scripts and proc macros; only the fuzzed code (and its
  # dependencies) is instrumented. Debug assertions and overflow checks stay on, so an arithmetic
  # overflow is a crash too.
  RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
    cargo build --locked --release -p sluicegate-fuzz --features libfuzzer --bins \
    --target "$triple"
}

check_target() {
  case "${1:-}" in
    byte_controller | js_binding) ;;
    *) echo "usage: scripts/fuzz.sh build|replay|run|merge byte_controller|js_binding" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  build) build ;;
  replay)
    check_target "${2:-}"
    "$bin_dir/$2" -runs=0 -timeout=20 "$corpus/$2"
    ;;
  run)
    check_target "${2:-}"
    secs="${3:?how many seconds}"
    mkdir -p "target/fuzz/corpus/$2" "target/fuzz/artifacts/$2"
    "$bin_dir/$2" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="target/fuzz/artifacts/$2/" "${@:4}" \
      "target/fuzz/corpus/$2" "$corpus/$2"
    ;;
  merge)
    check_target "${2:-}"
    mkdir -p "target/fuzz/corpus/$2"
    "$bin_dir/$2" -merge=1 -timeout=20 "$corpus/$2" "target/fuzz/corpus/$2"
    ;;
  *) check_target "" ;;
esac
