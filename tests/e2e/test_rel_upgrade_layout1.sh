#!/usr/bin/env bash
# Upgrades from a build before services, whose front configuration is
# layout 1 (RELAY_CFG_VERSION 1, 384 bytes: its devices at other offsets).
# The last such commit is built from git history (a worktree of its own,
# once: build/layout1-<commit> is reused), its front and back attached;
# then this build:
#  1. `status` names the front's devices (it read ifindex 0 before);
#  2. `attach` over it keeps a running TCP stream and its conntrack entry,
#     and the counts of its counters (one map entry each, before struct
#     relay_stats_value: converted, user/pin.c's stats_fold);
#  3. `detach` removes every filter of relaybpf's;
#  4. the old build attached again, this build's `detach` before any attach
#     of its own: nothing left either (it left the old TC filters behind).
set -u
. "$(dirname "$0")/rel_lib.sh"
TCP_PORT=45021

cleanup() {
	touch "$LAB_DIR/stop"
	sleep 0.5
	lab_down
	[ -n "${WT:-}" ] && git -C "$REPO" worktree remove --force "$WT" 2>/dev/null
}
trap cleanup EXIT
trap "exit 1" INT TERM

# The commit that made the configuration layout 2; its first parent is the
# last of layout 1.
V2=$(git -C "$REPO" log --format=%H -S'#define RELAY_CFG_VERSION 2' -- include/relaybpf.h | tail -1)
OLD_COMMIT=$(git -C "$REPO" rev-parse --short "$V2^1" 2>/dev/null)
if [ -z "$OLD_COMMIT" ]; then
	# A shallow clone has no such commit: said, not failed.
	echo "  skip: git history before $(git -C "$REPO" rev-parse --short HEAD) is not here (a shallow clone?)"
	echo "RESULT 0 0"
	exit 0
fi
OLD="$REPO/build/layout1-$OLD_COMMIT/relaybpf"
t_build=$(date +%s)
if [ ! -x "$OLD" ]; then
	WT=$(mktemp -d /tmp/relaybpf-layout1.XXXXXX)
	if ! git -C "$REPO" worktree add -q --detach "$WT" "$OLD_COMMIT" ||
		! nice make -s -C "$WT" -j2 build/relaybpf >"$LAB_DIR/build.log" 2>&1; then
		tail -20 "$LAB_DIR/build.log"
		echo "  FAIL building $OLD_COMMIT (layout 1)"
		echo "RESULT 0 1"
		exit 1
	fi
	mkdir -p "$(dirname "$OLD")" && cp "$WT/build/relaybpf" "$OLD"
fi
echo "  (the layout 1 build $OLD_COMMIT: $(($(date +%s) - t_build)) s)"

stream_age() {
	front "$RELAYBPF" conntrack --json --proto tcp | jq -r ".[] | select(.client_port == $TCP_PORT) | .age_s"
}
# filters DEV: relaybpf's TC filters on DEV in the front's namespace.
filters() { front tc filter show dev "$1" ingress | grep -c 'handle 0x52b'; }
attach_old() {
	front "$OLD" attach --role front --dev f0 --backend "$BACK_TUN" &&
		back "$OLD" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
}

lab_up_or_die
lab_spawn "$NS_BACK" socat "$TCP_LISTEN:8080,reuseaddr,fork" EXEC:cat
wait_listening "$NS_BACK" tcp 8080
expect_ok "the layout 1 build attaches both roles" attach_old
expect_eq "its configuration is layout 1" 1 \
	"$(front bpftool map dump pinned "$(front find /sys/fs/bpf -name relay_front_cfg | head -1)" -j |
		jq -r '.[0].value | length == 384 | if . then 1 else 0 end')"

tcp_stream "$TCP_PORT" >"$LAB_DIR/rt" 2>&1 &
stream=$!
t=$(now)
expect_ok "the TCP stream flows" rt_after "$LAB_DIR/rt" "$t" 5
sleep 2

# 1. status by this build.
out=$(front "$RELAYBPF" status 2>&1)
expect_match "1: status names the public device" "f0" "$out"
expect_match "1: and the tunnel device" "$TUN_FRONT" "$out"

# 2. attach by this build over it. Its counters, read as they are by this
# build: returned_packets (counter 2: not the first, which a conversion
# keeping one value alone would keep too) grows by ~10 a second; an attach
# that reset it would read a few at once.
age0=$(stream_age)
ret0=$(front_stat returned_packets)
expect_gt "2: this build reads the old counters (returned_packets)" 10 "$ret0"
t0=$(now)
expect_ok "2: this build attaches the front over it" \
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN"
expect_gt "2: the counts are carried over (returned_packets $ret0 before)" $((ret0 - 1)) \
	"$(front_stat returned_packets)"
expect_ok "2: and the back" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
expect_ok "2: the stream goes on" rt_after "$LAB_DIR/rt" "$t0" 5
sleep 1
gap=$(max_gap "$LAB_DIR/rt" "$t0" "$(now)")
expect_ok "2: no stall (longest gap ${gap}s < 1.5s)" python3 -c "import sys; sys.exit(not $gap < 1.5)"
age=$(stream_age)
expect_ok "2: the stream's conntrack entry is kept (age ${age0:-none} -> ${age:-none} s)" \
	test "${age:--1}" -ge "${age0:-0}"
touch "$LAB_DIR/stop"
wait "$stream"
expect_eq "2: the stream ends cleanly" "0 closed" "$? $(tail -1 "$LAB_DIR/rt")"

# 3. detach by this build.
expect_ok "3: detach" front "$RELAYBPF" detach
expect_eq "3: no filter left on the public device" 0 "$(filters f0)"
expect_eq "3: no filter left on the tunnel" 0 "$(filters "$TUN_FRONT")"

# 4. The old build again, detached by this one before any attach of its own.
back "$RELAYBPF" detach >/dev/null 2>&1
expect_ok "4: the layout 1 build attaches again" attach_old
expect_eq "4: its filters are there" "1 1" "$(filters f0) $(filters "$TUN_FRONT")"
expect_ok "4: detach by this build before any attach" front "$RELAYBPF" detach
expect_eq "4: no filter left on the public device" 0 "$(filters f0)"
expect_eq "4: no filter left on the tunnel" 0 "$(filters "$TUN_FRONT")"
e2e_summary
