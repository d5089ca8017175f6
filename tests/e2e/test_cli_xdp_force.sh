#!/usr/bin/env bash
# --xdp-mode never replaces another tool's XDP program silently: attach is
# refused (exit 1, the program named, nothing left behind) unless --force.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
cat >"$LAB_DIR/foreign.bpf.c" <<'C'
struct xdp_md;
__attribute__((section("xdp"), used)) int foreign_xdp(struct xdp_md *ctx) { return 2; /* PASS */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
C
clang -target bpf -O2 -c "$LAB_DIR/foreign.bpf.c" -o "$LAB_DIR/foreign.o"
front ip link set dev f0 xdpgeneric obj "$LAB_DIR/foreign.o" sec xdp
# Name of the XDP program on f0, empty if none.
xdp_prog() {
	local id
	id=$(front ip -d link show dev f0 | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}')
	[ -n "$id" ] && bpftool prog show id "$id" | grep -o 'name [a-z_]*' | awk '{print $2}'
}
attach_xdp() { front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --xdp-mode generic "$@"; }

err=$(attach_xdp 2>&1 >/dev/null)
expect_eq "attach over a foreign XDP program exits 1" 1 "$(attach_xdp >/dev/null 2>&1; echo $?)"
expect_match "the refusal names the program" "carries XDP program id [0-9]+ \(foreign_xdp\)" "$err"
expect_match "the foreign program stays" "foreign_xdp" "$(xdp_prog)"
expect_match "nothing of the front is left" "nothing attached" "$(front "$RELAYBPF" status)"

expect_ok "attach --force" attach_xdp --force
expect_match "relaybpf's XDP program replaced it" "relay_front_xdp" "$(xdp_prog)"
expect_ok "attach again without --force (the program is ours)" attach_xdp
expect_ok "back attaches" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
got=$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" </dev/null)
expect_eq "relaying works with the XDP fast path" "backend saw $CLIENT_IP 0" "$got"
expect_ok "detach" front "$RELAYBPF" detach
expect_eq "no XDP program left on f0" "" "$(xdp_prog)"
e2e_summary
