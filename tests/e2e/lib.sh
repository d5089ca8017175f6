# shellcheck shell=bash
# The lab: client, front, back and sink in network namespaces, joined by
# veths, with a tunnel between front and back:
#
#   client 203.0.113.10 --- 203.0.113.1 front 198.51.100.1 --- 198.51.100.2 back
#                                  $TUN_FRONT 10.22.22.2 ===== $TUN_BACK 10.22.22.1
#                                                              back 192.0.2.2 --- 192.0.2.1 sink
#
# LAB_TUNNEL picks the tunnel: wg (default; real WireGuard with wireguard-go,
# a TUN device: L3, no Ethernet header, checks checksums), veth (L2, a plain
# veth pair) or vxlan (L2 over the 198.51.100.0/24 underlay, UDP 4789).
#
# The backend's own default route points at the sink, never at the front:
# a reply that does not go back through the tunnel is lost there, as on a
# real server whose default route is its own uplink.
#
# Everything is created with a unique prefix and removed by lab_down, which
# the caller runs from a trap on EXIT; only processes started here are killed.

LAB_ID=${LAB_ID:-$$}
LAB_PREFIX="rbt${LAB_ID}"
NS_CLIENT="${LAB_PREFIX}-client"
NS_FRONT="${LAB_PREFIX}-front"
NS_BACK="${LAB_PREFIX}-back"
NS_SINK="${LAB_PREFIX}-sink"
# A second front with its own client and a veth tunnel (lab_front2_up).
NS_CLIENT2="${LAB_PREFIX}-client2"
NS_FRONT2="${LAB_PREFIX}-front2"
LAB_TUNNEL=${LAB_TUNNEL:-wg}
# Interface names are global for wireguard-go's control socket: keep them unique.
TUN_FRONT="rbf${LAB_ID}"
TUN_BACK="rbb${LAB_ID}"
CLIENT_IP=203.0.113.10
FRONT_PUB=203.0.113.1
FRONT_UNDER=198.51.100.1
BACK_UNDER=198.51.100.2
FRONT_TUN=10.22.22.2
BACK_TUN=10.22.22.1
TUN2_FRONT="rbg${LAB_ID}"
TUN2_BACK="rbh${LAB_ID}"
CLIENT2_IP=203.0.113.20
FRONT2_PUB=203.0.113.2
FRONT2_TUN=10.22.22.6
BACK2_TUN=10.22.22.5

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RELAYBPF="$REPO/build/relaybpf"
LAB_DIR=$(mktemp -d "/tmp/${LAB_PREFIX}.XXXXXX")
LAB_PIDS=()

# Run a command in a namespace's network stack, keeping the host's mounts
# (ip netns exec would hide the host's bpffs).
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}
client() { in_ns "$NS_CLIENT" "$@"; }
front() { in_ns "$NS_FRONT" "$@"; }
client2() { in_ns "$NS_CLIENT2" "$@"; }
front2() { in_ns "$NS_FRONT2" "$@"; }
back() { in_ns "$NS_BACK" "$@"; }
sink() { in_ns "$NS_SINK" "$@"; }

# Start a background process in a namespace and remember its PID (nsenter
# execs the command, so the PID is the command's own).
lab_spawn() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" </dev/null >>"$LAB_DIR/spawned.log" 2>&1 &
	LAB_PIDS+=($!)
}

veth_pair() { # ns_a if_a addr_a ns_b if_b addr_b
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$4" ip addr add "$6" dev "$5"
	in_ns "$1" ip link set "$2" up
	in_ns "$4" ip link set "$5" up
}

