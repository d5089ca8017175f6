# shellcheck shell=bash
# Checks shared by the e2e tests of every tunnel type (needs lib.sh and
# assert.sh, a lab that is up and attached, and lab_peer_server 8080).

# TCP from the client reaches the backend with the client's address, the
# answer comes back, a bulk upload arrives whole (every data segment's
# rewritten checksum verified by the backend's stack) and nothing leaks out
# of the backend's own default route.
case_tcp_relay() {
	local reply got
	# Generous timeouts cost nothing when it works (socat ends with the
	# server's close) and give the server's shell time to answer under
	# QEMU (make vmtest): -t is how long socat waits for the other side after
	# its stdin's EOF, 0.5 s by default.
	reply=$(client socat -t20 -T20 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=10" </dev/null)
	expect_eq "$LAB_TUNNEL $FAM: client gets the backend's answer" "backend saw $CLIENT_IP 0" "$reply"
	expect_match "$LAB_TUNNEL $FAM: backend logged the client's real address" "^$CLIENT_IP\$" \
		"$(grep -vx "$LOOPBACK" "$LAB_DIR/backend-peers" | head -1)"
	got=$(head -c 1000000 /dev/urandom | client socat -T5 -t5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3")
	expect_eq "$LAB_TUNNEL $FAM: 1 MB upload relayed whole" "backend saw $CLIENT_IP 1000000" "$got"
	expect_eq "$LAB_TUNNEL $FAM: no reply leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
}

# Every kind of reply the backend sends to a relayed client returns through
# the tunnel, with strict rp_filter on: TCP, UDP answered with sendto() by a
# server bound to 0.0.0.0, ICMP echo, and the RST of a closed port. Needs
# lab_peer_server 8080, lab_udp_server 9000 and lab_back_counters.
case_back_replies() {
	local got
	expect_eq "$LAB_TUNNEL $FAM: rp_filter strict on all" 1 "$(back sysctl -n net.ipv4.conf.all.rp_filter)"
	expect_eq "$LAB_TUNNEL $FAM: rp_filter strict on the tunnel" 1 \
		"$(back sysctl -n "net.ipv4.conf.$TUN_BACK.rp_filter")"
	got=$(client socat -t20 -T20 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=10" </dev/null)
	expect_eq "$LAB_TUNNEL $FAM: TCP reply" "backend saw $CLIENT_IP 0" "$got"
	got=$(printf 'hello' | client socat -T3 - "UDP:$(hp "$FRONT_PUB" 9000)")
	expect_eq "$LAB_TUNNEL $FAM: UDP sendto() reply from a 0.0.0.0 socket" "udp saw $CLIENT_IP 5" "$got"
	expect_ok "$LAB_TUNNEL $FAM: ICMP echo reply through the relay" client ping -c2 -W2 "$FRONT_PUB"
	expect_gt "$LAB_TUNNEL $FAM: the backend sent the echo replies into the tunnel" 1 "$(lab_back_sent icmp)"
	got=$(client socat -T3 /dev/null "TCP:$(hp "$FRONT_PUB" 8081),connect-timeout=3" 2>&1)
	expect_match "$LAB_TUNNEL $FAM: RST of a closed port comes back" "Connection refused" "$got"
	expect_gt "$LAB_TUNNEL $FAM: the backend sent TCP into the tunnel" 0 "$(lab_back_sent tcp)"
	expect_eq "$LAB_TUNNEL $FAM: rp_filter still strict on all" 1 \
		"$(back sysctl -n net.ipv4.conf.all.rp_filter)"
	expect_eq "$LAB_TUNNEL $FAM: rp_filter still strict on the tunnel" 1 \
		"$(back sysctl -n "net.ipv4.conf.$TUN_BACK.rp_filter")"
	expect_eq "$LAB_TUNNEL $FAM: nothing leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
	case_back_own_traffic
}

# The backend's own traffic leaves by its default route untouched, even
# from the relayed service's port.
case_back_own_traffic() {
	sink nft add rule inet sink in "$NFT_IP" saddr "$BACK_OWN" udp dport 53 counter comment '"own"'
	back python3 -c "$LAB_PY"'
import sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ANY, 9001))
for _ in range(3): s.sendto(b"own", (sys.argv[1], 53))' "$SINK_IP"
	expect_eq "$LAB_TUNNEL $FAM: the backend's own UDP reached its default route" 3 \
		"$(sink nft list chain inet sink in | awk '$NF == "\"own\"" {print $(NF-4)}')"
}

# The whole back cycle on a fresh lab, behind the relaybpf front: strict
# rp_filter, attach, every
# kind of reply, then detach leaves rules, routes, sysctls and filters exactly as
# they were before attach.
case_back_cycle() {
	local before
	back sysctl -qw net.ipv4.conf.all.rp_filter=1 "net.ipv4.conf.$TUN_BACK.rp_filter=1"
	lab_peer_server 8080
	lab_udp_server 9000
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" >/dev/null
	lab_back_counters
	before=$(lab_back_snapshot)
	expect_ok "$LAB_TUNNEL $FAM: attach back" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" \
		--front "$FRONT_TUN"
	expect_eq "$LAB_TUNNEL $FAM: src_valid_mark on the tunnel" 1 \
		"$(back sysctl -n "net.ipv4.conf.$TUN_BACK.src_valid_mark")"
	expect_eq "$LAB_TUNNEL $FAM: fwmark_reflect" 1 "$(back sysctl -n "$SYSCTL_IP.fwmark_reflect")"
	expect_match "$LAB_TUNNEL $FAM: attach again updates in place" "back updated on $TUN_BACK, mark 0x1/" \
		"$(back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN")"
	expect_eq "$LAB_TUNNEL $FAM: still one rule of each" \
		"$(printf '8999:\tfrom all fwmark 0x1 lookup main suppress_prefixlength 0\n9000:\tfrom all fwmark 0x1 lookup 100')" \
		"$(back ip -"$LAB_FAMILY" rule show | grep fwmark)"
	case_back_replies
	expect_ok "$LAB_TUNNEL $FAM: detach back" back "$RELAYBPF" detach --role back
	expect_eq "$LAB_TUNNEL $FAM: rules, routes, sysctls and filters as before attach" "$before" \
		"$(lab_back_snapshot)"
}
