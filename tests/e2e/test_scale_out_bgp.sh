#!/usr/bin/env bash
# Scale-out behind BGP (issue 19, docs/scale-out.md): an upstream router
# running BIRD 2 spreads the clients over two fronts by ECMP (L4 hash),
# each front announces the service address (VIP) by BIRD 2 exactly while
# `relaybpf daemon --announce VIP` keeps its route in table 94, and relays
# through a WireGuard tunnel of its own (wireguard-go: a TUN device, L3,
# MTU 1420; tunnel 1 is lab_up's, tunnel 2 runs over an underlay link of
# its own) to one backend, which serves on a loopback address both fronts
# relay to:
#
#   client --- router (BIRD, ECMP) --- front 1 (BIRD, daemon) === wg 1 ===\
#                                  \-- front 2 (BIRD, daemon) === wg 2 ===- back --- sink
#
# Checks: 200 flows (TCP and UDP) spread over both fronts and reach the
# backend from the client's own address; (a) `relaybpf drain` on front 1:
# the router loses its path, a stream on front 1 goes on through front 2
# (its SHA-256 checked), new flows all take front 2; undrain: front 1 is
# announced and takes new flows again; (b) front 1's wireguard-go stopped
# (its TUN device goes with it), then its daemon: the same; (c) front 1's
# health checks of the backend fail (the backend drops them; the clients'
# traffic still passes): the router loses front 1, the stream goes on
# through front 2 (front 1 drops the flow's packets meanwhile rather than
# resetting it), new flows take front 2; the checks pass again: front 1 is
# back; nothing leaks out of the backend's uplink; a daemon stopped by
# SIGTERM leaves no route behind. Prints the time from each failure to the
# router's withdrawal and to the stream's packets on front 2.
# SCALE_OUT_FRONTS=frr (test_scale_out_frr.sh): both fronts run FRR 8.4's
# zebra and bgpd with dist/frr-front.conf instead, the VIP a local route
# (AnyIP) and the daemon's table main, as that file says; only the first
# checks, case a and the stopped daemons (the rest is the same datapath).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
FRONTS=${SCALE_OUT_FRONTS:-bird}
# FRR's runtime directories (/var/run/frr/NAME, its -N), one per front.
frr_down() { rm -rf "/var/run/frr/$LAB_PREFIX-front1" "/var/run/frr/$LAB_PREFIX-front2"; }
trap 'lab_down; frr_down' EXIT
if [ "$FRONTS" = frr ]; then ANNOUNCE_TABLE=254; else ANNOUNCE_TABLE=94; fi

if [ "$LAB_FAMILY" = 6 ]; then
	CL=2001:db8:1::10 RT0=2001:db8:1::fe CL_LEN=64
	RT1=2001:db8:1:1::1 F1=2001:db8:1:1::2 RT2=2001:db8:1:2::1 F2=2001:db8:1:2::2 LINK_LEN=64
	VIP=2001:db8:1:ff::100 MPH=net.ipv6.fib_multipath_hash_policy
else
	CL=203.0.113.10 RT0=203.0.113.14 CL_LEN=28
	RT1=203.0.113.17 F1=203.0.113.18 RT2=203.0.113.21 F2=203.0.113.22 LINK_LEN=30
	VIP=203.0.113.100 MPH=net.ipv4.fib_multipath_hash_policy
fi
IP="ip -$LAB_FAMILY"

