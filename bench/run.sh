#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs the benchmarks of bench/ in one go: the compute kernels (interpreter, JIT,
# native) and, end to end through the runtime, the bundled uprobe example with both backends.
# usage: bench/run.sh [BUILD_DIR] [bench_compute options...]
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" bench/bench_compute cli/bpfinject examples/hist.bpf.o >/dev/null

"$build/bench/bench_compute" "$@"

# struct pt_regs with di (the first argument, offset 112) = 1000.
regs=$(mktemp)
trap 'rm -f "$regs"' EXIT
{ head -c 112 /dev/zero; printf '\xe8\x03\0\0\0\0\0\0'; head -c 48 /dev/zero; } >"$regs"
echo
echo "end to end (bpfinject test-run, PROG_TEST_RUN, 200000 runs of examples/hist.bpf.o):"
for backend in jit interp; do
	"$build/cli/bpfinject" test-run "$build/examples/hist.bpf.o" hist_arg --ctx-in "$regs" \
		--repeat 200000 --backend "$backend" | sed -n 2p
done
