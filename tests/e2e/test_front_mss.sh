#!/usr/bin/env bash
# MSS clamping through a real WireGuard tunnel (MTU 1420): --mss auto gives
# the backend 1380 instead of the client's 1460; --mss 1300 also lowers the
# backend's SYN-ACK on its way to the client; --mss off leaves both.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
# count_mss NS HOOK FLAGS: a counter per MSS value seen on SYNs (FLAGS syn or syn,ack).
# The MSS of the client's 1500 link, and --mss auto's of the 1420 tunnel:
# MTU - 40, IPv6 MTU - 60.
IP_EXTRA=$((LAB_FAMILY == 6 ? 20 : 0))
MSS_CLIENT=$((1460 - IP_EXTRA))
MSS_AUTO=$((1380 - IP_EXTRA))
# --mss N is the IPv4 value: IPv6 gets N - 20 (its header is 20 bytes longer).
MSS_SET=$((1300 - IP_EXTRA))
count_mss() {
	in_ns "$1" nft add table inet mss
	in_ns "$1" nft add chain inet mss c "{ type filter hook $2 priority 0; }"
	for v in "$MSS_SET" "$MSS_AUTO" "$MSS_CLIENT"; do
		in_ns "$1" nft add rule inet mss c "$NFT_IP" saddr != "$LOOPBACK" \
			tcp flags == "$3" tcp option maxseg size "$v" counter comment "\"mss$v\""
	done
}
# seen NS VALUE: packets counted for that MSS value.
seen() {
	nft_packets "$1" inet mss c "mss$2"
}
count_mss "$NS_BACK" input syn
count_mss "$NS_CLIENT" input "syn | ack"
connect() { client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" </dev/null; }

expect_ok "attach (--mss auto)" lab_attach
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "the backend saw MSS $MSS_AUTO (tunnel MTU 1420 - 40, IPv6 - 60)" 0 "$(seen "$NS_BACK" "$MSS_AUTO")"
expect_eq "the backend never saw the client's $MSS_CLIENT" 0 "$(seen "$NS_BACK" "$MSS_CLIENT")"

client_auto=$(seen "$NS_CLIENT" "$MSS_AUTO")
expect_ok "re-attach with --mss 1300" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --mss 1300
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "the backend saw MSS $MSS_SET" 0 "$(seen "$NS_BACK" "$MSS_SET")"
expect_gt "the client got a SYN-ACK with MSS $MSS_SET (lowered from $MSS_AUTO)" 0 "$(seen "$NS_CLIENT" "$MSS_SET")"
expect_eq "the client got no more $MSS_AUTO" "$client_auto" "$(seen "$NS_CLIENT" "$MSS_AUTO")"

expect_ok "re-attach with --mss off" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --mss off
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "with --mss off the backend sees the client's $MSS_CLIENT" 0 "$(seen "$NS_BACK" "$MSS_CLIENT")"
e2e_summary
