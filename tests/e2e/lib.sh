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
# Both families, dual stack: the same links carry IPv6 (2001:db8:1::10 client,
# 2001:db8:1::1 front public, tunnel 2001:db8:22::2 front / ::1 back, back
# 2001:db8:2::2 --- 2001:db8:2::1 sink, underlay 2001:db8:51::1 --- ::2;
# WireGuard runs over the IPv4 underlay, VXLAN over LAB_FAMILY's). LAB_FAMILY
# (4, the default, or 6) picks the family the tests use: CLIENT_IP,
# FRONT_PUB, FRONT_TUN, BACK_TUN and the helpers below follow it, so every
# test script runs as its own IPv6 twin with LAB_FAMILY=6 (run.sh runs both).
#
# The backend's own default route points at the sink, never at the front:
# a reply that does not go back through the tunnel is lost there, as on a
# real server whose default route is its own uplink.
#
# LAB_ROUTER_MTU=N puts a router between client and front (lab_router):
#
#   client 203.0.113.10 --- r0 router r1 --- 203.0.113.1 front
#
# whose link toward the client has MTU N (the client's own stays 1500), so
# it sends frag-needed / packet too big for the backend's larger replies,
# from its own address 203.0.113.254 (2001:db8:1::fe).
#
# Everything is created with a unique prefix and removed by lab_down, which
# the caller runs from a trap on EXIT; only processes started here are killed.

# The tools are Debian's (scripts/deps.sh): a version manager's shims first
# in PATH (pyenv's python3 took 3.7 s to start on a loaded machine, 0.35 s
# for /usr/bin/python3) made the lab's servers miss their clients' timeouts.
PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

LAB_ID=${LAB_ID:-$$}
LAB_PREFIX="rbt${LAB_ID}"
NS_CLIENT="${LAB_PREFIX}-client"
NS_FRONT="${LAB_PREFIX}-front"
NS_BACK="${LAB_PREFIX}-back"
NS_SINK="${LAB_PREFIX}-sink"
NS_ROUTER="${LAB_PREFIX}-router"
LAB_ROUTER_MTU=${LAB_ROUTER_MTU:-}
ROUTER4=203.0.113.254
ROUTER6=2001:db8:1::fe
# A second front with its own client and a veth tunnel (lab_front2_up).
NS_CLIENT2="${LAB_PREFIX}-client2"
NS_FRONT2="${LAB_PREFIX}-front2"
LAB_TUNNEL=${LAB_TUNNEL:-wg}
# Interface names are global for wireguard-go's control socket: keep them unique.
TUN_FRONT="rbf${LAB_ID}"
TUN_BACK="rbb${LAB_ID}"
CLIENT4=203.0.113.10
FRONT_PUB4=203.0.113.1
FRONT_TUN4=10.22.22.2
BACK_TUN4=10.22.22.1
CLIENT6=2001:db8:1::10
FRONT_PUB6=2001:db8:1::1
FRONT_TUN6=2001:db8:22::2
BACK_TUN6=2001:db8:22::1
FRONT_UNDER=198.51.100.1
BACK_UNDER=198.51.100.2
FRONT_UNDER6=2001:db8:51::1
BACK_UNDER6=2001:db8:51::2
TUN2_FRONT="rbg${LAB_ID}"
TUN2_BACK="rbh${LAB_ID}"
CLIENT2_4=203.0.113.20
FRONT2_PUB4=203.0.113.2
FRONT2_TUN4=10.22.22.6
BACK2_TUN4=10.22.22.5
CLIENT2_6=2001:db8:3::20
FRONT2_PUB6=2001:db8:3::2
FRONT2_TUN6=2001:db8:22:2::2
BACK2_TUN6=2001:db8:22:2::1
# An address of the backend's own (on its lo) that several fronts relay to,
# each by its own tunnel (tests with two fronts).
BACK_SVC4=10.22.22.100
BACK_SVC6=2001:db8:22:ff::100

