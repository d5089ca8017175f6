#!/usr/bin/env bash
# UDP (also with checksum 0) and ICMP echo from a client through the front
# and a real WireGuard tunnel to the backend and back; --exclude and --ports
# for UDP. LAB_TUNNEL=veth runs the same over an L2 tunnel.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
# A UDP server that answers with the peer it saw and logs it. Its socket
# carries the back's mark itself: a UDP reply inherits no mark (returning
# unmarked UDP is the back role's business, issue 4, not this test's).
lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 36, 1)  # SO_MARK
s.bind((ANY, int(sys.argv[1])))
while True:
    d, a = s.recvfrom(4096)
    s.sendto(b"backend saw %s %d" % (a[0].encode(), len(d)), a)
' 5353
# Echo replies and ICMP errors take the mark of the packet they answer.
back sysctl -qw "$SYSCTL_IP.fwmark_reflect=1"
back nft add table inet t
back nft add chain inet t in '{ type filter hook input priority 0; }'
back nft add rule inet t in "$NFT_IP" saddr "$CLIENT_IP" "$NFT_ICMP" type echo-request counter
expect_ok "attach front and back" lab_attach --exclude tcp:22,udp:5400-5410

# udp_ask PORT [nocsum]: one datagram from the client, prints the answer.
udp_ask() {
	client python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
if len(sys.argv) > 3:
    s.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK: UDP checksum 0 (IPv4 only)
s.settimeout(3)
s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(4096)[0].decode())
except socket.timeout:
    print("timeout")
' "$FRONT_PUB" "$1" ${2:+"$2"}
}

expect_eq "$LAB_TUNNEL: UDP reaches the backend with the client's address and returns" \
	"backend saw $CLIENT_IP 5" "$(udp_ask 5353)"
expect_eq "$LAB_TUNNEL: UDP with checksum 0 is relayed (the backend accepts it)" \
	"backend saw $CLIENT_IP 5" "$(udp_ask 5353 nocsum)"

out=$(client ping -c2 -W2 "$FRONT_PUB")
# The backend answers with TTL 64 and the front decrements it; the front
# itself would answer with 64.
expect_match "$LAB_TUNNEL: ping answered by the backend through the front" "ttl=63" "$out"
expect_match "$LAB_TUNNEL: the backend saw the client's echo requests" "packets [1-9]" \
	"$(back nft list chain inet t in)"

# A closed UDP port on the backend: its port-unreachable comes back
# translated (outer source and quoted destination are the public address),
# so the client's connected socket matches it and gets ECONNREFUSED.
client nft add table inet t
client nft add chain inet t in '{ type filter hook input priority 0; }'
client nft add rule inet t in "$NFT_IP" saddr "$BACK_TUN" counter
client nft add rule inet t in "$NFT_ICMP" type destination-unreachable counter
refused=$(client python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 5999))
s.send(b"x")
try:
    s.recv(100)
    print("answer")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
' "$FRONT_PUB")
expect_eq "$LAB_TUNNEL: the backend's port unreachable reaches the client's socket" \
	refused "$refused"
expect_eq "$LAB_TUNNEL: the client got one ICMP error, nothing from the backend's address" \
	"0 1" "$(nft_packets "$NS_CLIENT" inet t in)"

# --exclude udp:5400-5410: the front's own UDP service answers.
udp_responder "$NS_FRONT" 5405 "front udp"
expect_eq "$LAB_TUNNEL: an excluded UDP port stays with the front" "front udp" "$(udp_ask 5405)"

# --ports udp:5353: only that port is relayed, the rest (and ping) is the front's.
expect_ok "re-attach with --ports udp:5353" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --ports udp:5353
expect_eq "$LAB_TUNNEL: a listed UDP port is relayed" "backend saw $CLIENT_IP 5" "$(udp_ask 5353)"
udp_responder "$NS_FRONT" 5500 "front 5500"
expect_eq "$LAB_TUNNEL: an unlisted UDP port stays with the front" "front 5500" "$(udp_ask 5500)"
expect_match "$LAB_TUNNEL: with --ports, ping is answered by the front" "ttl=64" \
	"$(client ping -c1 -W2 "$FRONT_PUB")"

for c in pass_excluded pass_not_in_ports returned_packets; do
	expect_gt "front counted $c" 0 "$(front_stat "$c")"
done
expect_eq "$LAB_TUNNEL: no reply leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
e2e_summary
