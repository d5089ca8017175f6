#!/usr/bin/env bash
# A client's connection moves to another front mid-stream (anycast or ECMP
# in front of two fronts: the network changes its path, or loses a front)
# and keeps going: both fronts relay to one service address on the
# backend's loopback, each through its own tunnel; the backend's replies
# follow the tunnel the client's packets now arrive by, although its socket
# keeps the first tunnel's mark. Twice, each with a 6 MB stream whose
# SHA-256 the backend checks:
#  A. front 1 drops off the client's path (its public link goes down) but
#     its tunnel stays up: the replies leave by tunnel 1's route and
#     relay_back_follow sends them into tunnel 2;
#  B. front 1 and its tunnel vanish (the backend's tunnel device is
#     deleted): tunnel 1's table has no route, the replies fall to the main
#     table's default route and relay_back_out sends them into tunnel 2;
#     none leaves by the backend's uplink with the service address.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
trap lab_down EXIT

NODAD=
[ "$LAB_FAMILY" = 6 ] && NODAD=nodad

# Front 2 on a second link of the client's with the same addresses as
# front 1's (anycast: the client's route picks the front), and a veth
# tunnel of its own to the backend.
front2_up() {
	lab_ns_add "$NS_FRONT2"
	ip link add c2 netns "$NS_CLIENT" type veth peer name f0 netns "$NS_FRONT2"
	client ip link set c2 up
	front2 ip link set f0 up
	front2 ip addr add "$FRONT_PUB/$HOST_LEN" dev f0 $NODAD
	front2 ip route add "$CLIENT_IP/$HOST_LEN" dev f0
	# Answers neighbour solicitations for the client's address on c2 too.
	client ip addr add "$CLIENT_IP/$HOST_LEN" dev c2 $NODAD
	veth_pair "$NS_FRONT2" "$TUN2_FRONT" "$FRONT2_TUN4/30" "$NS_BACK" "$TUN2_BACK" \
		"$BACK2_TUN4/30" "$FRONT2_TUN6/64" "$BACK2_TUN6/64"
	front2 sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	front sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	lab_wait_for "the second tunnel" front2 ping -c1 -W1 "$BACK2_TUN"
}

# The backend's service address, which both fronts relay to.
service_up() {
	back ip addr add "$BACK_SVC/$HOST_LEN" dev lo
	front ip route add "$BACK_SVC/$HOST_LEN" via "$BACK_TUN" dev "$TUN_FRONT"
	front2 ip route add "$BACK_SVC/$HOST_LEN" via "$BACK2_TUN" dev "$TUN2_FRONT"
}

# The client's path to the public address: by front 1 (the /24 or /64 of
# c0) or by front 2.
via_front2() { client ip route replace "$FRONT_PUB/$HOST_LEN" dev c2 src "$CLIENT_IP"; }
via_front1() { client ip route del "$FRONT_PUB/$HOST_LEN" dev c2 2>/dev/null; true; }

# Reads a whole stream, answers its SHA-256 and the peer's address.
sha_server() {
	lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import hashlib
s = socket.socket(AF, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ANY, 8080))
s.listen(8)
while True:
    c, peer = s.accept()
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    c.sendall(("%s %s\n" % (h.hexdigest(), peer[0])).encode())
    c.close()'
	lab_wait_for "the SHA-256 server" back ss -Hltn 'sport = :8080'
}

# Sends 6 MB in 64 KiB chunks over about 3 s, prints "ok" when the backend
# saw the same SHA-256 from the client's own address; started in the
# background (its output in the file $1).
stream_start() {
	client timeout 60 python3 -c "$LAB_PY$LAB_PY_STREAM"'
import sys
stream(socket.create_connection((sys.argv[1], 8080), timeout=30), 96, 0.03, sys.argv[2])' \
		"$FRONT_PUB" "$CLIENT_IP" >"$1" 2>&1 &
	STREAM_PID=$!
}

moved() { back "$RELAYBPF" stats --json | jq -r '.back.back_moved_to_flow_tunnel'; }

lab_up_or_die
if ! front2_up; then
	echo "  FAIL second front setup"
	echo "RESULT 0 1"
	exit 1
fi
service_up
sha_server
front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_SVC" >/dev/null &&
	front2 "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_SVC" >/dev/null &&
	back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN" >/dev/null &&
	back "$RELAYBPF" attach --role back --dev "$TUN2_BACK" --front "$FRONT2_TUN" >/dev/null
expect_eq "$FAM: two fronts and a back with two tunnels attach" 0 "$?"
back "$RELAYBPF" status >&2
expect_eq "$FAM: the back is healthy (each tunnel's ingress and egress filters)" 0 \
	"$(back "$RELAYBPF" status >/dev/null 2>&1; echo $?)"

# A. Front 1 leaves the client's path, its tunnel stays.
stream_start "$LAB_DIR/a"
sleep 1
via_front2
front ip link set f0 down
wait "$STREAM_PID"
expect_eq "$FAM: A: the stream moved to front 2 mid-way and completed intact" ok "$(cat "$LAB_DIR/a")"
a=$(moved)
expect_gt "$FAM: A: replies moved from tunnel 1 to tunnel 2 (back_moved_to_flow_tunnel)" 0 "$a"
expect_gt "$FAM: A: front 2 relayed the flow it picked up mid-stream" 0 \
	"$(front2 "$RELAYBPF" stats --json | jq -r .front.forwarded_packets)"

# B. Front 1 is back on the path; a new stream starts there, then front 1
# and its tunnel vanish.
front ip link set f0 up
# A network manager puts back the IPv6 address a down may have taken.
[ "$LAB_FAMILY" = 6 ] && front ip addr replace "$FRONT_PUB6/64" dev f0 nodad
via_front1
stream_start "$LAB_DIR/b"
sleep 1
via_front2
front ip link del "$TUN_FRONT"
wait "$STREAM_PID"
expect_eq "$FAM: B: with tunnel 1 gone, the stream completed through front 2" ok "$(cat "$LAB_DIR/b")"
expect_gt "$FAM: B: replies that lost tunnel 1's route went into tunnel 2" "$a" "$(moved)"
expect_eq "$FAM: nothing left by the backend's uplink" 0 "$(lab_sink_leaks)"
e2e_summary