# The family the tests use: addresses, host prefix length, and what tools
# call it (sysctl net.ipv4/net.ipv6, nft's ip/ip6 and icmp/icmpv6, socat's
# listeners, Python's AF_INET/AF_INET6 and wildcard address, exported for
# the Python servers, see LAB_PY).
LAB_FAMILY=${LAB_FAMILY:-4}
case "$LAB_FAMILY" in
4)
	CLIENT_IP=$CLIENT4 FRONT_PUB=$FRONT_PUB4 FRONT_TUN=$FRONT_TUN4 BACK_TUN=$BACK_TUN4
	CLIENT2_IP=$CLIENT2_4 FRONT2_PUB=$FRONT2_PUB4 FRONT2_TUN=$FRONT2_TUN4 BACK2_TUN=$BACK2_TUN4
	BACK_SVC=$BACK_SVC4
	BACK_OWN=192.0.2.2 SINK_IP=192.0.2.1 SYSCTL_IP=net.ipv4 BACK_PUB=203.0.113.20
	LOOPBACK=127.0.0.1 HOST_LEN=32 NFT_IP=ip NFT_ICMP=icmp
	TCP_LISTEN=TCP-LISTEN UDP_LISTEN=UDP-LISTEN
	export LAB_AF=AF_INET LAB_ANY=0.0.0.0
	;;
6)
	CLIENT_IP=$CLIENT6 FRONT_PUB=$FRONT_PUB6 FRONT_TUN=$FRONT_TUN6 BACK_TUN=$BACK_TUN6
	CLIENT2_IP=$CLIENT2_6 FRONT2_PUB=$FRONT2_PUB6 FRONT2_TUN=$FRONT2_TUN6 BACK2_TUN=$BACK2_TUN6
	BACK_SVC=$BACK_SVC6
	BACK_OWN=2001:db8:2::2 SINK_IP=2001:db8:2::1 SYSCTL_IP=net.ipv6 BACK_PUB=2001:db8:1::20
	LOOPBACK=::1 HOST_LEN=128 NFT_IP=ip6 NFT_ICMP=icmpv6
	TCP_LISTEN=TCP6-LISTEN UDP_LISTEN=UDP6-LISTEN
	export LAB_AF=AF_INET6 LAB_ANY=::
	;;
*) echo "lab: unknown LAB_FAMILY '$LAB_FAMILY'" >&2; exit 2 ;;
esac
# Labels of the checks say which family ran them.
FAM="IPv$LAB_FAMILY"
# Python prelude of the lab's servers: AF and ANY of the family.
LAB_PY='import os, socket
AF = getattr(socket, os.environ["LAB_AF"])
ANY = os.environ["LAB_ANY"]
'

# Python after LAB_PY, for a client's byte stream to a server that reads it
# whole and answers its SHA-256 and the peer's address (a line):
# stream(s, chunks, pause, me) sends CHUNKS random 64 KiB chunks, PAUSE
# seconds apart, and prints "ok" when the answer is the same SHA-256 from
# the client's own address ME.
LAB_PY_STREAM='import hashlib, random, time
def stream(s, chunks, pause, me):
    rnd = random.Random(7)
    h = hashlib.sha256()
    for i in range(chunks):
        chunk = rnd.randbytes(65536)
        h.update(chunk)
        s.sendall(chunk)
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while not reply.endswith(b"\n"):
        b = s.recv(200)
        if not b:
            break
        reply += b
    want = "%s %s" % (h.hexdigest(), me)
    print("ok" if reply.decode().strip() == want else "got %r, want %r" % (reply, want))
'

# hp ADDR PORT: ADDR:PORT as socat takes it ([ADDR]:PORT for IPv6).
hp() {
	case "$1" in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

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
router() { in_ns "$NS_ROUTER" "$@"; }

# Start a background process in a namespace and remember its PID (nsenter
# execs the command, so the PID is the command's own).
lab_spawn() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" </dev/null >>"$LAB_DIR/spawned.log" 2>&1 &
	LAB_PIDS+=($!)
}

