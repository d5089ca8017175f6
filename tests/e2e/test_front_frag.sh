#!/usr/bin/env bash
# IPv4 fragments of relayed flows, both ways, through a real WireGuard
# tunnel: a 3000-byte UDP datagram from the client (fragmented by its
# stack) reaches the backend whole, and the backend's 3000-byte answer
# (fragmented by the backend's) reaches the client whole.
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

out=$(client python3 -c "$LAB_PY"'
import socket, sys, hashlib
s = socket.socket(AF, socket.SOCK_DGRAM)
s.settimeout(3)
data = bytes(range(256)) * 12  # 3072 bytes
s.sendto(data, (sys.argv[1], 5353))
try:
    d = s.recvfrom(65535)[0]
    print("echo %d %s" % (len(d), "same" if d == data else "different"))
except socket.timeout:
    print("timeout")
' "$FRONT_PUB")
expect_eq "a fragmented datagram goes to the backend and its fragmented echo comes back" \
	"echo 3072 same" "$out"
for c in fragments_forwarded fragments_returned; do
	expect_gt "front counted $c" 0 "$(front_stat "$c")"
done
e2e_summary