# The router between the client and both fronts: lab_up's direct link
# between client and front 1 replaced.
topology_up() {
	client ip link del c0
	lab_ns_add "$NS_ROUTER"
	lab_ns_add "$NS_FRONT2"
	veth_pair "$NS_CLIENT" c0 "$CL/$CL_LEN" "$NS_ROUTER" r0 "$RT0/$CL_LEN"
	veth_pair "$NS_ROUTER" r1 "$RT1/$LINK_LEN" "$NS_FRONT" f0 "$F1/$LINK_LEN"
	veth_pair "$NS_ROUTER" r2 "$RT2/$LINK_LEN" "$NS_FRONT2" f0 "$F2/$LINK_LEN"
	client $IP route add default via "$RT0"
	router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 "$MPH=1"
	# Tunnel 2: WireGuard as tunnel 1 (lab_up), over an underlay link of
	# its own, 198.51.100.4/30 (more specific than the back's /24 on b1).
	veth_pair "$NS_FRONT2" f1 198.51.100.5/30 "$NS_BACK" b3 198.51.100.6/30
	lab_wg_pair "$NS_FRONT2" "$TUN2_FRONT" 198.51.100.5 "$NS_BACK" "$TUN2_BACK" 198.51.100.6 51821 \
		"$BACK2_TUN4" "$BACK2_TUN6" || return 1
	lab_tunnel_addrs "$NS_FRONT2" "$TUN2_FRONT" "$FRONT2_TUN4" "$FRONT2_TUN6" \
		"$NS_BACK" "$TUN2_BACK" "$BACK2_TUN4" "$BACK2_TUN6"
	back ip addr add "$BACK_SVC/$HOST_LEN" dev lo
	local ns rt tun via
	for ns in "$NS_FRONT" "$NS_FRONT2"; do
		[ "$ns" = "$NS_FRONT" ] && rt=$RT1 tun=$TUN_FRONT via=$BACK_TUN
		[ "$ns" = "$NS_FRONT2" ] && rt=$RT2 tun=$TUN2_FRONT via=$BACK2_TUN
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		if [ "$FRONTS" = frr ]; then
			in_ns "$ns" $IP route add local "$VIP/$HOST_LEN" dev lo
		else
			in_ns "$ns" ip addr add "$VIP/$HOST_LEN" dev lo
		fi
		in_ns "$ns" $IP route add default via "$rt"
		in_ns "$ns" ip route add "$BACK_SVC/$HOST_LEN" via "$via" dev "$tun"
	done
	lab_wait_for "the second tunnel" front2 ping -c1 -W1 "$BACK2_TUN"
}

# BIRD 2 in a namespace, with a control socket and PID file of its own.
bird_start() { # ns name config
	lab_spawn "$1" bird -f -c "$3" -s "$LAB_DIR/$2.ctl" -P "$LAB_DIR/$2.pid"
}
birdc_() { birdc -s "$LAB_DIR/$1.ctl" "${@:2}"; }

# The router: eBGP to both fronts, every path of equal cost into the
# kernel as one multipath route.
router_bird() {
	cat >"$LAB_DIR/router.conf" <<-EOF
		router id 192.0.2.254;
		protocol device { }
		protocol kernel {
			ipv$LAB_FAMILY { import none; export all; };
			merge paths on;
		}
		template bgp fronts {
			local as 65000;
			hold time 3;
			keepalive time 1;
			connect retry time 1;
			ipv$LAB_FAMILY { import all; export none; };
		}
		protocol bgp front1 from fronts { neighbor $F1 as 65001; }
		protocol bgp front2 from fronts { neighbor $F2 as 65001; }
	EOF
	bird_start "$NS_ROUTER" router "$LAB_DIR/router.conf"
}

# A front runs dist/bird-front.conf with the lab's addresses (and a
# retry of 1 s: the router may not be listening yet).
front_bird() { # ns name address router-address
	local f=$LAB_DIR/$2.conf
	sed -e "s/router id 192.0.2.11;/router id 192.0.2.$((${2: -1} + 10));/" \
		-e "s/connect retry time 5;/connect retry time 1;/" "$REPO/dist/bird-front.conf" >"$f"
	if [ "$LAB_FAMILY" = 6 ]; then
		sed -i -e "s/local 2001:db8:1:1::11 /local $3 /" -e "s/neighbor 2001:db8:1:1::1 /neighbor $4 /" "$f"
	else
		sed -i -e "s/local 192.0.2.11 /local $3 /" -e "s/neighbor 192.0.2.1 /neighbor $4 /" "$f"
	fi
	bird_start "$1" "$2" "$f"
}

