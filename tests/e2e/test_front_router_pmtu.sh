#!/usr/bin/env bash
# A router between client and front (lab_router) whose link toward the
# client is narrower than the backend's replies: 1400 bytes (IPv6: 1280),
# under the client's own 1500, as a PPPoE or tunnel-broker hop is. It sends
# the front frag-needed (IPv6: packet too big) about the replies, from its
# own address; the front must relay them to the backend, quoting the reply
# as the backend sent it, so that the backend's TCP learns the path MTU.
# Passed to the front's stack instead (no socket there), they were lost: a
# PMTU black hole, the download stalled. A 1 MB download must arrive whole.
set -u
LAB_ROUTER_MTU=1400
[ "${LAB_FAMILY:-4}" = 6 ] && LAB_ROUTER_MTU=1280
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
expect_ok "attach" lab_attach
head -c 1000000 /dev/urandom >"$LAB_DIR/blob"
want=$(sha256sum <"$LAB_DIR/blob")
lab_spawn "$NS_BACK" socat "$TCP_LISTEN:8090,reuseaddr,fork" OPEN:"$LAB_DIR/blob",rdonly
wait_listening "$NS_BACK" tcp 8090
# The router's own errors, counted as the backend receives them.
back nft add table inet pmtu
back nft add chain inet pmtu in '{ type filter hook input priority 0; }'
if [ "$LAB_FAMILY" = 6 ]; then
	back nft add rule inet pmtu in ip6 saddr "$ROUTER6" icmpv6 type packet-too-big counter
else
	back nft add rule inet pmtu in ip saddr "$ROUTER4" icmp type destination-unreachable \
		icmp code frag-needed counter
fi

got=$(client timeout 30 socat -T10 - "TCP:$(hp "$FRONT_PUB" 8090),connect-timeout=3" </dev/null |
	sha256sum)
expect_eq "$FAM: a 1 MB download through the ${LAB_ROUTER_MTU}-byte hop arrives whole" "$want" "$got"
expect_gt "the front relayed the router's errors to the backend (icmp_errors_forwarded)" 0 \
	"$(front_stat icmp_errors_forwarded)"
expect_gt "the backend got them from the router's address" 0 "$(nft_packets "$NS_BACK" inet pmtu in)"
expect_match "the backend learned the path MTU to the client" "mtu $LAB_ROUTER_MTU" \
	"$(back ip route get "$CLIENT_IP" mark 1)"
expect_eq "$LAB_TUNNEL: no reply leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
e2e_summary
