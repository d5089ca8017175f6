#!/usr/bin/env bash
# make soak: SOAK_SECONDS (600) of mixed traffic through the lab (many short
# TCP connections, UDP flows from new ports, pings, one long TCP stream)
# into a small conntrack table (--ct-max $SOAK_CT_MAX). Every 30 s: the
# table's fill and the error counters; fails if the fill ever exceeds the
# maximum, an error counter grows or the traffic stops being relayed. Then
# status, stats, conntrack and detach run under valgrind: fails on a leak
# or an invalid access. Not part of `make test`.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CT_MAX=${SOAK_CT_MAX:-$(ct_max_min)}
SAMPLE=${SOAK_SAMPLE:-30}

# "fill max role:error_counter=value ..." of the role's stats.
sample() { # front|back
	"$1" "$RELAYBPF" stats --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[sys.argv[1]]
errs = " ".join("%s:%s=%d" % (sys.argv[1], k, v) for k, v in sorted(s.items())
                if k.startswith("error_") or k == "back_dropped_too_big")
print(s.get("conntrack_entries", 0), s.get("conntrack_max", 0), errs)
' "$1"
}

lab_up_or_die
lab_spawn "$NS_BACK" socat TCP-LISTEN:8080,reuseaddr,fork,backlog=256 EXEC:cat
wait_listening "$NS_BACK" tcp 8080
lab_udp_server 5353
expect_ok "attach (--ct-max $SOAK_CT_MAX)" lab_attach --ct-max "$SOAK_CT_MAX"

# The traffic: each loop a TCP connection (1-16 KB echoed back, checked),
# a UDP exchange from a new port, all counted; beside it, a stream echoing
# 4 KB every 0.1 s over one connection and a ping every 0.2 s.
client python3 -c '
import random, socket, sys, time
pub, secs = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + secs
ok = bad = 0
while time.monotonic() < end:
    try:
        n = random.randint(1024, 16384)
        data = random.randbytes(n)
        with socket.create_connection((pub, 8080), timeout=3) as c:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            got = b""
            while len(got) < n:
                b = c.recv(65536)
                if not b:
                    break
                got += b
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(3)
        u.sendto(b"q", (pub, 5353))
        reply = u.recv(2048)
        u.close()
        if got == data and reply.startswith(b"udp saw"):
            ok += 1
        else:
            bad += 1
    except OSError:
        bad += 1
    time.sleep(0.02)
print(ok, bad)
' "$FRONT_PUB" "$SOAK_SECONDS" >"$LAB_DIR/short" 2>&1 &
short_pid=$!
client python3 -c '
import socket, sys, time
pub, secs = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + secs
c = socket.create_connection((pub, 8080), timeout=10)
block, echoed = b"s" * 4096, 0
while time.monotonic() < end:
    c.sendall(block)
    got = 0
    while got < len(block):
        got += len(c.recv(len(block) - got))
    echoed += got
    time.sleep(0.1)
print(echoed)
' "$FRONT_PUB" "$SOAK_SECONDS" >"$LAB_DIR/stream" 2>&1 &
stream_pid=$!
client ping -q -i 0.2 -w "$SOAK_SECONDS" -W 2 "$FRONT_PUB" >"$LAB_DIR/ping" 2>&1 &
ping_pid=$!

read -r _ _ front_errs0 < <(sample front)
read -r _ _ back_errs0 < <(sample back)
over=0
grew=""
max_fill=0
t0=$(date +%s)
while kill -0 "$short_pid" 2>/dev/null; do
	sleep "$SAMPLE"
	read -r fill max front_errs < <(sample front)
	read -r _ _ back_errs < <(sample back)
	fwd=$(front_stat forwarded_packets)
	echo "  t=$(($(date +%s) - t0))s conntrack $fill/$max forwarded_packets $fwd" \
		"$front_errs $back_errs"
	[ "$fill" -gt "$max" ] && over=$((over + 1))
	[ "$fill" -gt "$max_fill" ] && max_fill=$fill
	[ "$front_errs $back_errs" != "$front_errs0 $back_errs0" ] && grew="$front_errs $back_errs"
done
wait "$short_pid" "$stream_pid" "$ping_pid"
read -r ok bad <"$LAB_DIR/short"
echo "  short flows: $ok ok, $bad failed; stream echoed $(cat "$LAB_DIR/stream") bytes;" \
	"$(grep -o '[0-9]* packets transmitted.*loss' "$LAB_DIR/ping")"
echo "  conntrack_new $(front_stat conntrack_new), highest fill $max_fill of $SOAK_CT_MAX"
expect_eq "conntrack fill never above --ct-max" 0 "$over"
expect_eq "no error counter grew" "" "$grew"
expect_gt "short TCP+UDP flows relayed" $((SOAK_SECONDS * 2)) "${ok:-0}"
expect_ok "at most 0.1% of the short flows failed" test "$((${bad:-1} * 1000))" -le "${ok:-0}"
expect_gt "the long stream kept flowing" $((SOAK_SECONDS * 4096 * 5)) "$(cat "$LAB_DIR/stream")"
expect_match "pings answered (< 1% loss)" " 0(\.[0-9]+)?% packet loss" "$(cat "$LAB_DIR/ping")"
expect_gt "the small table was recycled (conntrack_new > --ct-max)" "$SOAK_CT_MAX" \
	"$(front_stat conntrack_new)"

# The loader's read-only commands, then detach, under valgrind.
vg() { # NAME NS-FUNCTION ARGS...
	local name=$1 ns=$2 log="$LAB_DIR/vg-$1.log"
	shift 2
	"$ns" valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		--suppressions="$(dirname "$0")/valgrind.supp" \
		--log-file="$log" "$RELAYBPF" "$@" >/dev/null 2>&1
	local rc=$?
	# Errors are "==PID==" lines; "--PID-- WARNING: unhandled eBPF command"
	# only says valgrind does not model that bpf(2) command (map batches).
	if [ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*==' "$log"; then
		pass "valgrind clean: $name"
	else
		fail "valgrind: $name exited $rc: $(grep '^==' "$log" | head -c 2000)"
	fi
}
vg status front status
vg status-json front status --json
vg stats front stats
vg stats-json front stats --json
vg stats-prometheus front stats --prometheus
vg conntrack front conntrack
vg conntrack-json front conntrack --json --proto tcp
vg back-status back status
vg back-stats back stats --json
vg front-detach front detach
vg back-detach back detach
expect_eq "nothing of relaybpf's left on f0" "" "$(front tc filter show dev f0 ingress)"
expect_eq "nothing of relaybpf's left on the back's tunnel" "" \
	"$(back tc filter show dev "$TUN_BACK" ingress)"
e2e_summary
