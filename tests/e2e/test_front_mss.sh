#!/usr/bin/env bash
# MSS clamping through a real WireGuard tunnel (MTU 1420): case_front_mss.
# The same over the other tunnels: test_front_mss_veth.sh, test_front_mss_vxlan.sh.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
case_front_mss
e2e_summary
