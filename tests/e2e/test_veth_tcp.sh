#!/usr/bin/env bash
# TCP relay over a veth tunnel (L2): the front adds the backend's MAC itself
# (bpf_redirect_neigh) on the way in and keeps the Ethernet header on the
# way out.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

# A download from the backend to a client that reads only after a second:
# the backend's GSO packets (headers linear, payload in pages) queue at
# the client, which coalesces consecutive ones into one skb, as it does
# behind the kernel's forwarding. A pull of payload into the linear area
# (relay_front_rev parsing) gave every packet a head the receiver cannot
# coalesce: 0 of ~40,000 in a bulk download, against ~70% behind the recipe.
case_tcp_download() {
	local got c0 c1
	lab_spawn "$NS_BACK" socat -t30 "$TCP_LISTEN:8082,reuseaddr,fork" SYSTEM:"head -c 2000000 /dev/zero"
	lab_wait_for "the download server" back socat -T1 /dev/null "TCP:$(hp "$LOOPBACK" 8082)"
	c0=$(client nstat -az TcpExtTCPRcvCoalesce | awk '$1 == "TcpExtTCPRcvCoalesce" {print $2}')
	got=$(client python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.settimeout(20)
s.connect((sys.argv[1], 8082))
time.sleep(1)
n = 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    n += len(b)
print(n)' "$FRONT_PUB")
	c1=$(client nstat -az TcpExtTCPRcvCoalesce | awk '$1 == "TcpExtTCPRcvCoalesce" {print $2}')
	expect_eq "$LAB_TUNNEL $FAM: 2 MB download relayed whole" 2000000 "$got"
	expect_gt "$LAB_TUNNEL $FAM: the client coalesced the queued download segments" 20 "$((c1 - c0))"
}

lab_up_or_die
lab_peer_server 8080
expect_ok "attach front and back" lab_attach
case_tcp_relay
case_tcp_download
e2e_summary
