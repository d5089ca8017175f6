#!/usr/bin/env bash
# The XDP fast path on the public device through a real WireGuard tunnel.
# The client's veth sends complete checksums (tx offload off), as a real
# wire delivers. Generic XDP relays established flows (the rest is TC's).
# Native XDP cannot redirect into a TUN device (no ndo_xdp_xmit: the kernel
# dropped every frame, xdp_redirect_err -EOPNOTSUPP): attach refuses it and
# keeps the previous mode; auto stays with TC only (generic XDP runs after
# GRO on partial checksums: tests only) and says so. Re-attach without
# --xdp-mode, or detach, removes it. A re-attach keeps the XDP link (a real
# NIC's driver rebuilds its queues when XDP goes and comes) and swaps the
# reloaded program in place. Native over a veth tunnel:
# test_front_xdp_native.sh.
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
# "LINK_ID PROG_ID" of the pinned XDP link.
xdp_link() {
	local dir
	dir=$(front "$RELAYBPF" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["state"])')
	front bpftool -j link show pinned "$dir/relay_front_xdp_link" |
		python3 -c 'import json,sys; l = json.load(sys.stdin); print(l["id"], l["prog_id"])'
}
read -r link0 prog0 < <(xdp_link)
expect_ok "re-attach with the same options" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --xdp-mode generic
read -r link1 prog1 < <(xdp_link)
expect_eq "re-attach keeps the XDP link (id $link0)" "$link0" "$link1"
expect_ok "re-attach swapped the reloaded program into it ($prog0 -> $prog1)" \
	test "$prog0" != "$prog1"
out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode native 2>&1)
expect_eq "native XDP into the TUN device is refused" 1 "$?"
expect_match "the refusal says why" "takes no XDP frames" "$out"
expect_match "the generic XDP stays" "xdpgeneric" "$(front ip link show f0)"
out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode auto 2>&1)
expect_eq "attach with --xdp-mode auto succeeds" 0 "$?"
expect_match "auto says it stays with TC only, and why" \
	"--xdp-mode auto: native XDP cannot redirect into a tunnel device.*: TC only" "$out"
expect_eq "auto never falls back to generic XDP" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
expect_match "the summary names no XDP fast path" "public address[es]*$" "$out"
case_tcp_relay
expect_ok "re-attach without --xdp-mode" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN"
expect_eq "no XDP left on the public device" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
expect_ok "attach with --xdp-mode generic again" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --xdp-mode generic
expect_ok "detach" front "$RELAYBPF" detach
expect_eq "detach removed XDP" "" "$(front ip link show f0 | grep -o 'xdp[a-z]*')"
e2e_summary
