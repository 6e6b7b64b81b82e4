#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo at this stage (run by `./dev demo` after building into build/): the bundled
# uprobe example disassembled and checked, then run in-process through PROG_TEST_RUN with a
# struct pt_regs whose first argument we choose, by the JIT and by the interpreter, showing
# its histogram, its per-argument hash map, its globals and its trace_printk output.
# Later issues inject the same object into a live process instead.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BPFI_BUILD_DIR:-build}
bpfinject=$build/cli/bpfinject
hist=$build/examples/hist.bpf.o
ringbuf=$build/examples/ringbuf.bpf.o
for f in "$bpfinject" "$hist" "$ringbuf"; do
	[ -e "$f" ] || { echo "demo: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A 168-byte x86-64 struct pt_regs with di (offset 112: the first argument) set to $2.
write_regs() {
	local out=$1 arg=$2 esc= i
	for i in 0 1 2 3 4 5 6 7; do
		esc+=$(printf '\\x%02x' $(((arg >> (8 * i)) & 255)))
	done
	{
		head -c 112 /dev/zero
		printf "$esc"
		head -c 48 /dev/zero
	} >"$out"
}

show() {
	printf '\n\033[1m$ %s\033[0m\n' "bpfinject $*"
}

run() {
	show "$@"
	"$bpfinject" "$@"
}

write_regs "$tmp/regs-1000.bin" 1000
write_regs "$tmp/regs-path.bin" 0

echo "bpfinject demo: eBPF programs checked, JIT-compiled and run in userspace, no kernel eBPF"
run dump -d "$hist"
run test-run "$hist" hist_arg --ctx-in "$tmp/regs-1000.bin" --repeat 100000
# The same with the interpreter, for the time per run (sed reads everything: no SIGPIPE).
show test-run "$hist" hist_arg --ctx-in "$tmp/regs-1000.bin" --repeat 100000 --backend interp
"$bpfinject" test-run "$hist" hist_arg --ctx-in "$tmp/regs-1000.bin" --repeat 100000 \
	--backend interp | sed -n '1,2p'
echo "..."
# JSON for scripts: here python3 (when present) keeps the non-zero histogram buckets.
show test-run "$hist" hist_arg --ctx-in "$tmp/regs-1000.bin" --repeat 3 --json
"$bpfinject" test-run "$hist" hist_arg --ctx-in "$tmp/regs-1000.bin" --repeat 3 --json \
	>"$tmp/out.json"
if command -v python3 >/dev/null; then
	python3 - "$tmp/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for m in doc["maps"]:
    if m["name"] == "hist":
        m["entries"] = [e for e in m["entries"] if e["value"]]
print(json.dumps(doc, indent=2))
PY
else
	cat "$tmp/out.json"
fi

# The first argument of trace_open is a path: 0 is a bad pointer, so the helper returns
# -EFAULT and the event carries an empty path instead of crashing.
run test-run "$ringbuf" trace_open --ctx-in "$tmp/regs-path.bin" --repeat 10
