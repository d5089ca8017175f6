#!/usr/bin/env bash
# TCP relay over a VXLAN tunnel (L2 over UDP). The VXLAN device routes its
# encapsulated packets with the inner reply's mark: without the throw route
# for its underlay remote, table 100 would send them into the VXLAN device
# itself and no reply would ever leave the backend.
set -u
LAB_TUNNEL=vxlan
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
expect_ok "attach front and back" lab_attach
under=$FRONT_UNDER
[ "$LAB_FAMILY" = 6 ] && under=$FRONT_UNDER6
expect_match "back threw the underlay remote out of the table" "throw $under" \
	"$(back ip -"$LAB_FAMILY" route show table 100)"
case_tcp_relay
expect_ok "detach back" back "$RELAYBPF" detach
expect_eq "table 100 is empty after detach" "" \
	"$(back ip -4 route show table 100 2>/dev/null; back ip -6 route show table 100 2>/dev/null)"
e2e_summary
