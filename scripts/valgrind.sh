#!/usr/bin/env bash
# Runs the tests that exercise the workspace's `unsafe` code under valgrind's memcheck; any
# memcheck error (invalid read or write, use of uninitialised memory, bad free, a definite leak)
# fails the run. The list of `unsafe` sites and the tests that cover them is in RELIABILITY.md,
# "unsafe code". Installs valgrind with apt-get when it is missing (CI machines run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
  else
    echo "valgrind is not installed and apt-get is not available" >&2
    exit 1
  fi
fi

# The test executables of a package's target, built like `cargo test` builds them.
executable() { # package, cargo target args...
  local package="$1"
  shift
  # Only the test harness (in deps/), not the package's binaries built alongside it.
  cargo test --locked -p "$package" "$@" --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep '/deps/' | tail -n 1
}

# Leaks that count as errors: "definite" (memory nothing points to at exit; memory still
# reachable from statics, the test harness's or the runtime's, is not a leak). LEAKS=none for a
# run whose definite leaks are known and only reported (see RELIABILITY.md; no run needs it now).
memcheck() { # label, executable, test filters...
  local label="$1" exe="$2"
  shift 2
  echo "== valgrind: $label ($*)"
  # --fair-sched: the domain and tick-lock tests contend on spinning locks.
  valgrind --tool=memcheck --error-exitcode=1 --fair-sched=yes --leak-check=full \
    --errors-for-leak-kinds="${LEAKS:-definite}" --show-leak-kinds=definite --quiet \
    "$exe" --test-threads=1 -q "$@"
}

echo "== building the test executables"
cargo test --locked -p sluicegate --lib --no-run -q
core_lib="$(executable sluicegate --lib)"
core_int="$(executable sluicegate --test integration)"
node_lib="$(executable sluicegate-node --lib)"
node_readable="$(executable sluicegate-node --test readable_basics)"
node_writable="$(executable sluicegate-node --test writable_basics)"
node_dropped="$(executable sluicegate-node --test dropped_loops)"
js_lib="$(executable sluicegate-js --lib)"
js_int="$(executable sluicegate-js --test integration)"
js_dropped="$(executable sluicegate-js --test dropped_runtime)"

# The core: the buffer pool (io/pool.rs), aligned BYOB buffers (readable/byob_view.rs), the
# domain lock and its raw mutex (host/domain.rs, sync.rs).
memcheck "sluicegate lib" "$core_lib" io::pool readable::byob_view host::domain host::cell
# The core's I/O bridges that set a pool buffer's length (io/async_read_source.rs,
# io/threaded.rs through files), and BYOB requests over aligned buffers; and streams whose
# handles are all dropped with work pending (dropped_streams, and io_file's pipe dropped before
# its first poll: until 2026-12-07 the known leak of RELIABILITY.md, skipped here), which must
# free everything.
memcheck "sluicegate integration" "$core_int" io_async_read_source io_file bytes_byob_request dropped_streams
# The Node model: the tick lock and its cell (tick/lock.rs, tick/cell.rs), the implementor
# cell (implementor.rs) behind every Node stream's user methods.
memcheck "sluicegate-node lib" "$node_lib" tick::
# Some of these tests end with ticks still queued: the loop's last handle drops them (issue 12).
memcheck "sluicegate-node readable" "$node_readable"
memcheck "sluicegate-node writable" "$node_writable"
# Loops dropped with work queued, and the handles that keep that work.
memcheck "sluicegate-node dropped loops" "$node_dropped"
# The QuickJS binding: contexts from raw pointers and the core's microtask job (runtime.rs),
# shared JS values (value.rs), module detection (script/modules.rs), callable and class checks
# (convert.rs), the controllers' native members and their borrowed arguments (streams/native.rs).
memcheck "sluicegate-js lib" "$js_lib" script::modules convert:: runtime:: streams::native
# Some of these tests drop their runtime with streams, reads and pipes pending: the runtime frees
# them (issue 12).
memcheck "sluicegate-js integration" "$js_int" runtime:: byte_streams::
# Runtimes dropped with work pending, under a counting global allocator (an `unsafe impl
# GlobalAlloc` forwarding to the system's); no libtest, so no filter.
memcheck "sluicegate-js dropped runtimes" "$js_dropped"
echo "== valgrind: 0 memcheck errors"
