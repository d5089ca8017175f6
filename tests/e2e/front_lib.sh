# shellcheck shell=bash
# Helpers of the test_front_*.sh scripts (needs lib.sh).

# front_stat NAME: the front's counter NAME, summed over CPUs.
front_stat() {
	front "$RELAYBPF" stats --json |
		python3 -c "import json, sys; print(json.load(sys.stdin)['front']['$1'])"
}

# wait_listening NS PROTO PORT: until a socket of NS listens on PORT (PROTO tcp or udp).
wait_listening() {
	local flag=-ltn
	[ "$2" = udp ] && flag=-lun
	lab_wait_for "$1 $2:$3" sh -c "nsenter --net=/run/netns/$1 ss $flag | grep -q ':$3 '"
}

# nft_packets NS FAMILY TABLE CHAIN [COMMENT]: the packet counts of the
# chain's counters (only the one with that comment), space-separated.
nft_packets() {
	in_ns "$1" nft list chain "$2" "$3" "$4" |
		awk -v c="${5:-}" '/counter/ && (c == "" || index($0, "\"" c "\"")) {
			for (i = 1; i < NF; i++) if ($i == "packets") printf "%s ", $(i + 1) }' |
		sed 's/ $//'
}

# udp_responder NS PORT TEXT: a UDP server in NS answering every datagram with TEXT.
udp_responder() {
	lab_spawn "$1" python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, int(sys.argv[1])))
while True:
    s.sendto(sys.argv[2].encode(), s.recvfrom(4096)[1])
' "$2" "$3"
	wait_listening "$1" udp "$2"
}

# case_front_mss: MSS clamping over the lab's tunnel, whatever its MTU. The
# client's link is widened to MTU 9000 so that its SYNs carry more than any
# tunnel allows. --mss auto gives the backend the tunnel's MTU - 40 (IPv6:
# - 60) instead; --mss 1300 (IPv6: 1280, its header is 20 bytes longer)
# also lowers the backend's SYN-ACK (its own tunnel MTU - 40) on its way to
# the client; --mss off leaves both.
# Needs lab_peer_server 8080, the lab up and nothing attached.
case_front_mss() {
	local auto client_before t="$LAB_TUNNEL IPv$LAB_FAMILY"
	local extra=$((LAB_FAMILY == 6 ? 20 : 0))
	local set=$((1300 - extra)) wide=$((8960 - extra))
	auto=$(($(front ip -j link show "$TUN_FRONT" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["mtu"])') - 40 - extra))
	client ip link set c0 mtu 9000
	front ip link set f0 mtu 9000
	mss_counters "$NS_BACK" input syn "$set" "$auto" "$wide"
	mss_counters "$NS_CLIENT" input "syn | ack" "$set" "$auto" "$wide"

	expect_ok "$t: attach (--mss auto)" lab_attach
	expect_eq "$t: relay works" "backend saw $CLIENT_IP 0" "$(mss_connect)"
	expect_gt "$t: the backend saw MSS $auto (tunnel MTU - 40, IPv6 - 60)" 0 \
		"$(mss_seen "$NS_BACK" "$auto")"
	expect_eq "$t: the backend never saw the client's $wide" 0 "$(mss_seen "$NS_BACK" "$wide")"

	client_before=$(mss_seen "$NS_CLIENT" "$auto")
	expect_ok "$t: re-attach with --mss 1300" front "$RELAYBPF" attach --role front --dev f0 \
		--backend "$BACK_TUN" --mss 1300
	expect_eq "$t: relay works" "backend saw $CLIENT_IP 0" "$(mss_connect)"
	expect_gt "$t: the backend saw MSS $set" 0 "$(mss_seen "$NS_BACK" "$set")"
	expect_gt "$t: the client got a SYN-ACK with MSS $set (lowered from $auto)" 0 \
		"$(mss_seen "$NS_CLIENT" "$set")"
	expect_eq "$t: the client got no more $auto" "$client_before" "$(mss_seen "$NS_CLIENT" "$auto")"

	expect_ok "$t: re-attach with --mss off" front "$RELAYBPF" attach --role front --dev f0 \
		--backend "$BACK_TUN" --mss off
	expect_eq "$t: relay works" "backend saw $CLIENT_IP 0" "$(mss_connect)"
	expect_gt "$t: with --mss off the backend sees the client's $wide" 0 \
		"$(mss_seen "$NS_BACK" "$wide")"
}

# mss_counters NS HOOK FLAGS VALUE...: a counter per MSS value seen on SYNs
# (FLAGS syn or syn,ack).
mss_counters() {
	local ns=$1 hook=$2 flags=$3 v
	shift 3
	in_ns "$ns" nft add table inet mss
	in_ns "$ns" nft add chain inet mss c "{ type filter hook $hook priority 0; }"
	for v in "$@"; do
		in_ns "$ns" nft add rule inet mss c "$NFT_IP" saddr != "$LOOPBACK" \
			tcp flags == "$flags" tcp option maxseg size "$v" counter comment "\"mss$v\""
	done
}
# mss_seen NS VALUE: packets counted for that MSS value.
mss_seen() { nft_packets "$1" inet mss c "mss$2"; }
mss_connect() { client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" </dev/null; }

# ct_max_min: the smallest --ct-max this machine takes (256 per possible CPU,
# user/options.c).
ct_max_min() {
	python3 -c '
n = 0
for r in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = r.partition("-")
    n += int(b or a) - int(a) + 1
print(256 * n)'
}

# tap_public_up SCRIPT: a TAP device TAP made by SCRIPT (tapfrags.py,
# tapcsum.py: how it takes frames) in the front, on a public network of its
# own apart from f0's (TAP_PUB), its client TAP_CLIENT behind it at
# PEER_MAC. The lab's sysctls turn DAD off.
TAP_MAC=02:00:00:00:01:01
PEER_MAC=02:00:00:00:01:02
tap_public_up() {
	if [ "$LAB_FAMILY" = 6 ]; then
		TAP_PUB=2001:db8:5::1 TAP_CLIENT=2001:db8:5::10 TAP_LEN=64
	else
		TAP_PUB=203.0.113.129 TAP_CLIENT=203.0.113.200 TAP_LEN=25
	fi
	front python3 "$(dirname "$0")/$1" create "$TAP"
	front ip link set "$TAP" address "$TAP_MAC"
	front ip addr add "$TAP_PUB/$TAP_LEN" dev "$TAP"
	front ip link set "$TAP" up
	front ip neigh replace "$TAP_CLIENT" lladdr "$PEER_MAC" dev "$TAP" nud permanent
}
