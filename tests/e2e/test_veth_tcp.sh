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

lab_up_or_die
lab_peer_server 8080
expect_ok "attach front and back" lab_attach
case_tcp_relay
e2e_summary
