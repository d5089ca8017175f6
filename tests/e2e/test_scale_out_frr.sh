#!/usr/bin/env bash
# test_scale_out_bgp.sh with FRR 8.4 on both fronts (dist/frr-front.conf):
# the router learns the VIP from each front, loses front 1 on `relaybpf
# drain` (a stream on it goes on through front 2) and has it again on
# undrain, and loses both when their daemons stop.
SCALE_OUT_FRONTS=frr exec bash "$(dirname "$0")/test_scale_out_bgp.sh"
