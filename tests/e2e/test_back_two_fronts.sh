#!/usr/bin/env bash
# A backend serving two fronts, one over WireGuard and one over a veth
# tunnel: each tunnel gets its own mark and table, every reply (TCP, UDP
# sendto(), ICMP echo, RST) returns through the front its request came in
# by, attaching or detaching the second tunnel leaves the first alone, and
# detaching everything restores the backend exactly.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
trap lab_down EXIT

lab_up_or_die
if ! lab_front2_up; then
	echo "  FAIL second front setup"
	echo "RESULT 0 1"
	exit 1
fi
lab_front_recipe
back sysctl -qw net.ipv4.conf.all.rp_filter=1 "net.ipv4.conf.$TUN_BACK.rp_filter=1" \
	"net.ipv4.conf.$TUN2_BACK.rp_filter=1"
lab_peer_server 8080
lab_udp_server 9000
# What leaves each tunnel toward each client (TCP and ICMP: the UDP fix-up
# redirects after the nft hooks, counted by relaybpf itself).
back nft add table inet sent
back nft add chain inet sent out '{ type filter hook postrouting priority 0; }'
for dev in "$TUN_BACK" "$TUN2_BACK"; do
	for ip in "$CLIENT_IP" "$CLIENT2_IP"; do
		back nft add rule inet sent out oifname "$dev" "$NFT_IP" daddr "$ip" counter comment "\"$dev-$ip\""
	done
done
sent() { back nft list chain inet sent out | awk -v c="\"$1-$2\"" '$NF == c {print $(NF-4)}'; }

snapshot() {
	lab_back_snapshot
	back sysctl "net.ipv4.conf.$TUN2_BACK.src_valid_mark" "net.ipv4.conf.$TUN2_BACK.rp_filter"
	back tc filter show dev "$TUN2_BACK" ingress
}
before=$(snapshot)

# every_reply NAME CLIENT_FN CLIENT_IP PUBLIC
every_reply() {
	local got
	got=$($2 socat -T5 - "TCP:$(hp "$4" 8080),connect-timeout=3" </dev/null)
	expect_eq "$1: TCP reply" "backend saw $3 0" "$got"
	got=$(printf 'hello' | $2 socat -T3 - "UDP:$(hp "$4" 9000)")
	expect_eq "$1: UDP sendto() reply" "udp saw $3 5" "$got"
	expect_ok "$1: ICMP echo reply" "$2" ping -c2 -W2 "$4"
	got=$($2 socat -T3 /dev/null "TCP:$(hp "$4" 8081),connect-timeout=3" 2>&1)
	expect_match "$1: RST of a closed port" "Connection refused" "$got"
}

out=$(back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN")
expect_match "$FAM: first tunnel: default mark and table" "mark 0x1/0xffffffff, table 100" "$out"
every_reply "$FAM front 1 alone" client "$CLIENT_IP" "$FRONT_PUB"
rules1=$(back ip -"$LAB_FAMILY" rule show; back ip -"$LAB_FAMILY" route show table 100)

out=$(back "$RELAYBPF" attach --role back --dev "$TUN2_BACK" --front "$FRONT2_TUN")
expect_match "$FAM: second tunnel: the next free mark and table" "mark 0x2/0xffffffff, table 101" "$out"
expect_match "$FAM: second tunnel's rule" "fwmark 0x2 lookup 101" "$(back ip -"$LAB_FAMILY" rule show)"
expect_match "$FAM: second tunnel's route" "default via $FRONT2_TUN dev $TUN2_BACK" \
	"$(back ip -"$LAB_FAMILY" route show table 101)"
expect_eq "$FAM: first tunnel's rule and route untouched" "$rules1" \
	"$(back ip -"$LAB_FAMILY" rule show | grep -v 'fwmark 0x2 '; back ip -"$LAB_FAMILY" route show table 100)"
expect_match "$FAM: an explicit mark in use is refused" "is used by the tunnel on $TUN_BACK" \
	"$(back "$RELAYBPF" attach --role back --dev "$TUN2_BACK" --front "$FRONT2_TUN" --mark 0x1 2>&1)"

every_reply "$FAM front 1" client "$CLIENT_IP" "$FRONT_PUB"
every_reply "$FAM front 2" client2 "$CLIENT2_IP" "$FRONT2_PUB"
expect_gt "$FAM: client 1's replies left by tunnel 1" 0 "$(sent "$TUN_BACK" "$CLIENT_IP")"
expect_gt "$FAM: client 2's replies left by tunnel 2" 0 "$(sent "$TUN2_BACK" "$CLIENT2_IP")"
expect_eq "$FAM: none of client 1's by tunnel 2" 0 "$(sent "$TUN2_BACK" "$CLIENT_IP")"
expect_eq "$FAM: none of client 2's by tunnel 1" 0 "$(sent "$TUN_BACK" "$CLIENT2_IP")"
fixed=$(back "$RELAYBPF" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["back"]["back_fixed_egress"])')
expect_gt "$FAM: UDP replies fixed on egress" 2 "$fixed"
expect_eq "$FAM: nothing leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
expect_eq "$FAM: rp_filter strict on all" 1 "$(back sysctl -n net.ipv4.conf.all.rp_filter)"
expect_eq "$FAM: rp_filter strict on tunnel 1" 1 "$(back sysctl -n "net.ipv4.conf.$TUN_BACK.rp_filter")"
expect_eq "$FAM: rp_filter strict on tunnel 2" 1 "$(back sysctl -n "net.ipv4.conf.$TUN2_BACK.rp_filter")"

expect_ok "$FAM: detach the second tunnel" back "$RELAYBPF" detach --role back --dev "$TUN2_BACK"
expect_eq "$FAM: second tunnel's rule gone, the first's kept" "$rules1" \
	"$(back ip -"$LAB_FAMILY" rule show; back ip -"$LAB_FAMILY" route show table 100)"
expect_eq "$FAM: second tunnel's filter gone" "" "$(back tc filter show dev "$TUN2_BACK" ingress)"
every_reply "$FAM front 1 after detaching tunnel 2" client "$CLIENT_IP" "$FRONT_PUB"

expect_ok "$FAM: detach the back" back "$RELAYBPF" detach --role back
expect_eq "$FAM: rules, routes, sysctls and filters as before attach" "$before" "$(snapshot)"
e2e_summary
