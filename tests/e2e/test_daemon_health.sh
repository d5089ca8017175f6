#!/usr/bin/env bash
# relaybpf daemon's health checks and failover (docs/services.md, "Health
# checks") on the services lab (services_lib.sh): one service on two
# backends A and B behind one WireGuard device, health=tcp.
#
# A's servers stop: its flows (an existing UDP flow included) move to B
# within fall x interval + 1 s (measured at the client, asserted with 1 s
# of margin), new flows all go to B, status says A is down and why. A's
# servers back: new flows reach A again within rise x interval + 1 s. An
# operator's drain keeps a long-lived TCP connection on its backend while
# new flows go to the other, and outlasts a daemon restart (which attaches
# again and flaps nothing). The tunnel going down takes both down at once.
# A service's own health-interval=/health-fall= (u: 200 ms x 2) take A
# down there before the daemon's (hc: 1 s x 3) do.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/services_lib.sh"

if [ "$LAB_FAMILY" = 6 ]; then B_PORTED="[$B_TUN]"; else B_PORTED=$B_TUN; fi
FALL_MS=$((3 * 1000 + 1000)) # --health-fall 3 x --health-interval 1s + 1 s
RISE_MS=$((2 * 1000 + 1000))
MARGIN_MS=1000
HC=(--role front --dev f0 --tunnel-dev "$TUN_FRONT" --service hc=tcp:7200,udp:7200,health=tcp
	--backend "hc=$BACK_TUN" --backend "hc=$B_TUN"
	--service ping=udp:7000,health=icmp --backend "ping=$BACK_TUN" --backend "ping=$B_TUN"
	--service u=udp:7100,health=udp:hello,health-interval=200ms,health-fall=2,health-rise=1
	--backend "u=$BACK_TUN" --backend "u=$B_TUN"
	--service bk=udp:37000,health=udp:hi --backend "bk=$A_PORTED:37000"
	--backend "bk=$B_PORTED:37000" --backend "bk=$A_PORTED:37001,backup")

# daemon_start: the front's daemon; its stderr in $LAB_DIR/daemon.N.log.
DAEMONS=0
daemon_start() {
	DAEMONS=$((DAEMONS + 1))
	DAEMON_LOG="$LAB_DIR/daemon.$DAEMONS.log"
	nsenter --net="/run/netns/$NS_FRONT" "$RELAYBPF" daemon "${HC[@]}" </dev/null \
		>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	LAB_PIDS+=("$DAEMON_PID")
	lab_wait_for "the daemon" grep -q 'relaybpf daemon: watching' "$DAEMON_LOG"
}

