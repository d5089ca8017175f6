#!/usr/bin/env bash
# The back returns TCP, UDP sendto(), ICMP echo and RST replies through a
# veth tunnel with strict rp_filter; detach restores everything.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
case_back_cycle
e2e_summary
