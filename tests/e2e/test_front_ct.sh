#!/usr/bin/env bash
# A full conntrack table never breaks an established flow: with a tiny
# --ct-max, a flood of new flows evicts a TCP connection's entry while the
# backend is about to answer; with one public address and one backend the
# answer is still translated (stateless) and reaches the client.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
# The backend answers 2 s after the connection opens, on its own.
lab_spawn "$NS_BACK" socat TCP-LISTEN:8090,reuseaddr,fork SYSTEM:"sleep 2; echo late answer"
wait_listening "$NS_BACK" tcp 8090
expect_ok "attach with --ct-max 16" lab_attach --ct-max 16

out=$(client python3 -c '
import socket, sys
pub = sys.argv[1]
c = socket.create_connection((pub, 8090), timeout=5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(10000, 13000):  # 3000 new flows into 16 entries
    u.sendto(b"x", (pub, port))
print(c.recv(100).decode().strip())
' "$FRONT_PUB" 2>&1)
expect_eq "the evicted connection still gets the backend's answer" "late answer" "$out"
expect_gt "front translated replies without a flow" 0 "$(front_stat returned_without_flow)"
e2e_summary