# backend_field ADDR JQ [SERVICE]: a field of SERVICE's (hc's) backend ADDR in status --json.
backend_field() {
	front "$RELAYBPF" status --json | jq -r --arg a "$1" ".front.services[] |
		select(.name == \"${3:-hc}\") | .backends[] | select(.address == \$a) | $2"
}

# until_answer WHO SRCPORT [PORT]: datagrams to udp:PORT (7200) every 0.1 s
# (from SRCPORT, or from a new port each time with 0) until an answer starts
# with WHO ("A", "A 37001"); prints the milliseconds since $T0_MS, or
# "never" after 15 s.
until_answer() {
	client python3 -c "$LAB_PY"'
import socket, sys, time
pub, who, src, t0, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = None
while time.time() * 1000 - t0 < 15000:
    if s is None or not src:
        if s:
            s.close()
        s = socket.socket(AF, socket.SOCK_DGRAM)
        s.bind((ANY, src))
        s.connect((pub, port))
        s.settimeout(0.1)
    try:
        s.send(b"x")
        if s.recv(4096).decode().startswith(who + " "):
            print(int(time.time() * 1000 - t0))
            sys.exit(0)
    except (socket.timeout, ConnectionRefusedError):
        pass
print("never")
' "$FRONT_PUB" "$1" "$2" "$T0_MS" "${3:-7200}"
}
now_ms() { date +%s%3N; }

# health_metrics: per backend of hc, by Prometheus's own parser of stats
# --prometheus: "ADDR up transitions has-latency,..." (role front, family).
health_metrics() {
	front "$RELAYBPF" stats --prometheus | python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fam = "ipv" + sys.argv[1]
v = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        l = s.labels
        if l.get("service") == "hc" and l.get("role") == "front" and l.get("family") == fam:
            v.setdefault(l["backend"], {})[s.name] = s.value
print(",".join("%s %d %d %d" % (b, m["relaybpf_backend_up"],
                                m["relaybpf_backend_health_transitions_total"],
                                "relaybpf_backend_probe_latency_seconds" in m)
               for b, m in sorted(v.items())))
' "$LAB_FAMILY"
}

svc_lab_up
# u probes A every 200 ms: the kernel's ICMP rate limit (one per second to a
# destination after a burst of 6) would leave most probes of a closed port
# with no port unreachable, "timed out" instead of "Connection refused".
back sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

front "$RELAYBPF" daemon "${HC[@]}" --service x=tcp:1,health=udp >/dev/null 2>&1
expect_eq "$FAM: health=udp without a payload: usage error" 2 "$?"
expect_match "$FAM: daemon --help tells the health options" "--health-fall N" \
	"$(front "$RELAYBPF" daemon --help)"
daemon_start
lab_wait_for "A's first passed probe" sh -c "[ \"\$(nsenter --net=/run/netns/$NS_FRONT \
	$RELAYBPF status --json | jq -r '.front.services[0].backends[0].health.last_probe')\" = passed ]"
expect_eq "$FAM: status: A up, checked by tcp, last probe passed (ok)" "up tcp passed ok" \
	"$(backend_field "$BACK_TUN" '"\(.state) \(.health.check) \(.health.last_probe) \(.health.result)"')"
for svc in ping u; do
	expect_eq "$FAM: status: $svc's backends pass their $svc check" \
		"up passed ok,up passed ok" "$(front "$RELAYBPF" status --json | jq -r --arg s "$svc" \
		'[.front.services[] | select(.name == $s) | .backends[] |
		"\(.state) \(.health.last_probe) \(.health.result)"] | join(",")')"
done
expect_ok "$FAM: status: A's probe latency under 500 ms" \
	test "$(backend_field "$BACK_TUN" '.health.latency_ms * 1000 | floor')" -lt 500000
out=$(flows 7200 200 20000)
expect_ok "$FAM: both up: new flows reach both ($out)" \
	test "$(count A "$out")" -gt 50 -a "$(count B "$out")" -gt 50

# An existing flow on A: the source port of one answered by A.
src=
for p in $(seq 41000 41050); do
	case $(ask 7200 "$p") in A\ *) src=$p; break ;; esac
done
expect_ok "$FAM: a source port whose flow is on A" test -n "$src"
reselected=$(front_stat backend_reselected)

# A's servers stop: the TCP probes are refused, A goes down, its flow moves.
T0_MS=$(now_ms)
kill "$A_SERVERS_PID"
# u checks every 200 ms and falls after 2 (its own health-interval= and
# health-fall=): A is down in u long before hc's 3 x 1 s.
u_took=never
while [ $(($(now_ms) - T0_MS)) -lt 3000 ]; do
	if [ "$(backend_field "$BACK_TUN" .state u)" = down ]; then
		u_took=$(($(now_ms) - T0_MS)) hc_then=$(backend_field "$BACK_TUN" .state)
		break
	fi
	sleep 0.05
done
expect_ok "$FAM: u's own settings: A down in u in ${u_took} ms (<= 2 x 200 + 1000)" \
	test "${u_took/never/99999}" -le 1400
expect_eq "$FAM: ... while hc (the daemon's 3 x 1 s) still has A up" up "${hc_then:-}"
took=$(until_answer B "${src:-41000}")
expect_ok "$FAM: A's existing flow moved to B in ${took} ms (<= $FALL_MS + $MARGIN_MS)" \
	test "$took" != never -a "${took/never/99999}" -le $((FALL_MS + MARGIN_MS))
expect_ok "$FAM: ... not before A failed 3 probes (>= 1500 ms)" test "${took/never/0}" -ge 1500
out=$(flows 7200 100 22000)
expect_eq "$FAM: A down: every new flow goes to B" "B=100" "$out"
expect_gt "$FAM: the moved flow counted (backend_reselected)" "$reselected" \
	"$(front_stat backend_reselected)"
