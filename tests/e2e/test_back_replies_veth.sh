#!/usr/bin/env bash
# The back returns TCP, UDP sendto(), ICMP echo and RST replies through a
# veth tunnel with strict rp_filter; detach restores everything.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
case_back_cycle

# A fixed-up reply larger than the tunnel's MTU (the socket sized it for
# the default route's): the backend's stack gets fragmentation needed /
# packet too big from the client's address (counted), the socket learns the
# tunnel's path MTU and its next reply, fragmented by the stack, returns
# through the tunnel, its later fragments following the first. Nothing
# leaves by the default route.
back ip link set "$TUN_BACK" mtu 1300
expect_ok "veth: attach back again" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" \
	--front "$FRONT_TUN"
back_stat() { back "$RELAYBPF" stats --json | jq ".back.$1"; }
got=$(head -c 1200 /dev/zero | client socat -T3 - "UDP:$(hp "$FRONT_PUB" 9000)" | tr -d '\000')
expect_eq "veth $FAM: a reply within the tunnel's MTU is fixed" "udp saw $CLIENT_IP 1200" "$got"
# 1262 bytes fit the tunnel (1290 with headers; IPv6 headers are 20 bytes
# longer); the reply, 25 more (27 with the IPv6 address), does not.
big=$((LAB_FAMILY == 6 ? 1242 : 1262))
head -c "$big" /dev/zero | client socat -T2 - "UDP:$(hp "$FRONT_PUB" 9000)" >/dev/null 2>&1
expect_eq "veth $FAM: a reply over the tunnel's MTU: an error to the backend's stack" 1 \
	"$(back_stat back_too_big_icmp_to_stack)"
got=$(head -c "$big" /dev/zero | client socat -T3 - "UDP:$(hp "$FRONT_PUB" 9000)" | tr -d '\000')
expect_eq "veth $FAM: the next reply, fragmented by the backend's stack, arrives" \
	"udp saw $CLIENT_IP $big" "$got"
expect_gt "veth $FAM: its later fragments followed the first" 0 "$(back_stat back_fixed_fragments)"
expect_eq "veth $FAM: none dropped" 0 "$(back_stat back_dropped_too_big)"
expect_eq "veth $FAM: and none leaked" 0 "$(lab_sink_leaks)"
e2e_summary