lab_up() {
	local ns
	for ns in "$NS_CLIENT" "$NS_FRONT" "$NS_BACK" "$NS_SINK"; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	veth_pair "$NS_CLIENT" c0 "$CLIENT_IP/24" "$NS_FRONT" f0 "$FRONT_PUB/24"
	veth_pair "$NS_FRONT" f1 "$FRONT_UNDER/24" "$NS_BACK" b1 "$BACK_UNDER/24"
	veth_pair "$NS_BACK" b2 192.0.2.2/24 "$NS_SINK" s0 192.0.2.1/24
	back ip route add default via 192.0.2.1
	# The sink counts (and drops) every packet for the client's network.
	sink nft add table inet sink
	sink nft add chain inet sink in '{ type filter hook prerouting priority 0; }'
	sink nft add rule inet sink in ip daddr 203.0.113.0/24 counter drop
	case "$LAB_TUNNEL" in
	wg) lab_wireguard ;;
	veth) veth_pair "$NS_FRONT" "$TUN_FRONT" "$FRONT_TUN/30" "$NS_BACK" "$TUN_BACK" "$BACK_TUN/30" ;;
	vxlan) lab_vxlan ;;
	*) echo "lab: unknown LAB_TUNNEL '$LAB_TUNNEL'" >&2; return 1 ;;
	esac
	lab_wait_for "the tunnel" front ping -c1 -W1 "$BACK_TUN"
}

lab_vxlan() {
	front ip link add "$TUN_FRONT" type vxlan id 42 local "$FRONT_UNDER" remote "$BACK_UNDER" \
		dstport 4789 dev f1
	back ip link add "$TUN_BACK" type vxlan id 42 local "$BACK_UNDER" remote "$FRONT_UNDER" \
		dstport 4789 dev b1
	front ip addr add "$FRONT_TUN/30" dev "$TUN_FRONT"
	back ip addr add "$BACK_TUN/30" dev "$TUN_BACK"
	front ip link set "$TUN_FRONT" up
	back ip link set "$TUN_BACK" up
}

# Packets that left the backend by its own default route toward a client.
lab_sink_leaks() {
	sink nft list chain inet sink in | awk '/counter/ {print $(NF-3); exit}'
}

lab_wireguard() {
	local kf kb
	kf=$(wg genkey)
	kb=$(wg genkey)
	lab_spawn "$NS_FRONT" env WG_PROCESS_FOREGROUND=1 wireguard-go "$TUN_FRONT"
	lab_spawn "$NS_BACK" env WG_PROCESS_FOREGROUND=1 wireguard-go "$TUN_BACK"
	lab_wait_for "wireguard-go sockets" test -S "/var/run/wireguard/$TUN_FRONT.sock" -a \
		-S "/var/run/wireguard/$TUN_BACK.sock"
	echo "$kf" >"$LAB_DIR/front.key"
	echo "$kb" >"$LAB_DIR/back.key"
	front wg set "$TUN_FRONT" private-key "$LAB_DIR/front.key" listen-port 51820 \
		peer "$(echo "$kb" | wg pubkey)" endpoint "$BACK_UNDER:51820" allowed-ips "$BACK_TUN/32"
	# The relayed packets' source is the real client: the back must accept any.
	back wg set "$TUN_BACK" private-key "$LAB_DIR/back.key" listen-port 51820 \
		peer "$(echo "$kf" | wg pubkey)" endpoint "$FRONT_UNDER:51820" allowed-ips 0.0.0.0/0
	front ip addr add "$FRONT_TUN/30" dev "$TUN_FRONT"
	back ip addr add "$BACK_TUN/30" dev "$TUN_BACK"
	front ip link set "$TUN_FRONT" up
	back ip link set "$TUN_BACK" up
}

# Builds the lab or ends the test script as failed.
lab_up_or_die() {
	if ! lab_up; then
		echo "  FAIL lab setup"
		echo "RESULT 0 1"
		exit 1
	fi
}

# lab_wait_for WHAT CMD...: retry CMD for up to 10 s.
lab_wait_for() {
	local what=$1 i
	shift
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "lab: timed out waiting for $what" >&2
	return 1
}

lab_down() {
	local pid ns
	# Cleanup must run to the end whatever fails (a killed child's wait
	# status would stop a `set -e` caller half-way).
	set +e
	for ns in "$NS_FRONT" "$NS_BACK"; do
		[ -e "/run/netns/$ns" ] && in_ns "$ns" "$RELAYBPF" detach >/dev/null 2>&1
	done
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "$NS_CLIENT" "$NS_FRONT" "$NS_BACK" "$NS_SINK" "$NS_CLIENT2" "$NS_FRONT2"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/var/run/wireguard/$TUN_FRONT.sock" "/var/run/wireguard/$TUN_BACK.sock"
	rm -rf "$LAB_DIR"
}

lab_attach() {
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" "$@"
	back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
}

