#!/usr/bin/env bash
# Native XDP on the public veth relaying into a veth tunnel (L2). A veth
# takes redirected XDP frames only while its peer has an XDP program or GRO
# on (NAPI): attach refuses native (auto stays with TC) before, relays after GRO is turned on
# the back's end. The XDP path resolves the backend's MAC with
# bpf_fib_lookup, which needs forwarding on (the front is a router). Every
# frame the XDP path redirects must arrive: no rx drop on the public device.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

rx_dropped() {
	front ip -j -s link show f0 | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["dropped"])'
}

lab_up_or_die
lab_peer_server 8080
client ethtool -K c0 tx off >/dev/null
front sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Whether a device takes XDP frames is reported from Linux 6.3 on (the
# netdev netlink family): before, native is refused and auto stays with TC,
# each saying so, and TC relays with the same results.
if printf '%s\n' 6.3 "$(uname -r | cut -d- -f1)" | sort -CV; then
	native=1 why="takes no XDP frames"
else
	native=0 why="needs Linux 6.3"
fi
out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode native 2>&1)
expect_eq "native refused while the tunnel's peer has no NAPI" 1 "$?"
expect_match "the refusal says why" "$why" "$out"
out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode auto 2>&1)
expect_eq "auto attaches all the same" 0 "$?"
expect_match "auto says it stays with TC only" "TC only" "$out"
expect_eq "auto put no XDP on the public device" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
back ethtool -K "$TUN_BACK" gro on >/dev/null
if [ $native -eq 1 ]; then
	expect_ok "attach with --xdp-mode native" lab_attach --xdp-mode native
	expect_match "native XDP is on the public device" "xdp " "$(front ip link show f0)"
	expect_ok "attach with --xdp-mode auto" lab_attach --xdp-mode auto
	expect_match "auto picked native XDP" "xdp " "$(front ip link show f0)"
else
	out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode native 2>&1)
	expect_eq "native refused before Linux 6.3" 1 "$?"
	expect_match "the refusal names the kernel" "needs Linux 6.3" "$out"
	out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode auto 2>&1)
	expect_match "auto says why it stays with TC before Linux 6.3" "cannot tell.*TC only" "$out"
	expect_ok "attach with --xdp-mode auto" lab_attach --xdp-mode auto
	expect_eq "auto put no XDP on the public device" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
fi
drops=$(rx_dropped)
case_tcp_relay
expect_ok "ping relayed" client ping -c5 -i0.2 -W2 "$FRONT_PUB"
if [ $native -eq 1 ]; then
	expect_gt "the native XDP path forwarded packets" 100 "$(front_stat xdp_forwarded)"
else
	expect_eq "nothing went the XDP path" 0 "$(front_stat xdp_forwarded)"
fi
expect_eq "no redirected frame was dropped" "$drops" "$(rx_dropped)"
expect_ok "detach" front "$RELAYBPF" detach
expect_eq "detach removed XDP" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
e2e_summary
