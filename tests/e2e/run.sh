#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (each builds and tears down its own lab)
# once per family: LAB_FAMILY=4 and its IPv6 twin LAB_FAMILY=6 (E2E_FAMILIES
# picks, e.g. E2E_FAMILIES=4), and prints the total as "N passed, N failed".
#
# E2E_JOBS (default 1) scripts run at once. Labs do not meet: each has
# namespaces, device names and a bpffs state directory of its own (LAB_ID,
# the netns cookie). A script marked '# e2e: alone' changes the host itself
# (test_pkg_install installs and purges the package and then looks for
# relaybpf files anywhere) and runs with no other. A script marked
# '# e2e: long' starts first, so that it does not end the run alone. Each
# script's output is printed whole when it ends, with its wall time.
set -u
cd "$(dirname "$0")"
jobs_max=${E2E_JOBS:-1}
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
passed=0
failed=0

# The runs, "FAMILY SCRIPT", long ones first.
runs() {
	local fam t
	for fam in ${E2E_FAMILIES:-4 6}; do
		for t in test_*.sh; do
			# What touches no address has no twin.
			[ "$fam" != 4 ] && grep -q '^# e2e: family-neutral' "$t" && continue
			if grep -q '^# e2e: long' "$t"; then echo "0 $fam $t"; else echo "1 $fam $t"; fi
		done
	done | sort -s -k1,1n | cut -d' ' -f2-
}

# One run, its output and exit status in out_dir.
run_one() { # family script
	local t0=$SECONDS
	LAB_FAMILY=$1 bash "$2" </dev/null >"$out_dir/$1-$2.out" 2>&1
	echo "$? $((SECONDS - t0))" >"$out_dir/$1-$2.rc"
}

# Prints a finished run and adds its results.
report() { # family script
	local fam=$1 t=$2 rc secs p f
	read -r rc secs <"$out_dir/$fam-$t.rc"
	echo "== $t (IPv$fam) ${secs} s"
	grep -v '^RESULT ' "$out_dir/$fam-$t.out"
	read -r p f < <(awk '/^RESULT /{print $2, $3}' "$out_dir/$fam-$t.out")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A script that died before its summary counts as one failure.
	if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		echo "  FAIL $t (IPv$fam) exited $rc"
		failed=$((failed + 1))
	fi
}

declare -A running=() # pid -> "family script"
# Waits for one run to end and reports it.
reap() {
	local pid
	wait -n -p pid "${!running[@]}"
	# shellcheck disable=SC2086 # "family script"
	report ${running[$pid]}
	unset "running[$pid]"
}

t0=$SECONDS
while read -r fam t; do
	if grep -q '^# e2e: alone' "$t"; then
		while [ ${#running[@]} -gt 0 ]; do reap; done
		run_one "$fam" "$t"
		report "$fam" "$t"
		continue
	fi
	while [ ${#running[@]} -ge "$jobs_max" ]; do reap; done
	run_one "$fam" "$t" &
	running[$!]="$fam $t"
done < <(runs)
while [ ${#running[@]} -gt 0 ]; do reap; done
echo "e2e: $passed passed, $failed failed in $((SECONDS - t0)) s ($jobs_max at once)"
[ "$failed" -eq 0 ]
