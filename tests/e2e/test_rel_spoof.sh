#!/usr/bin/env bash
# Not an open relay: packets forged on the backend's side of the tunnel
# (tests/e2e/rawpkt.py, routed into it with the back's fwmark) that match no
# flow and are not a reply the front may translate never leave the public
# device with a public source: a TCP SYN, an ICMP echo request, a packet
# from another source than the backend; with two public addresses (no
# stateless replies) also UDP, TCP and echo replies without a flow, which
# are dropped rather than left to the stack (it would forward them from the
# backend's tunnel address). The client counts every packet from a public
# address; a real reply is the control that the count works.
set -u
. "$(dirname "$0")/rel_lib.sh"
trap lab_down EXIT

# A second public address; a foreign source: neither the backend nor the front.
case "$LAB_FAMILY" in
4) PUB2=203.0.113.5 PUB2_ADD=(203.0.113.5/24) FOREIGN=192.0.2.77 ;;
6) PUB2=2001:db8:1::5 PUB2_ADD=(2001:db8:1::5/64 nodad) FOREIGN=2001:db8:2::77 ;;
esac

# forge KIND SRC SPORT DPORT: one packet from the backend's side to the client.
forge() {
	back python3 "$(dirname "$0")/rawpkt.py" send 0x1 "$1" "$2" "$CLIENT_IP" "$3" "$4"
}

# Packets the client got from a public address, less the control replies.
from_public() {
	local all control
	read -r control all < <(nft_packets "$NS_CLIENT" inet spoof in)
	echo $((all - control))
}

lab_up_or_die
front ip addr add "${PUB2_ADD[@]}" dev f0
# Stateless replies over an L2 tunnel come only from the backend's MAC,
# which the next-hop cache learns by bpf_fib_lookup: forwarding on, as the
# recipe has it (docs/front.md).
front sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
client nft add table inet spoof
client nft add chain inet spoof in '{ type filter hook prerouting priority 0; }'
# The front's neighbour discovery (IPv6) may come from a public address: not
# relayed traffic.
client nft add rule inet spoof in icmpv6 type '{ nd-neighbor-solicit, nd-neighbor-advert }' accept
client nft add rule inet spoof in "$NFT_IP" saddr "{ $FRONT_PUB, $PUB2 }" udp sport 5353 counter \
	comment '"control"'
client nft add rule inet spoof in "$NFT_IP" saddr "{ $FRONT_PUB, $PUB2 }" counter \
	comment '"public"'
# What the front passed to its own stack from the tunnel: proves the forged
# packets arrived (a translated one is redirected before this hook).
front nft add table inet spoof
front nft add chain inet spoof in '{ type filter hook prerouting priority 0; }'
front nft add rule inet spoof in iifname "$TUN_FRONT" "$NFT_IP" daddr "$CLIENT_IP" counter \
	comment '"arrived"'
udp_responder "$NS_BACK" 5353 answer
expect_ok "attach with one public address" lab_attach --public-ip "$FRONT_PUB"

ret0=$(front_stat returned_packets)
forge syn "$BACK_TUN" 8080 7001
forge echo-request "$BACK_TUN" 7002 0
forge udp "$FOREIGN" 53 7003
forge ack "$FRONT_TUN" 8080 7004
sleep 1
expect_eq "forged SYN, echo request, foreign sources: none out with a public source" 0 \
	"$(from_public)"
expect_eq "... and none translated (returned_packets)" "$ret0" "$(front_stat returned_packets)"
expect_eq "... all four reached the front, which left them to its stack" 4 \
	"$(nft_packets "$NS_FRONT" inet spoof in arrived)"

# Control: a real exchange's reply does come from the public address.
expect_eq "control: a real UDP reply is relayed" answer \
	"$(client socat -T2 - "UDP:$(hp "$FRONT_PUB" 5353)" <<<"q" 2>/dev/null)"
expect_eq "control: the client counted it" 1 "$(nft_packets "$NS_CLIENT" inet spoof in control)"
# With one public address a reply without a flow is translated by design
# (stateless: a flow evicted under load keeps working) - counted here so
# that the next phase's zero means something.
forge udp "$BACK_TUN" 53 7005
sleep 0.5
expect_eq "one public address: a UDP reply without a flow is translated (stateless)" 1 \
	"$(from_public)"

expect_ok "attach rerun with two public addresses" lab_attach --public-ip "$FRONT_PUB,$PUB2"
base=$(from_public)
ret0=$(front_stat returned_packets)
forge udp "$BACK_TUN" 53 7006
forge ack "$BACK_TUN" 8080 7007
forge echo-reply "$BACK_TUN" 7008 0
forge syn "$BACK_TUN" 8080 7009
sleep 1
expect_eq "two public addresses: replies without a flow never leave with a public source" \
	"$base" "$(from_public)"
expect_eq "... and none translated (returned_packets)" "$ret0" "$(front_stat returned_packets)"
# Nor untranslated, from the backend's tunnel address, through the stack.
expect_eq "... the three replies dropped (dropped_reply_without_flow)" 3 \
	"$(front_stat dropped_reply_without_flow)"
expect_eq "... only the SYN reached the front's stack" 5 \
	"$(nft_packets "$NS_FRONT" inet spoof in arrived)"
expect_eq "control: a real UDP reply is still relayed" answer \
	"$(client socat -T2 - "UDP:$(hp "$FRONT_PUB" 5353)" <<<"q" 2>/dev/null)"
e2e_summary
