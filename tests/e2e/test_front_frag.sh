#!/usr/bin/env bash
# Fragments of relayed flows, both ways, through a real WireGuard tunnel
# (MTU 1420): a 3000-byte UDP datagram from the client (fragmented by its
# stack) reaches the backend whole, and the backend's 3000-byte answer
# (fragmented by the backend's) reaches the client whole. First with a
# client path narrower than the tunnel (the fragments fit it), then with
# the client's 1500-byte link: IPv4 fragments too big for the tunnel go
# through the front's stack, which fragments them further (the later ones
# with them); IPv6 ones get packet too big and the client's next try fits.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
# The client's path is narrower than the tunnel, so its fragments fit it.
client ip route add "$FRONT_PUB/$HOST_LEN" dev c0 mtu lock 1400
lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
import socket
s = socket.socket(AF, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 36, 1)  # SO_MARK: the reply returns through the tunnel
s.bind((ANY, 5353))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
'
wait_listening "$NS_BACK" udp 5353
expect_ok "attach front and back" lab_attach

# echo_3072 TRIES: sends a 3072-byte datagram up to TRIES times (a lost one
# is sent again after 2 s) and prints what came back.
echo_3072() {
	client python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.settimeout(2)
data = bytes(range(256)) * 12  # 3072 bytes
for _ in range(int(sys.argv[2])):
    s.sendto(data, (sys.argv[1], 5353))
    try:
        d = s.recvfrom(65535)[0]
        print("echo %d %s" % (len(d), "same" if d == data else "different"))
        break
    except socket.timeout:
        pass
else:
    print("timeout")
' "$FRONT_PUB" "$1"
}

expect_eq "a fragmented datagram goes to the backend and its fragmented echo comes back" \
	"echo 3072 same" "$(echo_3072 1)"
for c in fragments_forwarded fragments_returned; do
	expect_gt "front counted $c" 0 "$(front_stat "$c")"
done

client ip route del "$FRONT_PUB/$HOST_LEN" dev c0 mtu lock 1400
mtu() { "$1" ip -o link show dev "$2" | grep -o "mtu [0-9]*" | cut -c5-; }
expect_eq "client link MTU 1500, tunnel 1420" "1500 1420" \
	"$(mtu client c0) $(mtu front "$TUN_FRONT")"
if [ "$LAB_FAMILY" = 6 ]; then
	# The first try's first fragment gets packet too big: the second fits.
	expect_eq "fragments of 1500 bytes: the datagram arrives once the client learnt the MTU" \
		"echo 3072 same" "$(echo_3072 3)"
	expect_gt "front sent packet too big" 0 "$(front_stat too_big_icmp_sent)"
else
	# The stack forwards what relaybpf hands it (docs/front.md: too_big_to_stack).
	front sysctl -qw net.ipv4.ip_forward=1
	expect_eq "fragments of 1500 bytes: the datagram arrives whole at the first try" \
		"echo 3072 same" "$(echo_3072 1)"
	for c in too_big_to_stack fragments_to_stack; do
		expect_gt "front counted $c" 0 "$(front_stat "$c")"
	done
	# With netfilter's conntrack (so its defrag) loaded, the stack
	# reassembles the datagram before forwarding it: every fragment must
	# reach it, not only the first.
	front nft add table ip fragt
	front nft add chain ip fragt pre "{ type filter hook prerouting priority 0; }"
	front nft add rule ip fragt pre ct state new counter
	expect_eq "the same with the front's stack reassembling" "echo 3072 same" "$(echo_3072 1)"
fi
e2e_summary
