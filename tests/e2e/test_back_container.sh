#!/usr/bin/env bash
# A service in a container behind the backend: a "container" namespace on a
# bridge of the backend, its port published with the iptables rules Docker
# installs (nat PREROUTING -> DOCKER chain DNAT, MASQUERADE of the bridge's
# network, FORWARD policy DROP). Relayed TCP and UDP reach the container from
# the client's own address (the back's `lookup main suppress_prefixlength 0`
# rule lets the bridge's route win over the tunnel's default route), and
# its replies, forwarded by the backend without a mark, return through the
# tunnel (the egress fix-up knows the relayed flow); none leaks out of the
# backend's default route. The container's own connections still leave by
# that route, masqueraded. Detach removes the rule.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
NS_CT="${LAB_PREFIX}-ct"
ct() { in_ns "$NS_CT" "$@"; }
cleanup() {
	ip netns del "$NS_CT" 2>/dev/null
	lab_down
}
trap cleanup EXIT

case "$LAB_FAMILY" in
4) CT_NET=10.22.22.64/28 BR_IP=10.22.22.65 CT_IP=10.22.22.66 IPT=iptables ;;
6) CT_NET=2001:db8:17::/64 BR_IP=2001:db8:17::1 CT_IP=2001:db8:17::2 IPT=ip6tables ;;
esac
CT_LEN=${CT_NET#*/}

lab_up_or_die
lab_ns_add "$NS_CT"
back ip link add br0 type bridge
back ip addr add "$BR_IP/$CT_LEN" dev br0
back ip link set br0 up
ip link add veth0 netns "$NS_BACK" type veth peer name eth0 netns "$NS_CT"
back ip link set veth0 master br0 up
ct ip addr add "$CT_IP/$CT_LEN" dev eth0
ct ip link set eth0 up
ct ip route add default via "$BR_IP"
back sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Docker's rules for `docker run -p 8080:80 -p 9000:80/udp` (docker0 is br0).
dnat_to=$(hp "$CT_IP" 80)
back "$IPT" -t nat -N DOCKER
back "$IPT" -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
back "$IPT" -t nat -A POSTROUTING -s "$CT_NET" ! -o br0 -j MASQUERADE
back "$IPT" -t nat -A DOCKER -i br0 -j RETURN
back "$IPT" -t nat -A DOCKER ! -i br0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination "$dnat_to"
back "$IPT" -t nat -A DOCKER ! -i br0 -p udp -m udp --dport 9000 -j DNAT --to-destination "$dnat_to"
back "$IPT" -P FORWARD DROP
back "$IPT" -N DOCKER
back "$IPT" -A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
back "$IPT" -A FORWARD -o br0 -j DOCKER
back "$IPT" -A FORWARD -i br0 ! -o br0 -j ACCEPT
back "$IPT" -A DOCKER -d "$CT_IP" ! -i br0 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT
back "$IPT" -A DOCKER -d "$CT_IP" ! -i br0 -o br0 -p udp -m udp --dport 80 -j ACCEPT

# The container's service: TCP and UDP on port 80, answering with the peer
# address it saw.
lab_spawn "$NS_CT" python3 -c "$LAB_PY"'
import threading
t = socket.socket(AF, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((ANY, 80))
t.listen(8)
u = socket.socket(AF, socket.SOCK_DGRAM)
u.bind((ANY, 80))
def udp():
    while True:
        data, peer = u.recvfrom(65535)
        u.sendto(b"container saw udp %s" % peer[0].encode(), peer)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, peer = t.accept()
    c.sendall(b"container saw tcp %s" % peer[0].encode())
    c.close()
'
lab_wait_for "the container's service" ct sh -c "ss -tln | grep -q ':80 '"
# The sink answers the container's own connections (port 7000).
lab_spawn "$NS_SINK" socat "$TCP_LISTEN:7000,reuseaddr,fork" SYSTEM:'echo sink saw $SOCAT_PEERADDR'
lab_wait_for "the sink's server" sink sh -c "ss -tln | grep -q ':7000 '"

before=$(back ip -"$LAB_FAMILY" rule show)
expect_ok "$FAM: attach" lab_attach
expect_match "$FAM: the main table without its default route, for the mark" \
	"8999:.*fwmark 0x1 lookup main suppress_prefixlength 0" "$(back ip -"$LAB_FAMILY" rule show)"

got=$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" </dev/null)
expect_eq "$FAM: TCP: the container sees the client and the client its reply" \
	"container saw tcp $CLIENT_IP" "$got"
got=$(printf 'hello' | client socat -T3 - "UDP:$(hp "$FRONT_PUB" 9000)")
expect_eq "$FAM: UDP: the container sees the client and the client its reply" \
	"container saw udp $CLIENT_IP" "$got"
expect_eq "$FAM: nothing leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
stats=$(back "$RELAYBPF" stats --json)
expect_gt "$FAM: the forwarded replies were fixed on egress" 1 "$(jq .back.back_fixed_egress <<<"$stats")"
# Not a relayed flow's reply: the container's own connection leaves by the
# default route, masqueraded to the backend's address.
got=$(ct socat -T3 - "TCP:$(hp "$SINK_IP" 7000),connect-timeout=3" </dev/null)
expect_match "$FAM: the container's own connection leaves by the default route" \
	"sink saw" "$got"

expect_ok "$FAM: detach" back "$RELAYBPF" detach
expect_eq "$FAM: detach removes the rules" "$before" "$(back ip -"$LAB_FAMILY" rule show)"
e2e_summary
