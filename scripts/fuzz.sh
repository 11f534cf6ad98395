#!/usr/bin/env bash
# make fuzz: run every Fuzz* target of the module for FUZZTIME each (default 30s), one at a time.
# New crashers land in <pkg>/testdata/fuzz/<FuzzName>/; commit them with the fix as regression seeds.
# Each run ends with the fuzzer's last status line (execs, new interesting inputs).
# Minimizing new inputs is off by default (FUZZ_MINIMIZE=0): Go's fuzzer can lose its worker while
# minimizing an interesting input and abort with "terminated unexpectedly while minimizing: EOF"
# (golang/go#52569), seen here on pkg/values; crashers are then kept as found, not minimized.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $name ($fuzztime)"
		log=$(mktemp)
		if go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZ_MINIMIZE:-0}" -parallel "${FUZZ_PARALLEL:-1}" >"$log" 2>&1; then
			grep '^fuzz: elapsed' "$log" | tail -1
		else
			cat "$log"
			status=1
		fi
		rm -f "$log"
	done
done
exit $status
