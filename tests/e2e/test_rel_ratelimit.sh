#!/usr/bin/env bash
# --rate-limit holds a flooding source to its rate while another client of
# the same front keeps flowing; the limit is changed in place and removed
# by attach reruns (counters kept), and status shows it; the XDP fast path
# holds it too.
set -u
# WireGuard (L3): the XDP fast path relays into it (docs/front.md).
LAB_TUNNEL=${LAB_TUNNEL:-wg}
. "$(dirname "$0")/rel_lib.sh"
trap lab_down EXIT

# A second address of the client, in the client's network. IPv6: nodad,
# usable at once instead of tentative while DAD runs; preferred_lft 0, never
# picked as the source of the other client's traffic (IPv6 source selection
# would prefer the newer address: the ping and TCP exchange below would be
# the flooder's), the flood binds it explicitly.
case "$LAB_FAMILY" in
4) FLOODER=203.0.113.11 FLOODER_ADD=(203.0.113.11/24) ;;
6) FLOODER=2001:db8:1::11 FLOODER_ADD=(2001:db8:1::11/64 nodad preferred_lft 0) ;;
esac
RATE=100

# flood SECONDS: UDP datagrams from $FLOODER to the public address as fast
# as python sends them; prints "sent seconds".
flood() {
	client python3 -c "$LAB_PY"'
import socket, sys, time
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.setblocking(False)
t0 = time.monotonic()
end, n = t0 + float(sys.argv[3]), 0
while time.monotonic() < end:
    for _ in range(100):
        try:
            s.sendto(b"x" * 32, (sys.argv[2], 9000))
            n += 1
        except BlockingIOError:
            pass
print(n, time.monotonic() - t0)
' "$FLOODER" "$FRONT_PUB" "$1"
}

# Datagrams of the flooder the backend received (nft counter on the tunnel).
backend_got() {
	nft_packets "$NS_BACK" inet rl in flood
}

lab_up_or_die
client ip addr add "${FLOODER_ADD[@]}" dev c0
back nft add table inet rl
back nft add chain inet rl in '{ type filter hook prerouting priority 0; }'
back nft add rule inet rl in iifname "$TUN_BACK" "$NFT_IP" saddr "$FLOODER" udp dport 9000 \
	counter comment '"flood"'
lab_peer_server 8080
expect_ok "attach --rate-limit $RATE" lab_attach --rate-limit "$RATE"
expect_match "status shows the limit" "rate limit +$RATE packets/s per source, burst $RATE" \
	"$(front "$RELAYBPF" status)"
expect_eq "status --json shows the limit" "$RATE $RATE" "$(front "$RELAYBPF" status --json |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["front"]["rate_limit"]; print(r["pps"], r["burst"])')"

# The flood and, meanwhile, the other client: pings at 20/s and a TCP exchange.
client ping -q -c 40 -i 0.05 -W 1 "$FRONT_PUB" >"$LAB_DIR/ping" 2>&1 &
ping_pid=$!
read -r sent secs < <(flood 3)
wait "$ping_pid"
got=$(backend_got)
dropped=$(front_stat dropped_rate_limit)
max=$(python3 -c "import math; print(math.ceil($RATE * $secs) + $RATE + 20)")
echo "  flood: $sent datagrams in ${secs}s, backend got $got, dropped_rate_limit $dropped"
expect_gt "the flood was a flood (> 10x the rate)" $((RATE * 30)) "$sent"
expect_gt "the backend got the burst and the rate" $((RATE * 2)) "$got"
expect_ok "the backend got at most rate x time + burst ($max)" test "$got" -le "$max"
expect_gt "dropped_rate_limit counts most of the flood" $((sent / 2)) "$dropped"
expect_match "the other client's pings all answered" " 0% packet loss" "$(cat "$LAB_DIR/ping")"
expect_eq "the other client's TCP exchange is relayed" "backend saw $CLIENT_IP 0" \
	"$(client socat -T2 - "TCP:$(hp "$FRONT_PUB" 8080)" </dev/null 2>/dev/null)"

# Changed in place: a higher rate lets more through, the counter is kept.
expect_ok "attach rerun with --rate-limit 1000/2000" lab_attach --rate-limit 1000/2000
expect_match "status shows the new limit" "rate limit +1000 packets/s per source, burst 2000" \
	"$(front "$RELAYBPF" status)"
expect_ok "dropped_rate_limit kept across the rerun" test "$(front_stat dropped_rate_limit)" \
	-ge "$dropped"

# Removed: an attach without the option relays the whole flood.
expect_ok "attach rerun without --rate-limit" lab_attach
expect_match "status shows it off" "rate limit +off" "$(front "$RELAYBPF" status)"
before=$(backend_got)
dropped=$(front_stat dropped_rate_limit)
read -r sent secs < <(flood 1)
sleep 0.5
got=$(($(backend_got) - before))
echo "  unlimited: $sent datagrams, backend got $got"
expect_eq "no rate-limit drop once off" "$dropped" "$(front_stat dropped_rate_limit)"
expect_gt "without the limit the backend gets far more (10 x rate x time + burst)" \
	$(((RATE + RATE) * 10)) "$got"

# The XDP fast path holds the flooder to the same limit (its flow is
# established: XDP relays it, TC only saw the first packet).
expect_ok "attach rerun with --xdp-mode generic --rate-limit $RATE" lab_attach --xdp-mode generic \
	--rate-limit "$RATE"
before=$(backend_got)
xdp0=$(front_stat xdp_forwarded)
read -r sent secs < <(flood 2)
sleep 0.5
got=$(($(backend_got) - before))
max=$(python3 -c "import math; print(math.ceil($RATE * $secs) + $RATE + 20)")
echo "  XDP: $sent datagrams in ${secs}s, backend got $got"
expect_gt "XDP relayed the flow" "$xdp0" "$(front_stat xdp_forwarded)"
expect_ok "XDP: the backend got at most rate x time + burst ($got <= $max)" test "$got" -le "$max"
expect_gt "XDP: ... and the burst" $((RATE - 1)) "$got"
e2e_summary
