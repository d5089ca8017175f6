#!/usr/bin/env bash
# MSS clamping through a veth tunnel (L2, MTU 1500): case_front_mss.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
case_front_mss
e2e_summary