# Both ends get ifindexes of their own (both namespaces number their devices
# alike): the kernel takes a veth whose ifindex is its peer's for a device
# without a lower one, whose carrier changes linkwatch applies at most once a
# second. An up within a second of a down would stay NO-CARRIER, without
# its IPv6 link-local address (so without neighbour discovery), up to 1 s.
VETH_INDEX=100
veth_pair() { # ns_a if_a addr_a ns_b if_b addr_b [addr6_a addr6_b]
	ip link add "$2" netns "$1" index "$VETH_INDEX" type veth peer name "$5" netns "$4" \
		index $((VETH_INDEX + 1))
	VETH_INDEX=$((VETH_INDEX + 2))
	in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$4" ip addr add "$6" dev "$5"
	[ -n "${7:-}" ] && in_ns "$1" ip addr add "$7" dev "$2" nodad
	[ -n "${8:-}" ] && in_ns "$4" ip addr add "$8" dev "$5" nodad
	in_ns "$1" ip link set "$2" up
	in_ns "$4" ip link set "$5" up
}

# A namespace of the lab: lo up, no duplicate address detection (the IPv6
# addresses, link-local ones too, are usable at once), and IPv6 addresses
# kept when a device goes down, as IPv4 ones are (a tunnel's down/up must
# not take its addresses).
lab_ns_add() {
	ip netns add "$1"
	in_ns "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.keep_addr_on_down=1 net.ipv6.conf.all.keep_addr_on_down=1
	in_ns "$1" ip link set lo up
}

lab_up() {
	local ns
	for ns in "$NS_CLIENT" "$NS_FRONT" "$NS_BACK" "$NS_SINK"; do
		lab_ns_add "$ns"
	done
	if [ -n "$LAB_ROUTER_MTU" ]; then
		lab_router
	else
		veth_pair "$NS_CLIENT" c0 "$CLIENT4/24" "$NS_FRONT" f0 "$FRONT_PUB4/24" \
			"$CLIENT6/64" "$FRONT_PUB6/64"
	fi
	veth_pair "$NS_FRONT" f1 "$FRONT_UNDER/24" "$NS_BACK" b1 "$BACK_UNDER/24" \
		"$FRONT_UNDER6/64" "$BACK_UNDER6/64"
	lab_sink_up
	case "$LAB_TUNNEL" in
	wg) lab_wireguard ;;
	veth) veth_pair "$NS_FRONT" "$TUN_FRONT" "$FRONT_TUN4/30" "$NS_BACK" "$TUN_BACK" "$BACK_TUN4/30" \
		"$FRONT_TUN6/64" "$BACK_TUN6/64" ;;
	vxlan) lab_vxlan ;;
	*) echo "lab: unknown LAB_TUNNEL '$LAB_TUNNEL'" >&2; return 1 ;;
	esac
	lab_wait_for "the tunnel" front ping -c1 -W1 "$BACK_TUN4" &&
		lab_wait_for "the tunnel's IPv6" front ping -c1 -W1 "$BACK_TUN6"
}

# The backend's uplink: its default routes lead to the sink, which counts
# (and drops) every packet for the client's network (lab_sink_leaks).
lab_sink_up() {
	veth_pair "$NS_BACK" b2 192.0.2.2/24 "$NS_SINK" s0 192.0.2.1/24 2001:db8:2::2/64 2001:db8:2::1/64
	back ip route add default via 192.0.2.1
	back ip -6 route add default via 2001:db8:2::1
	sink nft add table inet sink
	sink nft add chain inet sink in '{ type filter hook prerouting priority 0; }'
	sink nft add rule inet sink in ip daddr 203.0.113.0/24 counter drop comment '"leak"'
	sink nft add rule inet sink in ip6 daddr 2001:db8:1::/64 counter drop comment '"leak"'
}

