#!/usr/bin/env bash
# TCP from a client through the front and a real WireGuard tunnel (a TUN
# device: the path that verifies checksums) to the backend, which must see
# the client's real address; the client must get the answer back.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
# SSH stays with the front: a listener on the front's port 22.
lab_spawn "$NS_FRONT" socat "$TCP_LISTEN:22,reuseaddr,fork" SYSTEM:"echo front ssh"
lab_wait_for "the front's port 22" front socat -T1 /dev/null "TCP:$(hp "$LOOPBACK" 22)"

fwmark_before=$(back sysctl -n net.ipv4.tcp_fwmark_accept)
expect_ok "attach front and back" lab_attach

case_tcp_relay

reply=$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 22),connect-timeout=3" </dev/null)
expect_eq "tcp:22 stays with the front" "front ssh" "$reply"

stats=$(front "$RELAYBPF" stats --json)
fwd=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["forwarded_packets"])')
ret=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["returned_packets"])')
excl=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["pass_excluded"])')
expect_gt "front counted forwarded packets" 0 "$fwd"
expect_gt "front counted returned packets" 0 "$ret"
expect_gt "front counted excluded packets" 0 "$excl"
marked=$(back "$RELAYBPF" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["back"]["back_marked"])')
expect_gt "back marked tunnel packets" 0 "$marked"
expect_eq "back set tcp_fwmark_accept" 1 "$(back sysctl -n net.ipv4.tcp_fwmark_accept)"
expect_match "back installed the fwmark rule" "fwmark 0x1 lookup 100" "$(back ip -"$LAB_FAMILY" rule show)"
expect_match "back installed the table's route" "default dev $TUN_BACK" "$(back ip -"$LAB_FAMILY" route show table 100)"

expect_ok "detach front" front "$RELAYBPF" detach
expect_ok "detach back" back "$RELAYBPF" detach
expect_eq "no front filter left" "" "$(front tc filter show dev f0 ingress)"
expect_eq "no back filter left" "" "$(back tc filter show dev "$TUN_BACK" ingress)"
expect_eq "no rule left" "" "$(back ip -"$LAB_FAMILY" rule show | grep fwmark || true)"
expect_eq "no table route left" "" "$(back ip -"$LAB_FAMILY" route show table 100 2>/dev/null)"
expect_eq "tcp_fwmark_accept restored" "$fwmark_before" "$(back sysctl -n net.ipv4.tcp_fwmark_accept)"
e2e_summary