# A front runs FRR's zebra and bgpd (NAME their -N: sockets of their own in
# /var/run/frr/NAME) with dist/frr-front.conf, the lab's addresses in it.
front_frr() { # ns name address router-address
	# The daemons run as user frr: their files in a directory of its own.
	local dir=$LAB_DIR/frr n=$LAB_PREFIX-$2 d
	local f=$dir/$2.conf
	chmod a+x "$LAB_DIR"
	install -d -o frr -g frr "$dir"
	sed -e "s/bgp router-id 192.0.2.11/bgp router-id 192.0.2.$((${2: -1} + 10))/" \
		-e "s/timers connect 5/timers connect 1/" "$REPO/dist/frr-front.conf" >"$f"
	if [ "$LAB_FAMILY" = 6 ]; then
		sed -i -e "s/neighbor 2001:db8:1:1::1 /neighbor $4 /" "$f"
	else
		sed -i -e "s/neighbor 192.0.2.1 /neighbor $4 /" "$f"
	fi
	chmod a+r "$f"
	for d in zebra bgpd; do
		lab_spawn "$1" "/usr/lib/frr/$d" -N "$n" -f "$f" -i "$dir/$2.$d.pid"
	done
}
vtysh_() { vtysh -N "$LAB_PREFIX-$1" "${@:2}" 2>&1 | grep -v vtysh.conf; }

# The router's next hops for the VIP: "r1 r2", "r2", ... ("" none).
paths() { router $IP route show "$VIP" | grep -o 'dev r[12]' | awk '{print $2}' | sort -u | xargs; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_ms MS CMD...: retries CMD every 20 ms for up to MS ms.
wait_ms() {
	local end=$(($(now_ms) + $1))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}
paths_are() { [ "$(paths)" = "$1" ]; }
fwd() { in_ns "$1" "$RELAYBPF" stats --json | jq -r .front.forwarded_packets; }
fwd_above() { [ "$(fwd "$1")" -gt "$2" ]; }

# The backend: TCP 8081 and UDP 8082 answer the peer's address; TCP 8080
# reads a whole stream and answers its SHA-256 and the peer's address.
servers() {
	lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import hashlib, threading
def listener(port):
    s = socket.socket(AF, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ANY, port))
    s.listen(256)
    return s
def peer_tcp():
    s = listener(8081)
    while True:
        c, peer = s.accept()
        c.sendall(peer[0].encode())
        c.close()
def peer_udp():
    s = socket.socket(AF, socket.SOCK_DGRAM)
    s.bind((ANY, 8082))
    while True:
        _, peer = s.recvfrom(100)
        s.sendto(peer[0].encode(), peer)
def sha(c, peer):
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    c.sendall(("%s %s\n" % (h.hexdigest(), peer[0])).encode())
    c.close()
def sha_tcp():
    s = listener(8080)
    while True:
        c, peer = s.accept()
        threading.Thread(target=sha, args=(c, peer), daemon=True).start()
threading.Thread(target=peer_tcp, daemon=True).start()
threading.Thread(target=peer_udp, daemon=True).start()
sha_tcp()'
	lab_wait_for "the backend's servers" back ss -Hltn 'sport = :8081'
}

# flows N: N TCP connections and N UDP exchanges, each from a port of its
# own; prints how many answered with the client's own address.
flows() {
	client timeout 60 python3 -c "$LAB_PY"'
import sys
vip, me, n, ok = sys.argv[1], sys.argv[2], int(sys.argv[3]), 0
for i in range(n):
    try:
        s = socket.create_connection((vip, 8081), timeout=3)
        ok += s.recv(100).decode() == me
        s.close()
    except OSError:
        pass
    u = socket.socket(AF, socket.SOCK_DGRAM)
    u.settimeout(3)
    try:
        u.sendto(b"x", (vip, 8082))
        ok += u.recv(100).decode() == me
    except OSError:
        pass
    u.close()
print(ok)' "$VIP" "$CL" "$1"
}