# The router of LAB_ROUTER_MTU. Client and front keep their /24 (/64) and
# each other as neighbours: the router answers ARP / neighbour
# solicitations for the other side (as lab_back_public's client does) and
# forwards between them.
lab_router() {
	lab_ns_add "$NS_ROUTER"
	veth_pair "$NS_CLIENT" c0 "$CLIENT4/24" "$NS_ROUTER" r0 "$ROUTER4/32" \
		"$CLIENT6/64" "$ROUTER6/128"
	veth_pair "$NS_ROUTER" r1 "$ROUTER4/32" "$NS_FRONT" f0 "$FRONT_PUB4/24" \
		"$ROUTER6/128" "$FRONT_PUB6/64"
	router ip link set r0 mtu "$LAB_ROUTER_MTU"
	router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.r0.proxy_arp=1 \
		net.ipv4.conf.r1.proxy_arp=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.proxy_ndp=1
	router ip route add "$CLIENT4/32" dev r0
	router ip route add "$FRONT_PUB4/32" dev r1
	router ip -6 route add "$CLIENT6/128" dev r0
	router ip -6 route add "$FRONT_PUB6/128" dev r1
	router ip -6 neigh add proxy "$FRONT_PUB6" dev r0
	router ip -6 neigh add proxy "$CLIENT6" dev r1
}

# The VXLAN underlay is of the family under test.
lab_vxlan() {
	local fu=$FRONT_UNDER bu=$BACK_UNDER
	[ "$LAB_FAMILY" = 6 ] && fu=$FRONT_UNDER6 bu=$BACK_UNDER6
	front ip link add "$TUN_FRONT" type vxlan id 42 local "$fu" remote "$bu" dstport 4789 dev f1
	back ip link add "$TUN_BACK" type vxlan id 42 local "$bu" remote "$fu" dstport 4789 dev b1
	lab_tunnel_addrs
}

# The tunnel's addresses of both families, and up (the first tunnel's
# unless told: NS_F IF_F F4 F6 NS_B IF_B B4 B6).
lab_tunnel_addrs() {
	local nf=${1:-$NS_FRONT} df=${2:-$TUN_FRONT} f4=${3:-$FRONT_TUN4} f6=${4:-$FRONT_TUN6}
	local nb=${5:-$NS_BACK} db=${6:-$TUN_BACK} b4=${7:-$BACK_TUN4} b6=${8:-$BACK_TUN6}
	in_ns "$nf" ip addr add "$f4/30" dev "$df"
	in_ns "$nb" ip addr add "$b4/30" dev "$db"
	in_ns "$nf" ip addr add "$f6/64" dev "$df" nodad
	in_ns "$nb" ip addr add "$b6/64" dev "$db" nodad
	in_ns "$nf" ip link set "$df" up
	in_ns "$nb" ip link set "$db" up
}

# Packets that left the backend by its own default route toward a client
# (of either family).
lab_sink_leaks() {
	sink nft list chain inet sink in |
		awk '$NF == "\"leak\"" { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
		     END { print n + 0 }'
}