expect_eq "$FAM: status: A down, last probe failed: refused" "down failed Connection refused" \
	"$(backend_field "$BACK_TUN" '"\(.state) \(.health.last_probe) \(.health.result)"')"
expect_eq "$FAM: status: B still up" "up" "$(backend_field "$B_TUN" .state)"
expect_eq "$FAM: status: A fails its udp check too (port unreachable), passes its icmp" \
	"down Connection refused,up ok" \
	"$(backend_field "$BACK_TUN" '"\(.state) \(.health.result)"' u),$(backend_field "$BACK_TUN" \
		'"\(.state) \(.health.result)"' ping)"
expect_eq "$FAM: status: hc has 1 backend up of 2" "1 2" \
	"$(front "$RELAYBPF" status --json | jq -r ".front.services[] | select(.name == \"hc\") |
		\"\(.up.ipv$LAB_FAMILY) \(.backends | length)\"")"
expect_eq "$FAM: one line logged for A's transition" 1 \
	"$(grep -c "backend hc=$BACK_TUN down: 3 tcp probes failed (Connection refused)" "$DAEMON_LOG")"
front "$RELAYBPF" status >/dev/null
expect_eq "$FAM: status exits 0 (B serves)" 0 "$?"
expect_eq "$FAM: metrics (Prometheus's parser): A 0 up 1 transition, B 1 up 0, latencies" \
	"$BACK_TUN 0 1 1,$B_TUN 1 0 1" "$(health_metrics)"

# A's servers back: after 2 passed probes it takes new flows again.
servers "$NS_BACK" A
T0_MS=$(now_ms)
took=$(until_answer A 0)
expect_ok "$FAM: A takes new flows again in ${took} ms (<= $RISE_MS + $MARGIN_MS)" \
	test "$took" != never -a "${took/never/99999}" -le $((RISE_MS + MARGIN_MS))
expect_eq "$FAM: one line logged for A's return" 1 \
	"$(grep -c "backend hc=$BACK_TUN up: 2 tcp probes passed" "$DAEMON_LOG")"
expect_eq "$FAM: status: A up, 2 transitions" "up 2" \
	"$(backend_field "$BACK_TUN" '"\(.state) \(.health.transitions)"')"

# Drain: the long-lived TCP flow stays on its backend X, new flows go to
# the other, across a daemon restart (which attaches again).
long_flow
lab_wait_for "the long-lived flow" test -s "$LAB_DIR/long.log"
X=$(head -1 "$LAB_DIR/long.log")
if [ "$X" = A ]; then X_ADDR=$BACK_TUN OTHER=B; else X_ADDR=$B_TUN OTHER=A; fi
expect_ok "$FAM: backend drain hc $X_ADDR" front "$RELAYBPF" backend drain hc "$X_ADDR"
n=$(long_lines)
out=$(flows 7200 200 23000)
expect_eq "$FAM: $X drained: every new flow goes to $OTHER" "$OTHER=200" "$out"
expect_eq "$FAM: status: $X drained by the operator" "drained true" \
	"$(backend_field "$X_ADDR" '"\(.state) \(.drained_by_operator)"')"
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
daemon_start
sleep 2.5
expect_eq "$FAM: after a daemon restart $X is still drained" "drained true" \
	"$(backend_field "$X_ADDR" '"\(.state) \(.drained_by_operator)"')"
expect_eq "$FAM: ... and no backend flapped" 0 "$(grep -c 'backend hc=.* \(down\|up\):' "$DAEMON_LOG")"
out=$(flows 7200 100 24000)
expect_eq "$FAM: ... new flows still all go to $OTHER" "$OTHER=100" "$out"
expect_gt "$FAM: the drained backend's long-lived flow goes on" "$((n + 20))" "$(long_lines)"
expect_eq "$FAM: ... on $X, without a break" "$X" "$(sort -u "$LAB_DIR/long.log" | tr '\n' ' ' | sed 's/ $//')"
expect_ok "$FAM: backend undrain hc=$X_ADDR" front "$RELAYBPF" backend undrain "hc=$X_ADDR"
out=$(flows 7200 200 25000)
expect_ok "$FAM: undrained: new flows reach both ($out)" \
	test "$(count A "$out")" -gt 50 -a "$(count B "$out")" -gt 50