# A TCP server on the backend that reads what the client sends and answers
# with the peer address it saw and the byte count, and logs the peer.
lab_peer_server() { # port
	lab_spawn "$NS_BACK" socat "TCP-LISTEN:$1,reuseaddr,fork" \
		SYSTEM:"echo \$SOCAT_PEERADDR >>$LAB_DIR/backend-peers; echo backend saw \$SOCAT_PEERADDR \$(wc -c)"
	lab_wait_for "the backend server" back socat -T1 /dev/null "TCP:127.0.0.1:$1"
}

# The front as the netfilter recipe (DNAT without SNAT, no relaybpf): the
# back's tests then cover every protocol whatever the front relays itself.
# TCP but 22, UDP and ICMP echo to the public address go to the backend.
lab_front_recipe() { # [ns public backend]: the first front by default
	local ns=${1:-$NS_FRONT} pub=${2:-$FRONT_PUB} to=${3:-$BACK_TUN}
	in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$ns" nft add table ip recipe
	in_ns "$ns" nft add chain ip recipe pre '{ type nat hook prerouting priority -100; }'
	in_ns "$ns" nft add rule ip recipe pre ip daddr "$pub" tcp dport != 22 dnat to "$to"
	in_ns "$ns" nft add rule ip recipe pre ip daddr "$pub" udp dport 1-65535 dnat to "$to"
	in_ns "$ns" nft add rule ip recipe pre ip daddr "$pub" icmp type echo-request dnat to "$to"
}

# The second front: client2 203.0.113.20 --- 203.0.113.2 front2, and a veth
# tunnel front2 10.22.22.6 ===== 10.22.22.5 back ($TUN2_BACK); front2 is
# the netfilter recipe.
lab_front2_up() {
	local ns
	for ns in "$NS_CLIENT2" "$NS_FRONT2"; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	veth_pair "$NS_CLIENT2" c0 "$CLIENT2_IP/24" "$NS_FRONT2" f0 "$FRONT2_PUB/24"
	veth_pair "$NS_FRONT2" "$TUN2_FRONT" "$FRONT2_TUN/30" "$NS_BACK" "$TUN2_BACK" "$BACK2_TUN/30"
	lab_front_recipe "$NS_FRONT2" "$FRONT2_PUB" "$BACK2_TUN"
	lab_wait_for "the second tunnel" front2 ping -c1 -W1 "$BACK2_TUN"
}

# Counts, on the backend, what leaves through the tunnel toward the client
# (by protocol: lab_back_sent tcp|udp|icmp).
lab_back_counters() {
	local p
	back nft add table inet sent
	back nft add chain inet sent out '{ type filter hook postrouting priority 0; }'
	for p in tcp udp icmp; do
		back nft add rule inet sent out oifname "$TUN_BACK" ip daddr "$CLIENT_IP" \
			meta l4proto "$p" counter comment "\"$p\""
	done
}
lab_back_sent() {
	back nft list chain inet sent out | awk -v p="\"$1\"" '$NF == p {print $(NF-4)}'
}

# A UDP server on the backend bound to 0.0.0.0 that answers each datagram
# with sendto(): its replies get their route and source from the main table,
# not from a mark. A datagram over 1000 bytes is echoed after the answer (a reply larger than
# the request).
lab_udp_server() { # port
	lab_spawn "$NS_BACK" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"udp saw %s %d" % (peer[0].encode(), len(data)) + (data if len(data) > 1000 else b""), peer)
' "$1"
	lab_wait_for "the backend's UDP server" back sh -c "ss -uln | grep -q ':$1 '"
}

# Everything the back role may change, to compare before attach and after detach.
lab_back_snapshot() {
	back ip -4 rule show
	back ip -4 route show table all
	back tc filter show dev "$TUN_BACK" ingress
	back sysctl net.ipv4.tcp_fwmark_accept net.ipv4.fwmark_reflect \
		net.ipv4.conf.all.rp_filter "net.ipv4.conf.$TUN_BACK.rp_filter" \
		"net.ipv4.conf.$TUN_BACK.src_valid_mark"
	for dev in $(back ls /sys/class/net 2>/dev/null); do
		back tc filter show dev "$dev" egress 2>/dev/null
	done
}
