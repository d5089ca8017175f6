#!/usr/bin/env bash
# An ICMP error whose checksum is still partial (CHECKSUM_PARTIAL), which
# BPF_PROG_TEST_RUN cannot build: the front's public device is a TAP taking
# a virtio-net header, and the client's fragmentation-needed (Packet Too
# Big) about a SYN-ACK comes with NEEDS_CSUM, its ICMP checksum left to the
# device (as a guest's virtio-net driver or a userspace stack may send it).
# The front translates the quote (the SYN-ACK as the backend sent it) and
# its TCP checksum; the front's tunnel, a veth with transmit checksumming
# off, fills the ICMP checksum in on the way out. The backend must get an
# error whose ICMP checksum and quoted TCP checksum both verify. Before,
# bpf_l4_csum_replace without the pseudo-header flag left the quoted
# checksum of a partial skb alone: it still summed the public address.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

TAP=rbp${LAB_ID}

lab_up_or_die
tap_public_up tapcsum.py
front ethtool -K "$TUN_FRONT" tx off >/dev/null
lab_peer_server 8080
front "$RELAYBPF" attach --role front --dev "$TAP" --backend "$BACK_TUN" >/dev/null
back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN" >/dev/null

back python3 "$(dirname "$0")/tapcsum.py" check "$TUN_BACK" "$TAP_CLIENT" 8 \
	>"$LAB_DIR/check.out" 2>&1 &
check_pid=$!
lab_wait_for "the backend's capture" grep -q listening "$LAB_DIR/check.out"
out=$(front python3 "$(dirname "$0")/tapcsum.py" run "$TAP" "$TAP_CLIENT" "$TAP_PUB" 8080 \
	"$PEER_MAC" "$TAP_MAC")
wait "$check_pid"
expect_match "$FAM: the SYN-ACK returns" "syn: synack" "$out"
expect_match "$FAM: a partial error about it was sent" "error: sent" "$out"
expect_eq "$FAM: the error is relayed to the backend" 1 "$(front_stat icmp_errors_forwarded)"
expect_eq "$FAM: the backend's error verifies: ICMP checksum and the quoted TCP checksum" \
	"icmp ok quoted-tcp ok" "$(tail -n1 "$LAB_DIR/check.out")"

e2e_summary
