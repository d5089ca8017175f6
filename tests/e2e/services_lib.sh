# shellcheck shell=bash
# The services lab (needs lib.sh): a second backend B in its own namespace,
# a second peer of the front's WireGuard device, and the helpers of the
# test_front_services.sh and test_daemon_health.sh scripts.

NS_BACK2="${LAB_PREFIX}-back2"
TUN_BACK2="rbc${LAB_ID}"
TUN_C="rbv${LAB_ID}"
TUN_C2="rbw${LAB_ID}"
if [ "$LAB_FAMILY" = 6 ]; then B_TUN=2001:db8:22::9 A_PORTED="[$BACK_TUN]"; else B_TUN=10.22.22.9 A_PORTED=$BACK_TUN; fi
if [ "$LAB_FAMILY" = 6 ]; then C_TUN=2001:db8:22:3::1 C_FRONT=2001:db8:22:3::2; else C_TUN=10.22.22.13 C_FRONT=10.22.22.14; fi
svc_down() {
	[ -e "/run/netns/$NS_BACK2" ] && in_ns "$NS_BACK2" "$RELAYBPF" detach >/dev/null 2>&1
	lab_down
	ip netns del "$NS_BACK2" 2>/dev/null
	rm -f "/var/run/wireguard/$TUN_BACK2.sock"
}
trap svc_down EXIT
back2() { in_ns "$NS_BACK2" "$@"; }

# The second backend: its own underlay link to the front and its own
# wireguard-go, a second peer of the front's device; an uplink to nowhere
# (a veth whose peer has no address, permanent neighbours) as its default route:
# a reply that misses the tunnel is lost there.
back2_up() {
	local k
	lab_ns_add "$NS_BACK2"
	veth_pair "$NS_FRONT" f2 198.51.100.5/30 "$NS_BACK2" b1 198.51.100.6/30
	back2 ip link add d0 type veth peer name d1
	back2 ip addr add 192.0.2.6/30 dev d0
	back2 ip addr add 2001:db8:2:1::2/64 dev d0 nodad
	back2 ip link set d1 up
	back2 ip link set d0 up
	back2 ip neigh add 192.0.2.5 lladdr 02:00:00:00:00:05 dev d0 nud permanent
	back2 ip neigh add 2001:db8:2:1::1 lladdr 02:00:00:00:00:05 dev d0 nud permanent
	back2 ip route add default via 192.0.2.5
	back2 ip -6 route add default via 2001:db8:2:1::1
	k=$(wg genkey)
	echo "$k" >"$LAB_DIR/back2.key"
	lab_spawn "$NS_BACK2" env WG_PROCESS_FOREGROUND=1 wireguard-go "$TUN_BACK2"
	lab_wait_for "wireguard-go of back2" test -S "/var/run/wireguard/$TUN_BACK2.sock" || return 1
	front wg set "$TUN_FRONT" peer "$(echo "$k" | wg pubkey)" endpoint 198.51.100.6:51820 \
		allowed-ips 10.22.22.9/32,2001:db8:22::9/128
	back2 wg set "$TUN_BACK2" private-key "$LAB_DIR/back2.key" listen-port 51820 \
		peer "$(wg pubkey <"$LAB_DIR/$TUN_FRONT.key")" endpoint 198.51.100.5:51820 \
		allowed-ips 0.0.0.0/0,::/0
	back2 ip addr add 10.22.22.9/32 dev "$TUN_BACK2"
	back2 ip addr add 2001:db8:22::9/64 dev "$TUN_BACK2" nodad
	back2 ip link set "$TUN_BACK2" up
	back2 ip route add "$FRONT_TUN4/32" dev "$TUN_BACK2"
	front ip route add 10.22.22.9/32 dev "$TUN_FRONT"
	lab_wait_for "the tunnel to back2" front ping -c1 -W1 "$B_TUN"
}

