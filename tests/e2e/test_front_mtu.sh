#!/usr/bin/env bash
# The front as the client's router, through a real WireGuard tunnel (MTU
# 1420 under a 1500 public link): DF packets too big for the tunnel get
# fragmentation-needed with the tunnel's MTU (PMTU discovery, no black
# hole), and a TTL
# that expires at the front gets time-exceeded.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
back sysctl -qw "$SYSCTL_IP.fwmark_reflect=1"
expect_ok "attach with --mss off" lab_attach --mss off

out=$(client ping -c1 -W2 -M do -s 1400 "$FRONT_PUB" 2>&1)
expect_match "a DF ping over 1420 bytes gets frag-needed (IPv6: packet too big) with the tunnel's MTU" \
	"From $FRONT_PUB.*(Frag needed|mtu = 1420|mtu=1420)" "$out"
expect_match "the client learned the path MTU" "mtu 1420" "$(client ip route get "$FRONT_PUB")"
# ICMP header 8 bytes, IP header 20 (IPv6: 40).
fit=$((1420 - 8 - (LAB_FAMILY == 6 ? 40 : 20)))
expect_match "a 1420-byte DF ping passes and is answered by the backend" "ttl=63" \
	"$(client ping -c1 -W2 -M do -s "$fit" "$FRONT_PUB")"

# TCP with --mss off and TSO still works (the backend's own SYN-ACK MSS,
# from its 1420 tunnel, keeps the segments small: TCP PMTU itself is only
# exercised by the ping above).
client ip route flush cache
case_tcp_relay

out=$(client ping -c1 -W2 -t1 "$FRONT_PUB" 2>&1)
expect_match "TTL 1 gets time exceeded from the front" \
	"From $FRONT_PUB.*(Time to live exceeded|Time exceeded: Hop limit)" "$out"

for c in too_big_icmp_sent ttl_exceeded_icmp_sent; do
	expect_gt "front counted $c" 0 "$(front_stat "$c")"
done
e2e_summary