# lab_wg_pair NS_F IF_F UNDER_F NS_B IF_B UNDER_B PORT B_TUN4 B_TUN6: a
# WireGuard tunnel IF_F (front, in NS_F) === IF_B (back, in NS_B), one
# wireguard-go per end (LAB_WG_PID: the front's), both listening on PORT
# of their underlay addresses UNDER_F / UNDER_B; no addresses, down.
lab_wg_pair() {
	local kf kb
	kf=$(wg genkey)
	kb=$(wg genkey)
	lab_spawn "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2"
	LAB_WG_PID=${LAB_PIDS[-1]}
	lab_spawn "$4" env WG_PROCESS_FOREGROUND=1 wireguard-go "$5"
	lab_wait_for "wireguard-go sockets" test -S "/var/run/wireguard/$2.sock" -a \
		-S "/var/run/wireguard/$5.sock" || return 1
	echo "$kf" >"$LAB_DIR/$2.key"
	echo "$kb" >"$LAB_DIR/$5.key"
	# The front sends to the back's tunnel address and to the backend's own
	# (BACK_SVC, tests with two fronts), and takes replies from them.
	in_ns "$1" wg set "$2" private-key "$LAB_DIR/$2.key" listen-port "$7" \
		peer "$(echo "$kb" | wg pubkey)" endpoint "$6:$7" \
		allowed-ips "$8/32,$9/128,$BACK_SVC4/32,$BACK_SVC6/128"
	# The relayed packets' source is the real client: the back must accept any.
	in_ns "$4" wg set "$5" private-key "$LAB_DIR/$5.key" listen-port "$7" \
		peer "$(echo "$kf" | wg pubkey)" endpoint "$3:$7" allowed-ips 0.0.0.0/0,::/0
}

lab_wireguard() {
	lab_wg_pair "$NS_FRONT" "$TUN_FRONT" "$FRONT_UNDER" "$NS_BACK" "$TUN_BACK" "$BACK_UNDER" 51820 \
		"$BACK_TUN4" "$BACK_TUN6" && lab_tunnel_addrs
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
	local pid ns dev
	# Cleanup must run to the end whatever fails (a killed child's wait
	# status would stop a `set -e` caller half-way).
	set +e
	for ns in "$NS_FRONT" "$NS_FRONT2" "$NS_BACK"; do
		[ -e "/run/netns/$ns" ] && in_ns "$ns" "$RELAYBPF" detach >/dev/null 2>&1
	done
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "$NS_CLIENT" "$NS_FRONT" "$NS_BACK" "$NS_SINK" "$NS_CLIENT2" "$NS_FRONT2" \
		"$NS_ROUTER"; do
		ip netns del "$ns" 2>/dev/null
	done
	for dev in "$TUN_FRONT" "$TUN_BACK" "$TUN2_FRONT" "$TUN2_BACK"; do
		rm -f "/var/run/wireguard/$dev.sock"
	done
	rm -rf "$LAB_DIR"
}

lab_attach() {
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" "$@" &&
		back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
}

# A TCP server on the backend that reads what the client sends and answers
# with the peer address it saw and the byte count, and logs the peer.
lab_peer_server() { # port
	# socat gives an IPv6 peer bracketed and in full ([2001:0db8:...]):
	# written as the tests write addresses.
	cat >"$LAB_DIR/peer-server.sh" <<'EOF'
p=${SOCAT_PEERADDR#[}
p=${p%]}
case $p in *:*) p=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$p") ;; esac
echo "$p" >>"$1"
echo "backend saw $p $(wc -c)"
EOF
	# -t30: after the client's EOF socat waits up to 30 s (not 0.5 s) for
	# the script's answer: starting wc and echo takes longer than 0.5 s in a
	# QEMU-emulated guest (make vmtest), and the answer was lost. It closes
	# as soon as the script ends.
	lab_spawn "$NS_BACK" socat -t30 "$TCP_LISTEN:$1,reuseaddr,fork" \
		SYSTEM:"sh $LAB_DIR/peer-server.sh $LAB_DIR/backend-peers"
	lab_wait_for "the backend server" back socat -T1 /dev/null "TCP:$(hp "$LOOPBACK" "$1")"
}

# The front as the netfilter recipe (DNAT without SNAT, no relaybpf): the
# back's tests then cover every protocol whatever the front relays itself.
# TCP but 22, UDP and ICMP echo to the public address go to the backend.
lab_front_recipe() { # [ns public backend]: the first front by default
	local ns=${1:-$NS_FRONT} pub=${2:-$FRONT_PUB} to=${3:-$BACK_TUN} ip=$NFT_IP
	in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	in_ns "$ns" nft add table "$ip" recipe
	in_ns "$ns" nft add chain "$ip" recipe pre '{ type nat hook prerouting priority -100; }'
	in_ns "$ns" nft add rule "$ip" recipe pre "$ip" daddr "$pub" tcp dport != 22 dnat to "$to"
	in_ns "$ns" nft add rule "$ip" recipe pre "$ip" daddr "$pub" udp dport 1-65535 dnat to "$to"
	in_ns "$ns" nft add rule "$ip" recipe pre "$ip" daddr "$pub" "$NFT_ICMP" type echo-request \
		dnat to "$to"
}

