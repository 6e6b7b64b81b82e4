#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer harness of a -Dfuzz=true build for SECONDS, from seed corpora made of the
# test objects (whole objects, their .BTF sections, their program sections) and the inputs that
# once crashed (tests/fuzz/crashes/). Fails on any crash or sanitizer report, and on a timeout
# except in fuzz_prog (the check may take seconds on a long constant loop: see README).
#   tests/fuzz/run.sh BUILD_DIR SECONDS [WORK_DIR]
# WORK_DIR (default: a new /tmp directory) keeps the corpora, logs and any crashing input.
set -euo pipefail
build=$(realpath "$1")
secs=$2
work=${3:-$(mktemp -d /tmp/bpfi-fuzz-XXXXXX)}
src=$(cd "$(dirname "$0")/../.." && pwd)

mkdir -p "$work/artifacts"
for h in object prog maps btf; do
	mkdir -p "$work/$h/seed" "$work/$h/corpus"
done
objs=("$build"/tests/bpf/*.o "$build"/examples/*.o)
cp "${objs[@]}" "$src"/tests/fuzz/crashes/*.elf "$work/object/seed/"
for o in "${objs[@]}"; do
	b=$(basename "$o" .o)
	llvm-objcopy --dump-section=.BTF="$work/btf/seed/$b.btf" "$o" /dev/null
	# Each program section, after a program type selector byte (0: kprobe).
	for s in $(llvm-readelf -S --wide "$o" | sed -n 's/^ *\[ *[0-9]*\] //p' |
		awk '$7 ~ /X/ && $5 != "000000" { print $1 }'); do
		llvm-objcopy --dump-section="$s=$work/prog/section.raw" "$o" /dev/null
		{ printf '\0'; cat "$work/prog/section.raw"; } >"$work/prog/seed/$b.${s//\//_}"
		rm "$work/prog/section.raw"
	done
done

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fail=0
for h in object prog maps btf; do
	extra=(-timeout=20)
	[ "$h" = prog ] && extra=(-fork=1 -ignore_timeouts=1 -timeout=20)
	if "$build/tests/fuzz/fuzz_$h" -max_total_time="$secs" -rss_limit_mb=2048 \
		-artifact_prefix="$work/artifacts/$h-" -print_final_stats=1 "${extra[@]}" \
		"$work/$h/corpus" "$work/$h/seed" >"$work/$h.log" 2>&1; then
		runs=$(grep -ohE 'stat::number_of_executed_units: *[0-9]+|^#[0-9]+' "$work/$h.log" |
			tail -1 | grep -oE '[0-9]+$')
		echo "fuzz: fuzz_$h: ${runs:-?} inputs in ${secs}s, no crash"
	else
		echo "fuzz: fuzz_$h FAILED (log: $work/$h.log; inputs: $work/artifacts/)" >&2
		grep -E 'ERROR|SUMMARY|fuzz_maps:|^    #[0-9] ' "$work/$h.log" | head -20 >&2
		fail=1
	fi
done
[ "$fail" = 0 ] && [ -z "${3:-}" ] && rm -rf "$work"
exit "$fail"