# servers NS NAME [OFFSET]: UDP on 7000, 7100, 7200 and 37000-37009, TCP on
# 7200 (each OFFSET higher), each answering with NAME, the port it got and
# the peer it saw (TCP: per line). Without OFFSET marked like what the back
# role received from its first tunnel, so that the replies take its table;
# with one unmarked, the back role sending them into the flow's tunnel.
servers() {
	lab_spawn "$1" python3 -c "$LAB_PY"'
import selectors, socket, sys
name, off = sys.argv[1].encode(), int(sys.argv[2])
sel = selectors.DefaultSelector()
for p in [7000, 7100, 7200] + list(range(37000, 37010)):
    s = socket.socket(AF, socket.SOCK_DGRAM)
    if not off:
        s.setsockopt(socket.SOL_SOCKET, 36, 1)  # SO_MARK
    s.bind((ANY, p + off))
    sel.register(s, selectors.EVENT_READ, "udp")
t = socket.socket(AF, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((ANY, 7200 + off))
t.listen(16)
sel.register(t, selectors.EVENT_READ, "listen")
# One failed call (a reply the stack refuses, a reset connection) must not
# end the others: the long-lived flows of the tests are on these servers.
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "udp":
                d, a = s.recvfrom(4096)
                s.sendto(b"%s %d %s" % (name, s.getsockname()[1], a[0].encode()), a)
            elif key.data == "listen":
                c, a = s.accept()
                sel.register(c, selectors.EVENT_READ, a[0].encode())
            else:
                d = s.recv(4096)
                if not d:
                    raise ConnectionError("closed by the peer")
                s.sendall(b"%s %s\n" % (name, key.data))
        except OSError as e:
            print("servers %s: %r" % (name.decode(), e), file=sys.stderr, flush=True)
            if key.data not in ("udp", "listen"):
                sel.unregister(s)
                s.close()
' "$2" "${3:-0}"
	lab_wait_for "$2's servers" in_ns "$1" sh -c "ss -ltn | grep -q ':$((7200 + ${3:-0})) '"
}

# flows PORT N [SRCPORT]: N UDP flows from distinct source ports (from
# SRCPORT up if given), one datagram each (again once if unanswered); prints "NAME=count..." of the
# answers (port and peer checked: the service port and the client's
# address), "lost=N" and "bad=N".
flows() {
	client python3 -c "$LAB_PY"'
import collections, socket, sys
pub, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first, want = int(sys.argv[4]), sys.argv[5]
count = collections.Counter()
for i in range(0, n, 50):
    socks = []
    for j in range(i, min(n, i + 50)):
        # No SO_REUSEADDR: port 0 would then share ports between sockets.
        s = socket.socket(AF, socket.SOCK_DGRAM)
        s.bind((ANY, first + j if first else 0))
        s.connect((pub, port))
        s.settimeout(2)
        s.send(b"x")
        socks.append(s)
    for s in socks:
        # UDP: a datagram lost on the way is sent again once (same flow).
        for attempt in range(2):
            try:
                name, got, peer = s.recv(4096).decode().split()
                count[name if peer == want else "bad"] += 1
                break
            except (socket.timeout, ConnectionRefusedError):
                if attempt:
                    count["lost"] += 1
                else:
                    s.send(b"x")
        s.close()
print(" ".join("%s=%d" % kv for kv in sorted(count.items())))
' "$FRONT_PUB" "$1" "$2" "${3:-0}" "$CLIENT_IP"
}
# count NAME "flows output": NAME's count (0 if none).
count() { echo "$2" | tr ' ' '\n' | awk -F= -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'; }

# ask PORT [SRCPORT]: one datagram, the answer ("NAME PORT PEER") or "timeout".
ask() {
	client python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, int(sys.argv[3])))
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
s.send(b"x")
try:
    print(s.recv(4096).decode())
except (socket.timeout, ConnectionRefusedError):
    print("timeout")
' "$FRONT_PUB" "$1" "${2:-0}"
}

# The long-lived TCP flow to 7200 (or PORT): a line every 0.1 s, each
# answer's backend appended to $LAB_DIR/long.log, "ERROR ..." there when it
# breaks.
long_flow() {
	lab_spawn "$NS_CLIENT" python3 -c "$LAB_PY"'
import socket, sys, time
log = open(sys.argv[3], "a", buffering=1)
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    f = s.makefile("rb")
    while True:
        s.sendall(b"ping\n")
        line = f.readline()
        if not line:
            raise EOFError("closed")
        log.write(line.decode().split()[0] + "\n")
        time.sleep(0.1)
except Exception as e:
    log.write("ERROR %r\n" % e)
' "$FRONT_PUB" "${1:-7200}" "$LAB_DIR/long.log"
}
long_lines() { wc -l <"$LAB_DIR/long.log"; }

# attach_front ARGS...: the front with these services and backends.
attach_front() {
	front "$RELAYBPF" attach --role front --dev f0 --tunnel-dev "$TUN_FRONT" "$@"
}


# svc_lab_up: the lab, B, both backends' servers (A's PID in A_SERVERS_PID)
# and back roles; ends the script as failed without B's tunnel.
svc_lab_up() {
	lab_up_or_die
	if ! back2_up; then
		fail "$FAM: the second backend's tunnel"
		e2e_summary
		exit 1
	fi
	servers "$NS_BACK" A
	A_SERVERS_PID=${LAB_PIDS[-1]}
	servers "$NS_BACK2" B
	expect_ok "$FAM: attach back A" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
	expect_ok "$FAM: attach back B" back2 "$RELAYBPF" attach --role back --dev "$TUN_BACK2" --front "$FRONT_TUN"
}
