#!/usr/bin/env bash
# The front as the client's router, through a real WireGuard tunnel (MTU
# 1420 under a 1500 public link): DF packets too big for the tunnel get
# fragmentation-needed with the tunnel's MTU (PMTU discovery, no black
# hole), and a TTL
# that expires at the front gets time-exceeded. Replies too big for a
# narrower public link (1280): with DF the stack sends the backend
# frag-needed from the front's tunnel address (its TCP learns the path
# MTU), without DF the stack fragments the translated reply (ip_forward and
# accept_local on the tunnel device, docs/front.md). IPv6 has no DF: every
# reply too big gets packet too big, there is no fragmenting router case.
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

# TCP segments too big for the tunnel: the front's tunnel narrower than the
# backend's (which advertises its own MTU - 40). The client's TSO segments
# come over veth with their checksum still partial; the front's
# frag-needed (packet too big) is built around that, and its public device
# with transmit checksumming off fills the pending checksum in on the way
# out (skb_checksum_help, as a NIC does): the client gets an error whose
# checksum it verifies. Before, the error could not be built (the quote was
# cut before the pending checksum) and the upload stalled.
front ip link set "$TUN_FRONT" mtu 1300
front ethtool -K f0 tx off >/dev/null
expect_match "$FAM: a 1 MB upload of segments too big for the tunnel arrives whole" \
	"backend saw $CLIENT_IP 1000000" \
	"$(head -c 1000000 /dev/zero | client timeout 30 socat -T10 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3")"
expect_match "the client learned the tunnel's MTU" "mtu 1300" "$(client ip route get "$FRONT_PUB")"
# A DF UDP datagram from the client's stack is partial too, its pending
# checksum inside the 8 quoted bytes: the cut that only a partial packet
# refuses (6 bytes) must find it, or the client drops an error whose
# checksum misses the filled-in field and learns nothing.
client ip -"$LAB_FAMILY" route flush cache
expect_eq "the client forgot the tunnel's MTU" "" \
	"$(client ip route get "$FRONT_PUB" | grep -o 'mtu 1300')"
head -c 1400 /dev/zero | client socat -u - "UDP:$(hp "$FRONT_PUB" 9000)"
sleep 0.5
expect_match "$FAM: a UDP datagram too big for the tunnel: the client learned its MTU" "mtu 1300" \
	"$(client ip route get "$FRONT_PUB")"
front ethtool -K f0 tx on >/dev/null
front ip link set "$TUN_FRONT" mtu 1420
client ip route flush cache

out=$(client ping -c1 -W2 -t1 "$FRONT_PUB" 2>&1)
expect_match "TTL 1 gets time exceeded from the front" \
	"From $FRONT_PUB.*(Time to live exceeded|Time exceeded: Hop limit)" "$out"

front sysctl -qw net.ipv4.ip_forward=1 "net.ipv4.conf.$TUN_FRONT.accept_local=1" \
	net.ipv6.conf.all.forwarding=1
lab_spawn "$NS_BACK" socat "$TCP_LISTEN:8090,reuseaddr,fork" SYSTEM:"head -c 300000 /dev/zero"
wait_listening "$NS_BACK" tcp 8090
# The reply path keeps the public MTU per CPU (docs/front.md): filled at
# 1500 first, it must see the lowered MTU within RELAY_HOP_REFRESH_NS.
expect_eq "$FAM: a 300 KB download through the 1500 public link arrives whole" 300000 \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8090),connect-timeout=3" </dev/null | wc -c)"
front ip link set f0 mtu 1280
sleep 0.2
back nft add table inet pmtu
back nft add chain inet pmtu in '{ type filter hook input priority 0; }'
if [ "$LAB_FAMILY" = 6 ]; then
	back nft add rule inet pmtu in ip6 saddr "$FRONT_TUN" icmpv6 type packet-too-big counter
else
	back nft add rule inet pmtu in ip saddr "$FRONT_TUN" icmp type destination-unreachable \
		icmp code frag-needed counter
fi
expect_eq "$FAM: a 300 KB download through the 1280 public link arrives whole" 300000 \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8090),connect-timeout=3" </dev/null | wc -c)"
expect_gt "the backend got frag-needed (IPv6: packet too big) from the front's tunnel address" 0 \
	"$(nft_packets "$NS_BACK" inet pmtu in)"
expect_match "the backend learned the path MTU to the client" "mtu 1280" \
	"$(back ip route get "$CLIENT_IP" mark 1)"
counters="too_big_icmp_sent ttl_exceeded_icmp_sent reply_too_big_df_to_stack"
if [ "$LAB_FAMILY" = 4 ]; then
	lab_spawn "$NS_BACK" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER: IP_PMTUDISC_DONT
s.bind(("0.0.0.0", 9100))
while True:
    data, peer = s.recvfrom(100)
    s.sendto(b"x" * 1300, peer)'
	wait_listening "$NS_BACK" udp 9100
	expect_eq "a 1328-byte reply without DF reaches the client (fragmented by the stack)" 1300 \
		"$(printf x | client socat -T3 - "UDP:$FRONT_PUB:9100" | wc -c)"
	counters="$counters reply_too_big_to_stack"
fi

for c in $counters; do
	expect_gt "front counted $c" 0 "$(front_stat "$c")"
done
e2e_summary
