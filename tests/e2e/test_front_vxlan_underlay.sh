#!/usr/bin/env bash
# A VXLAN tunnel whose underlay runs over the front's public device: the
# VXLAN UDP packets to 203.0.113.1:4789 belong to the front's own VXLAN
# socket and must never be relayed, also when the backend speaks first
# (its ARP inside the tunnel is the first packet) and whatever source port
# VXLAN picks (it varies per inner flow): the loader gives the datapath
# the VXLAN device's remote, whose packets are the host's (before the
# host-socket check ever runs). Only the front is attached: the
# back role over VXLAN is issue 4's (fwmark loop), this is about the front.
set -u
LAB_TUNNEL=vxlan
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
lab_back_public
# The VXLAN devices again, now over the public link.
front ip link del "$TUN_FRONT"
back ip link del "$TUN_BACK"
front ip link set f1 down
back ip link set b1 down
front ip link add "$TUN_FRONT" type vxlan id 42 local "$FRONT_PUB" remote "$BACK_PUB" \
	dstport 4789 dev f0
back ip link add "$TUN_BACK" type vxlan id 42 local "$BACK_PUB" remote "$FRONT_PUB" \
	dstport 4789 dev b9
lab_tunnel_addrs

expect_ok "attach the front (udp:4789 not excluded)" \
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN"
expect_ok "the backend speaks first through VXLAN over the public link" \
	back ping -c2 -W2 "$FRONT_TUN"
expect_ok "the front reaches the backend through it" front ping -c2 -W2 "$BACK_TUN"
# A TCP SYN to a closed port of the front: its RST proves the round trip.
out=$(back socat -T3 /dev/null "TCP:$(hp "$FRONT_TUN" 7),connect-timeout=2" 2>&1)
expect_match "a TCP flow inside the tunnel (another VXLAN source port) works" "refused" "$out"
expect_gt "the VXLAN underlay from its peer went to the host" 0 "$(front_stat pass_underlay_peer)"
expect_eq "no flow was created for the underlay" 0 "$(front_stat conntrack_new)"
e2e_summary
