#!/usr/bin/env bash
# A SYN flood from random sources and ports (tests/e2e/rawpkt.py) into a
# --ct-max 1024 conntrack table on a front with two public addresses (no
# stateless replies: issue 14's reproduction): the flood's unreplied flows
# churn their own table and never evict the connections established before
# it, which keep exchanging data both ways during and after it with not one
# reply dropped for want of a flow; the main table's fill never exceeds
# --ct-max and the counters show the churn (conntrack_new far above the
# unreplied table's size: evictions).
set -u
. "$(dirname "$0")/rel_lib.sh"
trap lab_down EXIT

# The issue's reproduction size, or the smallest table this machine takes.
CT_MAX=$(($(ct_max_min) > 1024 ? $(ct_max_min) : 1024))
FLOOD_SECONDS=8
# The flood's sources: host numbers 100-254 of the client's network. A
# second public address: replies without a flow cannot be translated.
case "$LAB_FAMILY" in
4) FLOOD_NET=203.0.113.0/24 PUB2=203.0.113.5 PUB2_ADD=(203.0.113.5/24) ;;
6) FLOOD_NET=2001:db8:1::/64 PUB2=2001:db8:1::5 PUB2_ADD=(2001:db8:1::5/64 nodad) ;;
esac

ct_fill() {
	front "$RELAYBPF" status --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["conntrack"]["entries"])'
}

lab_up_or_die
front ip addr add "${PUB2_ADD[@]}" dev f0
# The backend echoes 50 ms late: at the flood's rate (> 5k new flows/s) a
# table the flood shares turns over in that time, so with one table the
# established connections' entries were evicted between a request and its
# reply, and with two public addresses the reply left untranslated.
lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import threading, time
l = socket.socket(AF)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((ANY, 8080))
l.listen(16)
def echo(c):
    while True:
        b = c.recv(4096)
        if not b:
            return
        time.sleep(0.05)
        c.sendall(b)
while True:
    threading.Thread(target=echo, args=(l.accept()[0],), daemon=True).start()'
wait_listening "$NS_BACK" tcp 8080
# The flood's SYNs are counted and dropped on the backend (no RST storm).
back nft add table inet flood
back nft add chain inet flood in '{ type filter hook prerouting priority 0; }'
back nft add rule inet flood in iifname "$TUN_BACK" tcp dport 9999 counter drop comment '"syn"'
expect_ok "attach --ct-max $CT_MAX, two public addresses" \
	lab_attach --ct-max "$CT_MAX" --public-ip "$FRONT_PUB,$PUB2"

# Three established connections, each echoing 512 bytes every 0.2 s for the
# whole test; each prints the round trips done in the flood's window and
# after it, and the longest gap between two round trips.
for i in 1 2 3; do
	client python3 -c '
import socket, sys, time
pub, start, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c = socket.create_connection((pub, 8080), timeout=10)
c.settimeout(10)
flood_end = start + secs
end = flood_end + 3
during = after = 0
gap, last = 0.0, time.time()
block = b"e" * 512
while time.time() < end:
    c.sendall(block)
    got = 0
    while got < len(block):
        b = c.recv(len(block) - got)
        if not b:
            raise SystemExit("closed")
        got += len(b)
    now = time.time()
    gap, last = max(gap, now - last), now
    if start <= now < flood_end:
        during += 1
    elif now >= flood_end:
        after += 1
    time.sleep(0.2)
print(during, after, round(gap, 2))
' "$FRONT_PUB" "$(($(date +%s) + 3))" "$FLOOD_SECONDS" >"$LAB_DIR/echo$i" 2>&1 &
	echo_pids+=($!)
done
sleep 3
(client python3 "$(dirname "$0")/rawpkt.py" synflood "$FLOOD_NET" "$FRONT_PUB" 9999 "$FLOOD_SECONDS" \
	>"$LAB_DIR/flood" 2>&1) &
flood_pid=$!
max_fill=0
while kill -0 "$flood_pid" 2>/dev/null; do
	fill=$(ct_fill)
	[ "$fill" -gt "$max_fill" ] && max_fill=$fill
	sleep 0.5
done
read -r sent secs <"$LAB_DIR/flood"
for i in 1 2 3; do
	wait "${echo_pids[$((i - 1))]}"
done
got=$(nft_packets "$NS_BACK" inet flood in syn)
new=$(front_stat conntrack_new)
fill=$(ct_fill)
echo "  flood: $sent SYNs in ${secs}s ($(python3 -c "print(int($sent / $secs))")/s), backend got $got;" \
	"conntrack_new $new, highest fill $max_fill, now $fill, evicted $((new - fill))"
expect_gt "the flood was a flood (> 3 x --ct-max)" $((CT_MAX * 3)) "$sent"
expect_gt "the flood's SYNs were relayed (new flows)" $((CT_MAX * 2)) "$got"
expect_ok "conntrack fill never above --ct-max (highest $max_fill)" test "$max_fill" -le "$CT_MAX"
expect_gt "the counters show the churn: evictions (conntrack_new - fill)" $((CT_MAX * 2)) \
	$((new - fill))
# Not one reply of the established connections lost its flow: none dropped,
# none translated statelessly (there is no sole public address to do so).
expect_eq "no reply dropped for want of a flow (dropped_reply_without_flow)" 0 \
	"$(front_stat dropped_reply_without_flow)"
expect_eq "no stateless translation (two public addresses)" 0 \
	"$(front_stat returned_without_flow)"
for i in 1 2 3; do
	read -r during after gap <"$LAB_DIR/echo$i"
	sed "s/^/    connection $i: /" "$LAB_DIR/echo$i"
	expect_gt "connection $i exchanged data both ways during the flood" 0 "${during:-0}"
	expect_gt "connection $i still exchanges data after it" 0 "${after:-0}"
	expect_ok "connection $i never stalled for 2 s (longest gap ${gap}s)" \
		python3 -c "import sys; sys.exit(not float('${gap:-99}') < 2)"
done
e2e_summary
