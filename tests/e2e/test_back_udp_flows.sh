#!/usr/bin/env bash
# The back's UDP fix-up is not a way into the backend's own traffic: a
# packet forged through the front "from" the backend's DNS server
# (the sink, port 53) to the port of the backend's next query teaches the
# back's flow table that flow, yet the query, from a connected socket,
# still leaves by the backend's default route and gets its answer. A
# relayed reply from an unconnected socket is the control: still fixed.
set -u
. "$(dirname "$0")/rel_lib.sh"
trap lab_down EXIT

lab_up_or_die
udp_responder "$NS_SINK" 53 answer
lab_udp_server 9000
expect_ok "$FAM: attach" lab_attach
# What came in through the tunnel from the "server": proves the forged
# packet reached the backend.
back nft add table inet spoof
back nft add chain inet spoof in '{ type filter hook prerouting priority 0; }'
back nft add rule inet spoof in iifname "$TUN_BACK" "$NFT_IP" saddr "$SINK_IP" udp sport 53 counter
client python3 "$(dirname "$0")/rawpkt.py" send 0 udp "$SINK_IP" "$FRONT_PUB" 53 40053
lab_wait_for "the forged packet through the tunnel" \
	sh -c "nsenter --net=/run/netns/$NS_BACK nft list chain inet spoof in | grep -q 'packets 1 '"

# The backend's own query, as glibc's resolver sends it: a connected socket.
got=$(back python3 -c "$LAB_PY"'
import sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, 40053))
s.connect((sys.argv[1], 53))
s.settimeout(3)
s.send(b"query")
print(s.recv(100).decode())
' "$SINK_IP" 2>&1)
expect_eq "$FAM: the backend's own query from a connected socket gets its answer" answer "$got"
expect_gt "$FAM: passed as a connected socket's" 0 \
	"$(back "$RELAYBPF" stats --json | jq .back.back_passed_connected_socket)"

got=$(printf 'hello' | client socat -T3 - "UDP:$(hp "$FRONT_PUB" 9000)")
expect_eq "$FAM: a relayed reply from an unconnected socket is still fixed" \
	"udp saw $CLIENT_IP 5" "$got"
expect_eq "$FAM: nothing of the client's leaked" 0 "$(lab_sink_leaks)"
e2e_summary
