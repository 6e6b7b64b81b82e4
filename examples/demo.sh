#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo (run by `./dev demo` after building into build/):
#  1. a bundled service starts; bpfinject attaches an example to it while it runs: a
#     histogram of the sizes it asks malloc for, and the latency of one of its functions
#     (entry and return probes), printing slow calls; after a few seconds it detaches,
#     restoring every byte, and the service goes on;
#  2. the bundled uprobe example checked, disassembled and run in-process through
#     PROG_TEST_RUN with a struct pt_regs of our choosing, by the JIT and the interpreter;
#  3. `bpfinject fault` making dd's third write fail with EIO;
#  4. an unmodified libbpf-tools binary (syscount) with its probes inside the service, through
#     the shim (when Debian's libbpf-tools is installed: ./dev installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BPFI_BUILD_DIR:-build}
bpfinject=$build/cli/bpfinject
hist=$build/examples/hist.bpf.o
ringbuf=$build/examples/ringbuf.bpf.o
latency=$build/examples/service_latency.bpf.o
service=$build/examples/demo_service
for f in "$bpfinject" "$hist" "$ringbuf" "$latency" "$service"; do
	[ -e "$f" ] || { echo "demo: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done

tmp=$(mktemp -d)
service_pid=
cleanup() {
	[ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

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

echo "bpfinject demo: eBPF programs checked, JIT-compiled and run inside a live process"
echo
echo "== 1. A live service, probed while it runs"
"$service" 3 >"$tmp/service.log" &
service_pid=$!
sleep 1.2
echo "service pid $service_pid: $(tail -n 1 "$tmp/service.log")"
run -p "$service_pid" "$latency" -a request_enter=handle_request -a request_exit=handle_request \
	--duration 3
sleep 1.2
echo
echo "after detach, the service is still running: $(tail -n 1 "$tmp/service.log")"
kill -0 "$service_pid" && echo "(process $service_pid alive)"
kill "$service_pid"
wait "$service_pid" 2>/dev/null || true
service_pid=

echo
echo "== 2. The same machinery in-process: check, disassemble, run through PROG_TEST_RUN"
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

echo
echo "== 3. Fault injection for CI, no eBPF to write: the third write(2) of dd fails with EIO"
show fault --syscall write --errno EIO --after 2 -- dd if=/dev/zero of="$tmp/out" bs=1k count=5
"$bpfinject" fault --syscall write --errno EIO --after 2 -- dd if=/dev/zero of="$tmp/out" \
	bs=1k count=5 2>&1 | grep -v 'syscall sites' || true
echo "dd wrote $(stat -c %s "$tmp/out") bytes of 5120"

if [ -x /usr/sbin/syscount ] && [ -e "$build/shim/libbpfinject-shim.so" ]; then
	echo
	echo "== 4. An unmodified libbpf-tools binary, its probes inside the service (the shim)"
	"$service" 3 >"$tmp/service.log" &
	service_pid=$!
	sleep 0.5
	show run -p "$service_pid" -- timeout -s INT 3 /usr/sbin/syscount -p "$service_pid"
	"$bpfinject" run -p "$service_pid" -- timeout -s INT 3 /usr/sbin/syscount \
		-p "$service_pid" 2>&1 | grep -v 'syscall sites' || true
	kill "$service_pid"
	wait "$service_pid" 2>/dev/null || true
	service_pid=
fi