# stream_start OUT: 16 connections to the SHA-256 server, their ports in
# OUT.ports (ECMP hashes each to a front by its ports: with 8, one CI run
# found none through front 1, 1 in 256 for an even spread); the one whose
# index is written to OUT.pick then sends 10 MB in 64 KiB chunks over about
# 8 s, the others close; "ok" in OUT when the
# backend saw the same SHA-256 from the client's own address.
stream_start() {
	mkfifo "$1.pick"
	client timeout 90 python3 -c "$LAB_PY$LAB_PY_STREAM"'
import sys
vip, me, out = sys.argv[1], sys.argv[2], sys.argv[3]
socks = [socket.create_connection((vip, 8080), timeout=30) for _ in range(16)]
with open(out + ".ports.tmp", "w") as f:
    f.write(" ".join(str(s.getsockname()[1]) for s in socks) + "\n")
os.rename(out + ".ports.tmp", out + ".ports")
pick = int(open(out + ".pick").read())
for i, s in enumerate(socks):
    if i != pick:
        s.close()
stream(socks[pick], 160, 0.05, me)' \
		"$VIP" "$CL" "$1" >"$1" 2>&1 &
	STREAM_PID=$!
	lab_wait_for "the stream's connections" test -e "$1.ports"
	# The first of them that front 1 relays (ECMP put it there).
	local i=0 p pick=-1 ports
	ports=$(front "$RELAYBPF" conntrack --json --proto tcp | jq -r '.[].client_port')
	for p in $(cat "$1.ports"); do
		if [ "$pick" -lt 0 ] && grep -qx "$p" <<<"$ports"; then pick=$i STREAM_PORT=$p; fi
		i=$((i + 1))
	done
	echo "${pick#-}" >"$1.pick"
	[ "$pick" -ge 0 ]
}

# ms_since T0 CMD...: waits up to 10 s for CMD, prints the ms since T0 (or "never").
ms_since() {
	local t0=$1
	shift
	if wait_ms 10000 "$@"; then echo $(($(now_ms) - t0)); else echo never; fi
}

# front1_back CASE WHAT CMD...: CMD ends case CASE's failure; the router has
# front 1 again (the time printed), which takes new flows again.
front1_back() {
	local c=$1 what=$2 t0 back_in f1
	shift 2
	t0=$(now_ms)
	"$@" >/dev/null
	back_in=$(ms_since "$t0" paths_are "r1 r2")
	echo "  $FAM: $c: $what -> router has front 1 again: $back_in ms"
	expect_match "$FAM: $c: the router has front 1 again" '^[0-9]+$' "$back_in"
	f1=$(fwd "$NS_FRONT")
	expect_eq "$FAM: $c: 40 new flows answered" 80 "$(flows 40)"
	expect_gt "$FAM: $c: front 1 takes new flows again" "$f1" "$(fwd "$NS_FRONT")"
}

lab_up_or_die
# Tunnel 1's wireguard-go on front 1 (case b stops it).
WG1=$LAB_WG_PID
if ! topology_up; then
	echo "  FAIL topology setup"
	echo "RESULT 0 1"
	exit 1
fi
servers
back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN" >/dev/null &&
	back "$RELAYBPF" attach --role back --dev "$TUN2_BACK" --front "$FRONT2_TUN" >/dev/null
expect_eq "$FAM: the back attaches on both tunnels" 0 "$?"
router_bird
front_$FRONTS "$NS_FRONT" front1 "$F1" "$RT1"
front_$FRONTS "$NS_FRONT2" front2 "$F2" "$RT2"
# Health checks of the backend's TCP 8081 every 200 ms: 2 failures take it
# down (and front 1 out of the router's paths), 1 pass brings it back.
front_daemon() { # ns
	lab_spawn "$1" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_SVC" --public-ip "$VIP" \
		--announce "$VIP" --health tcp:8081 --health-interval 200ms --health-fall 2 \
		--health-rise 1 --announce-table "$ANNOUNCE_TABLE"
}
front_daemon "$NS_FRONT"
D1=${LAB_PIDS[-1]}
front_daemon "$NS_FRONT2"
D2=${LAB_PIDS[-1]}
expect_ok "$FAM: the router has both fronts' paths (ECMP)" wait_ms 30000 paths_are "r1 r2"
expect_match "$FAM: front 1's route in table $ANNOUNCE_TABLE, proto 94" "^$VIP dev lo" \
	"$(front $IP route show table "$ANNOUNCE_TABLE" proto 94)"
