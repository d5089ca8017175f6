#!/usr/bin/env bash
# 802.1Q: the front attached on the parent device (f0) must not relay the
# frames of another VLAN: its replies would leave untagged. The stack
# untags a frame before TC ingress, so the tag is in skb->vlan_tci
# whether the wire carried it in the frame (as here: a packet socket) or a
# driver stripped it; such frames go to the stack (pass_vlan_tagged), which
# hands them to the VLAN's device if there is one. A priority tag (VLAN 0)
# is the untagged network's: relayed. (The front attached on a VLAN device
# sees its frames untagged; this kernel has no 8021q to build one here.)
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
expect_ok "attach" lab_attach
f0_mac=$(front ip -br link show dev f0 | awk '{print $3}')
tagged_syn() { # VID SPORT
	client python3 "$(dirname "$0")/rawpkt.py" vlan c0 "$f0_mac" "$1" syn "$CLIENT_IP" \
		"$FRONT_PUB" "$2" 8080
}

tagged_syn 100 40100
sleep 0.2
expect_eq "a SYN of VLAN 100 was passed to the stack" 1 "$(front_stat pass_vlan_tagged)"
expect_eq "no flow was created for it" 0 "$(front_stat conntrack_new)"
expect_eq "nothing was relayed" 0 "$(front_stat forwarded_packets)"
tagged_syn 0 40101
sleep 0.2
expect_eq "a priority-tagged SYN (VLAN 0) is the untagged network's: relayed" 1 \
	"$(front_stat forwarded_packets)"
expect_eq "and only that one was counted as another VLAN's" 1 "$(front_stat pass_vlan_tagged)"
e2e_summary
