#!/usr/bin/env bash
# MSS clamping over each tunnel type, whatever its MTU: case_front_mss
# (front_lib.sh), once per tunnel (wg, veth, vxlan), each in its own lab.
set -u
if [ -z "${LAB_TUNNEL:-}" ]; then
	# A run that died before its summary counts as a failure.
	for t in wg veth vxlan; do
		LAB_TUNNEL=$t bash "$0"
	done | awk '/^RESULT /{p += $2; f += $3; n++; next} {print}
		END {f += 3 - n; print "RESULT", p, f; exit f > 0}'
	exit
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
case_front_mss
e2e_summary
