#!/usr/bin/env bash
# A lost conntrack entry never breaks an established flow: while the
# backend is about to answer a TCP connection, its entry is evicted (a
# flood of new flows into a tiny --ct-max table, then the TCP entries
# deleted outright so the test does not depend on LRU's choice); with one
# public address and one backend the answer is still translated
# (stateless), reaches the client, and the flow is recorded again.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

# ct_delete_tcp: deletes the TCP entries of the front's conntrack map (the
# map of the program on f0's TC ingress).
ct_delete_tcp() {
	local prog map
	prog=$(front tc filter show dev f0 ingress | grep -o ' id [0-9]*' | head -1 | awk '{print $2}')
	for map in $(bpftool prog show id "$prog" -j | python3 -c \
		'import json,sys; print(*json.load(sys.stdin).get("map_ids", []))'); do
		bpftool map show id "$map" | grep -q "name relay_ct " || continue
		bpftool map dump id "$map" -j | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    key = e["key"]
    if int(key[21], 16) == 6:  # relay_ct_key.proto
        print(" ".join(k[2:] for k in key))
' | while read -r key; do
			# shellcheck disable=SC2086
			bpftool map delete id "$map" key hex $key
		done
	done
}

lab_up_or_die
# The backend answers once the test has deleted the connection's entry
# (the file go appears), not after a fixed time: on a loaded machine the
# deletion may take longer than any delay chosen here.
lab_spawn "$NS_BACK" socat "$TCP_LISTEN:8090,reuseaddr,fork" \
	SYSTEM:"while [ ! -e '$LAB_DIR/go' ]; do sleep 0.05; done; echo late answer"
wait_listening "$NS_BACK" tcp 8090
CT_MAX=$(ct_max_min)
expect_ok "attach with the smallest --ct-max ($CT_MAX)" lab_attach --ct-max "$CT_MAX"

client python3 -c "$LAB_PY"'
import socket, sys
pub = sys.argv[1]
c = socket.create_connection((pub, 8090), timeout=30)
u = socket.socket(AF, socket.SOCK_DGRAM)
for port in range(10000, 13000):  # 3000 new flows into the table
    u.sendto(b"x", (pub, port))
print(c.recv(100).decode().strip())
' "$FRONT_PUB" >"$LAB_DIR/answer" 2>&1 &
client_pid=$!
# The connection is open (its entry exists) before it is deleted.
backend_connected() { [ -n "$(back ss -Htn state established '( sport = :8090 )')" ]; }
lab_wait_for "the client's connection" backend_connected
ct_delete_tcp
touch "$LAB_DIR/go"
wait "$client_pid"
expect_eq "the evicted connection still gets the backend's answer" "late answer" \
	"$(cat "$LAB_DIR/answer")"
expect_gt "front translated replies without a flow" 0 "$(front_stat returned_without_flow)"
e2e_summary
