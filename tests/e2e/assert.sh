# shellcheck shell=bash
# Minimal assertions for the e2e scripts: each prints ok/FAIL and is
# counted; the script's exit status says whether any failed.
E2E_PASSED=0
E2E_FAILED=0

pass() { E2E_PASSED=$((E2E_PASSED + 1)); echo "  ok   $1"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "  FAIL $1"; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
# expect_match NAME REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1: '$3' does not match /$2/"; fi
}
# expect_ok NAME CMD...: CMD exits 0
expect_ok() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name: '$*' failed"; fi
}
# expect_gt NAME LIMIT VALUE
expect_gt() {
	if [ "${3:-0}" -gt "$2" ] 2>/dev/null; then pass "$1"; else fail "$1: expected > $2, got '${3}'"; fi
}

e2e_summary() {
	echo "RESULT $E2E_PASSED $E2E_FAILED"
	[ "$E2E_FAILED" -eq 0 ]
}
