#!/usr/bin/env bash
# The XDP fast path (--xdp-mode generic) on the public device, through a
# real WireGuard tunnel. The client's veth sends complete checksums (tx
# offload off), as a real wire delivers. Established flows take the XDP
# path, the rest TC; re-attach without --xdp-mode, or detach, removes it.
# Native mode attaches (checked) but is not relayed through in the lab:
# native XDP on a veth redirecting into wireguard-go's TUN device loses
# the frames (docs/front.md).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
client ethtool -K c0 tx off >/dev/null
expect_ok "attach with --xdp-mode generic" lab_attach --xdp-mode generic
expect_match "generic XDP is on the public device" "xdpgeneric" "$(front ip link show f0)"
case_tcp_relay
expect_gt "the XDP path forwarded packets" 0 "$(front_stat xdp_forwarded)"
expect_ok "re-attach with --xdp-mode native" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --xdp-mode native
expect_match "native XDP replaced the generic one" "xdp " "$(front ip link show f0)"
expect_ok "re-attach without --xdp-mode" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN"
expect_eq "no XDP left on the public device" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
expect_ok "attach with --xdp-mode auto" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --xdp-mode auto
expect_ok "detach" front "$RELAYBPF" detach
expect_eq "detach removed XDP" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
e2e_summary
