#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks a freestanding archive for what the stub cannot carry: calls outside bpfinject's own
# code (libc, memcpy/memset emitted by the compiler, sanitizer runtimes) and writable data.
# Usage: check_freestanding.sh NM SIZE ARCHIVE
set -eu
nm=$1 size=$2 lib=$3

undef=$("$nm" -u "$lib" | awk 'NF == 2 && $1 == "U" { print $2 }' | sort -u)
bad=$(printf '%s\n' "$undef" | grep -v -E '^$|^(bpfi_|stub_|maps__|interp__)' || true)
if [ -n "$bad" ]; then
	echo "$lib: calls outside the stub's own code:" $bad
	exit 1
fi

# .data, .bss, .data.rel.ro and friends must be empty (STYLE §2.6: no writable globals, no
# relocated pointers).
data=$("$size" -A "$lib" | awk '$1 ~ /^\.(data|bss|tbss|tdata)/ && $2 != 0 { print $1 " " $2 }')
if [ -n "$data" ]; then
	echo "$lib: writable or relocated data:" $data
	exit 1
fi
echo "$lib: freestanding, no writable data"
