#!/usr/bin/env bash
# Packets whose headers a NIC left partly in pages (drivers that put only
# the headers in the skb's linear area: ixgbe/i40e legacy-rx, igb, gve
# header-split), which BPF_PROG_TEST_RUN cannot build (its skbs are linear):
# the front's public device is a TAP in NAPI frags mode that takes each frame
# as its linear part and a page fragment (tapfrags.py). TC pulls what the
# parser needs and parses once more:
# - a SYN whose linear area is the Ethernet header alone is relayed and its
#   SYN-ACK comes back (the IP and TCP headers pulled);
# - fragmentation-needed / Packet Too Big about that SYN-ACK, its quote in
#   the pages (as the flow dissector leaves it: it stops at the ICMP
#   header), is translated and relayed to the backend;
# - IPv6: a SYN behind a 320-byte extension chain past the linear area's
#   first 200 bytes is relayed.
# Before the pull, all three were passed to the front's stack (the SYNs got
# its RST, the error was dropped: pass_malformed, pass_no_flow). The lab's
# sysctls turn DAD off.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

TAP=rbn${LAB_ID}

lab_up_or_die
tap_public_up tapfrags.py
# GRO would pull the headers it parses into the linear area.
front ethtool -K "$TAP" gro off >/dev/null
lab_peer_server 8080
front "$RELAYBPF" attach --role front --dev "$TAP" --backend "$BACK_TUN" >/dev/null
back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN" >/dev/null

out=$(front python3 "$(dirname "$0")/tapfrags.py" run "$TAP" "$TAP_CLIENT" "$TAP_PUB" 8080 \
	"$PEER_MAC" "$TAP_MAC")
expect_match "$FAM: a SYN with only its Ethernet header linear is relayed, its SYN-ACK returns" \
	"syn: synack" "$out"
expect_match "$FAM: an error about it, its quote in the pages, was sent" "error: sent" "$out"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(front_stat icmp_errors_forwarded)" = 1 ] && break
	sleep 0.2
done
expect_eq "$FAM: the error is translated and relayed to the backend" 1 \
	"$(front_stat icmp_errors_forwarded)"
if [ "$LAB_FAMILY" = 6 ]; then
	expect_match "$FAM: a SYN behind an extension chain past the linear area is relayed" \
		"chain: synack" "$out"
fi
expect_eq "$FAM: nothing passed as malformed or not linear" "0 0" \
	"$(front_stat pass_malformed) $(front_stat pass_headers_not_linear)"

e2e_summary