# The second front: client2 203.0.113.20 --- 203.0.113.2 front2, and a veth
# tunnel front2 10.22.22.6 ===== 10.22.22.5 back ($TUN2_BACK); front2 is
# the netfilter recipe.
lab_front2_up() {
	local ns
	for ns in "$NS_CLIENT2" "$NS_FRONT2"; do
		lab_ns_add "$ns"
	done
	veth_pair "$NS_CLIENT2" c0 "$CLIENT2_4/24" "$NS_FRONT2" f0 "$FRONT2_PUB4/24" \
		"$CLIENT2_6/64" "$FRONT2_PUB6/64"
	veth_pair "$NS_FRONT2" "$TUN2_FRONT" "$FRONT2_TUN4/30" "$NS_BACK" "$TUN2_BACK" "$BACK2_TUN4/30" \
		"$FRONT2_TUN6/64" "$BACK2_TUN6/64"
	lab_front_recipe "$NS_FRONT2" "$FRONT2_PUB" "$BACK2_TUN"
	lab_wait_for "the second tunnel" front2 ping -c1 -W1 "$BACK2_TUN"
}

# The back gets the public address BACK_PUB behind the client's network
# (link c9 --- b9; the client forwards and answers ARP / neighbour
# solicitations for both sides), so that the tunnel's underlay can run to
# the front's public address FRONT_PUB, of the family under test.
lab_back_public() {
	ip link add c9 netns "$NS_CLIENT" type veth peer name b9 netns "$NS_BACK"
	client ip link set c9 up
	back ip link set b9 up
	back ip addr add "$BACK_PUB/$HOST_LEN" dev b9
	back ip route add "$FRONT_PUB/$HOST_LEN" dev b9
	client ip route add "$BACK_PUB/$HOST_LEN" dev c9
	if [ "$LAB_FAMILY" = 6 ]; then
		client sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.proxy_ndp=1
		client ip -6 neigh add proxy "$BACK_PUB" dev c0
		client ip -6 neigh add proxy "$FRONT_PUB" dev c9
	else
		client sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.c0.proxy_arp=1 \
			net.ipv4.conf.c9.proxy_arp=1
	fi
}

# Counts, on the backend, what leaves through the tunnel toward the client
# (by protocol: lab_back_sent tcp|udp|icmp).
lab_back_counters() {
	local p
	back nft add table inet sent
	back nft add chain inet sent out '{ type filter hook postrouting priority 0; }'
	for p in tcp udp icmp; do
		back nft add rule inet sent out oifname "$TUN_BACK" "$NFT_IP" daddr "$CLIENT_IP" \
			meta l4proto "${p/icmp/$NFT_ICMP}" counter comment "\"$p\""
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
	lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, int(sys.argv[1])))
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
	back ip -6 rule show
	# A recreated device has a new (random on a TUN) link-local address.
	back ip -6 route show table all | grep -v '^local fe80:'
	back tc filter show dev "$TUN_BACK" ingress
	back sysctl net.ipv4.tcp_fwmark_accept net.ipv4.fwmark_reflect net.ipv6.fwmark_reflect \
		net.ipv4.conf.all.rp_filter "net.ipv4.conf.$TUN_BACK.rp_filter" \
		"net.ipv4.conf.$TUN_BACK.src_valid_mark"
	for dev in $(back ls /sys/class/net 2>/dev/null); do
		back tc filter show dev "$dev" egress 2>/dev/null
	done
}