expect_eq "$FAM: the router learned nothing but the VIP from the fronts" "$VIP" \
	"$(router $IP route show proto bird | awk '/^[0-9a-f]/ {print $1}' | sort -u | xargs)"
router $IP route show "$VIP" >&2
birdc_ router show route >&2
[ "$FRONTS" = frr ] && vtysh_ front1 -c "show ip$([ "$LAB_FAMILY" = 6 ] && echo v6) route" \
	-c "show bgp ipv$LAB_FAMILY unicast" >&2

# 200 flows spread over both fronts.
f1=$(fwd "$NS_FRONT") f2=$(fwd "$NS_FRONT2")
expect_eq "$FAM: 100 TCP and 100 UDP flows answered, each from the client's own address" 200 \
	"$(flows 100)"
expect_gt "$FAM: front 1 relayed part of them" 100 $(($(fwd "$NS_FRONT") - f1))
expect_gt "$FAM: front 2 relayed part of them" 100 $(($(fwd "$NS_FRONT2") - f2))
expect_gt "$FAM: front 1 tracks at least 40 of the 200 flows" 39 \
	"$(front "$RELAYBPF" conntrack --json | jq length)"
expect_gt "$FAM: front 2 tracks at least 40 of the 200 flows" 39 \
	"$(front2 "$RELAYBPF" conntrack --json | jq length)"

# (a) drain front 1 while a stream runs through it.
expect_ok "$FAM: a: a stream runs through front 1" stream_start "$LAB_DIR/a"
sleep 1
f2=$(fwd "$NS_FRONT2")
t0=$(now_ms)
front "$RELAYBPF" drain >/dev/null
withdrawn=$(ms_since "$t0" paths_are r2)
moved=$(ms_since "$t0" fwd_above "$NS_FRONT2" "$f2")
echo "  $FAM: a: drain -> router withdrew front 1: $withdrawn ms; -> stream on front 2: $moved ms"
expect_match "$FAM: a: the router withdrew front 1 within 3 s" '^([0-9]{1,3}|[12][0-9]{3})$' "$withdrawn"
expect_eq "$FAM: a: status says drained" true "$(front "$RELAYBPF" status --json | jq .front.drained)"
wait "$STREAM_PID"
expect_eq "$FAM: a: the stream from front 1 completed intact through front 2" ok "$(cat "$LAB_DIR/a")"
f1=$(fwd "$NS_FRONT")
expect_eq "$FAM: a: 40 new flows answered" 80 "$(flows 40)"
expect_eq "$FAM: a: front 1 relayed none of them" "$f1" "$(fwd "$NS_FRONT")"
front1_back a undrain front "$RELAYBPF" undrain