front "$RELAYBPF" backend drain hc 10.99.99.99 >/dev/null 2>&1
expect_eq "$FAM: drain of no such backend fails" 1 "$?"

# The tunnel goes down: both down at once, the service has no live backend
# (status degraded). Up again (its routes back): both come back.
T0_MS=$(now_ms)
front ip link set "$TUN_FRONT" down
lab_wait_for "both down" sh -c "nsenter --net=/run/netns/$NS_FRONT $RELAYBPF status --json |
	jq -e '[.front.services[] | select(.name == \"hc\") | .backends[].state] == [\"down\",\"down\"]'"
took=$(($(now_ms) - T0_MS))
# Probes alone would take 3 failures, 2 s at least.
expect_ok "$FAM: tunnel down: both backends down at once (${took} ms < 1000)" test "$took" -lt 1000
expect_eq "$FAM: ... one line each, saying why" 2 \
	"$(grep -c "backend hc=.* down: its tunnel $TUN_FRONT is down" "$DAEMON_LOG")"
front "$RELAYBPF" status >/dev/null
expect_eq "$FAM: status exits 1: hc has no live backend" 1 "$?"
expect_match "$FAM: ... naming it" "service hc has no live IPv$LAB_FAMILY backend" \
	"$(front "$RELAYBPF" status)"
front ip link set "$TUN_FRONT" up
front ip route replace 10.22.22.9/32 dev "$TUN_FRONT"
lab_wait_for "both up" sh -c "nsenter --net=/run/netns/$NS_FRONT $RELAYBPF status --json |
	jq -e '[.front.services[] | select(.name == \"hc\") | .backends[].state] == [\"up\",\"up\"]'"
out=$(flows 7200 200 26000)
expect_ok "$FAM: tunnel up again: new flows reach both ($out)" \
	test "$(count A "$out")" -gt 50 -a "$(count B "$out")" -gt 50

# Backups: bk's primaries A:37000 and B:37000 go silent (their port dropped
# on both backs): the backup A:37001 takes the new flows within the fall
# bound; the primaries answer again: they take them back.
expect_match "$FAM: bk: a new flow on a primary" "^[AB] 37000 $CLIENT_IP\$" "$(ask 37000 42000)"
T0_MS=$(now_ms)
for ns in "$NS_BACK" "$NS_BACK2"; do
	in_ns "$ns" nft add table inet hcbk
	in_ns "$ns" nft add chain inet hcbk in "{ type filter hook input priority 0; }"
	in_ns "$ns" nft add rule inet hcbk in udp dport 37000 drop
done
took=$(until_answer "A 37001" 0 37000)
expect_ok "$FAM: both primaries silent: the backup answers new flows in ${took} ms (<= $FALL_MS + $MARGIN_MS)" \
	test "$took" != never -a "${took/never/99999}" -le $((FALL_MS + MARGIN_MS))
expect_eq "$FAM: status: bk's primaries down (timed out), the backup up" \
	"down timed out,down timed out,up ok" \
	"$(front "$RELAYBPF" status --json | jq -r '[.front.services[] | select(.name == "bk") |
		.backends[] | "\(.state) \(.health.result)"] | join(",")')"
for ns in "$NS_BACK" "$NS_BACK2"; do
	in_ns "$ns" nft delete table inet hcbk
done
lab_wait_for "bk's primaries up" sh -c "nsenter --net=/run/netns/$NS_FRONT $RELAYBPF status --json |
	jq -e '[.front.services[] | select(.name == \"bk\") | .backends[].state] == [\"up\",\"up\",\"up\"]'"
expect_match "$FAM: primaries back: a new flow on a primary again" "^[AB] 37000 $CLIENT_IP\$" \
	"$(ask 37000 42001)"
expect_eq "$FAM: nothing leaked out of A's default route" 0 "$(lab_sink_leaks)"
e2e_summary
