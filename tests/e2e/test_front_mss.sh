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
count_mss() {
	in_ns "$1" nft add table inet mss
	in_ns "$1" nft add chain inet mss c "{ type filter hook $2 priority 0; }"
	for v in 1300 1380 1460; do
		in_ns "$1" nft add rule inet mss c ip saddr != 127.0.0.0/8 \
			tcp flags == "$3" tcp option maxseg size "$v" counter comment "\"mss$v\""
	done
}
# seen NS VALUE: packets counted for that MSS value.
seen() {
	nft_packets "$1" inet mss c "mss$2"
}
count_mss "$NS_BACK" input syn
count_mss "$NS_CLIENT" input "syn | ack"
connect() { client socat -T5 - "TCP:$FRONT_PUB:8080,connect-timeout=3" </dev/null; }

expect_ok "attach (--mss auto)" lab_attach
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "the backend saw MSS 1380 (tunnel MTU 1420 - 40)" 0 "$(seen "$NS_BACK" 1380)"
expect_eq "the backend never saw the client's 1460" 0 "$(seen "$NS_BACK" 1460)"

client_1380=$(seen "$NS_CLIENT" 1380)
expect_ok "re-attach with --mss 1300" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --mss 1300
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "the backend saw MSS 1300" 0 "$(seen "$NS_BACK" 1300)"
expect_gt "the client got a SYN-ACK with MSS 1300 (lowered from 1380)" 0 "$(seen "$NS_CLIENT" 1300)"
expect_eq "the client got no more 1380" "$client_1380" "$(seen "$NS_CLIENT" 1380)"

expect_ok "re-attach with --mss off" front "$RELAYBPF" attach --role front --dev f0 \
	--backend "$BACK_TUN" --mss off
expect_eq "relay works" "backend saw $CLIENT_IP 0" "$(connect)"
expect_gt "with --mss off the backend sees the client's 1460" 0 "$(seen "$NS_BACK" 1460)"
e2e_summary