# Cases c and b with FRR would test the same datapath again: front 1 is
# stopped for the last check instead.
if [ "$FRONTS" = bird ]; then
	# (c) front 1's checks of the backend fail while a stream runs through it:
	# the backend drops what front 1's tunnel address sends to 8081, the
	# clients' packets (their own addresses) pass.
	expect_ok "$FAM: c: a stream runs through front 1" stream_start "$LAB_DIR/c"
	sleep 1
	f2=$(fwd "$NS_FRONT2")
	refused() { front "$RELAYBPF" stats --json | jq '.front.refused_no_live_backend'; }
	r1=$(refused)
	t0=$(now_ms)
	back nft add table inet hc
	back nft add chain inet hc in '{ type filter hook input priority 0; }'
	back nft add rule inet hc in "$NFT_IP" saddr "$FRONT_TUN" tcp dport 8081 drop
	withdrawn=$(ms_since "$t0" paths_are r2)
	moved=$(ms_since "$t0" fwd_above "$NS_FRONT2" "$f2")
	echo "  $FAM: c: checks fail -> router withdrew front 1: $withdrawn ms; -> stream on front 2: $moved ms"
	# fall x interval + 1 s (the probe timeout within), then the announcement's
	# next judgement (at most 1 s) and BGP: within 3 s.
	expect_match "$FAM: c: the router withdrew front 1 within 3 s" '^([0-9]{1,3}|[12][0-9]{3})$' "$withdrawn"
	expect_eq "$FAM: c: front 1's status: the backend down" down \
		"$(front "$RELAYBPF" status --json | jq -r '.front.services[0].backends[0].state')"
	# A packet of the stream still reaching front 1 (in flight while the
	# router withdraws: whether the stream has one in that window is up to
	# timing, so one is sent through front 1 on purpose, with the client's
	# address and port) is dropped, not reset.
	dropped() { front "$RELAYBPF" stats --json | jq '.front.dropped_flow_no_live_backend'; }
	d1=$(dropped)
	router $IP route add "$VIP" via "$F1" table 77
	router $IP rule add fwmark 0x77 lookup 77
	router python3 "$(dirname "$0")/rawpkt.py" send 0x77 ack "$CL" "$VIP" "$STREAM_PORT" 8080
	router $IP rule del fwmark 0x77 lookup 77
	expect_gt "$FAM: c: front 1 drops a late packet of the stream's flow" "$d1" "$(dropped)"
	expect_eq "$FAM: c: ... and resets none" "$r1" "$(refused)"
	wait "$STREAM_PID"
	expect_eq "$FAM: c: the stream from front 1 completed intact through front 2" ok "$(cat "$LAB_DIR/c")"
	f1=$(fwd "$NS_FRONT")
	expect_eq "$FAM: c: 40 new flows answered" 80 "$(flows 40)"
	expect_eq "$FAM: c: front 1 relayed none of them" "$f1" "$(fwd "$NS_FRONT")"
	front1_back c "checks pass again" back nft delete table inet hc

	# (b) front 1's tunnel and daemon go while a stream runs through it.
	expect_ok "$FAM: b: a stream runs through front 1" stream_start "$LAB_DIR/b"
	sleep 1
	f2=$(fwd "$NS_FRONT2")
	t0=$(now_ms)
	# Front 1's wireguard-go gone, its TUN device goes with it.
	kill "$WG1"
	withdrawn=$(ms_since "$t0" paths_are r2)
	moved=$(ms_since "$t0" fwd_above "$NS_FRONT2" "$f2")
	kill "$D1"
	echo "  $FAM: b: front 1's wireguard-go stopped -> router withdrew front 1: $withdrawn ms; -> stream on front 2: $moved ms"
	expect_match "$FAM: b: the router withdrew front 1 within 3 s" '^([0-9]{1,3}|[12][0-9]{3})$' "$withdrawn"
	wait "$STREAM_PID"
	expect_eq "$FAM: b: the stream from front 1 completed intact through front 2" ok "$(cat "$LAB_DIR/b")"
	expect_eq "$FAM: b: 40 new flows answered, through front 2" 80 "$(flows 40)"
	expect_eq "$FAM: nothing left by the backend's uplink" 0 "$(lab_sink_leaks)"
	expect_match "$FAM: the daemon logged its announce and withdraw" \
		'withdraw: .*tunnel.*' "$(grep 'relaybpf daemon: withdraw' "$LAB_DIR/spawned.log")"
else
	kill "$D1"
fi

# A stopped daemon leaves no announcement behind.
kill "$D2"
wait "$D1" "$D2"
expect_eq "$FAM: the fronts' daemons withdrew their routes when they stopped" "" \
	"$(front $IP route show table "$ANNOUNCE_TABLE" proto 94
		front2 $IP route show table "$ANNOUNCE_TABLE" proto 94)"
expect_ok "$FAM: the router has no path left" wait_ms 5000 paths_are ""
e2e_summary
