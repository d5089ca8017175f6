#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (each builds and tears down its own lab)
# once per family: LAB_FAMILY=4, then its IPv6 twin LAB_FAMILY=6 (E2E_FAMILIES
# picks, e.g. E2E_FAMILIES=4), and prints the total as "N passed, N failed".
set -u
cd "$(dirname "$0")"
passed=0
failed=0
for fam in ${E2E_FAMILIES:-4 6}; do
	for t in test_*.sh; do
		# What touches no address has no twin.
		[ "$fam" != 4 ] && grep -q '^# e2e: family-neutral' "$t" && continue
		echo "== $t (IPv$fam)"
		out=$(LAB_FAMILY=$fam bash "$t" 2>&1)
		rc=$?
		echo "$out" | grep -v '^RESULT '
		read -r p f < <(echo "$out" | awk '/^RESULT /{print $2, $3}')
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		# A script that died before its summary counts as one failure.
		if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
			echo "  FAIL $t (IPv$fam) exited $rc"
			failed=$((failed + 1))
		fi
	done
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
