#!/usr/bin/env bash
# relaybpf daemon heals tunnel restarts: the back's tunnel down and up
# (which deletes the table's route) and the tunnel deleted and recreated
# (which takes the TC filters and changes the ifindex) relay again within a
# second, without an operator; SIGTERM detaches. LAB_TUNNEL=veth (default)
# or wg (the front's wireguard-go restarted, as wg-quick down/up does).
set -u
LAB_TUNNEL=${LAB_TUNNEL:-veth}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT
trap "exit 1" INT TERM

lab_up_or_die
lab_peer_server 8080
relays() {
	[ "$(client socat -T1 - "TCP:$FRONT_PUB:8080,connect-timeout=1" </dev/null 2>/dev/null)" = \
		"backend saw $CLIENT_IP 0" ]
}
# Started at boot before the tunnel is up: the daemons wait for it.
front ip link set "$TUN_FRONT" down
lab_spawn "$NS_FRONT" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN"
FRONT_PID=${LAB_PIDS[-1]}
lab_spawn "$NS_BACK" "$RELAYBPF" daemon --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
BACK_PID=${LAB_PIDS[-1]}
sleep 1
expect_ok "a daemon started before its tunnel is up keeps running" kill -0 "$FRONT_PID"
expect_match "and has not attached yet" "nothing attached" "$(front "$RELAYBPF" status)"
front ip link set "$TUN_FRONT" up
lab_wait_for "the daemons to attach" relays
case_tcp_relay

# Everything both roles install is in place, on the current devices.
healed() {
	local f b
	f=$(front "$RELAYBPF" status --json) b=$(back "$RELAYBPF" status --json)
	[ "$(jq -r '.front.tunnel.prog_id > 0 and .front.public.prog_id > 0' <<<"$f")" = true ] &&
	[ "$(jq -r .front.tunnel.ifindex <<<"$f")" = "$(front ip -o link show "$TUN_FRONT" | cut -d: -f1)" ] &&
	[ "$(jq -r '.back.tunnel.prog_id > 0 and .back.rule_present' <<<"$b")" = true ] &&
	[ "$(back ip route show table 100 2>/dev/null | grep -c default)" = 1 ]
}
# ms until everything is back in place (polling), up to 5 s.
heal_ms() {
	local start=$(date +%s%N) i
	for i in $(seq 250); do
		healed && { echo $((($(date +%s%N) - start) / 1000000)); return; }
		sleep 0.02
	done
	echo timeout
}
le_1000() { [ "$1" != timeout ] && [ "$1" -le 1000 ]; }
reset_sink() {
	sink nft flush chain inet sink in
	sink nft add rule inet sink in ip daddr 203.0.113.0/24 counter drop
}

back ip link set "$TUN_BACK" down
expect_eq "back tunnel down: the table's route is gone" 0 \
	"$(back ip route show table 100 2>/dev/null | grep -c default)"
back ip link set "$TUN_BACK" up
ms=$(heal_ms)
expect_ok "$LAB_TUNNEL: tunnel down and up: healed within 1 s (took ${ms} ms)" le_1000 "$ms"
expect_ok "and relaying" relays

# Deletes the tunnel and creates it again (a new ifindex).
recreate_tunnel() {
	if [ "$LAB_TUNNEL" = wg ]; then
		# The front's wireguard-go was spawned first; its exit deletes the TUN device.
		kill "${LAB_PIDS[0]}"
		wait "${LAB_PIDS[0]}" 2>/dev/null
		lab_spawn "$NS_FRONT" env WG_PROCESS_FOREGROUND=1 wireguard-go "$TUN_FRONT"
		lab_wait_for "the new wireguard-go" test -S "/var/run/wireguard/$TUN_FRONT.sock"
		front wg set "$TUN_FRONT" private-key "$LAB_DIR/front.key" listen-port 51820 \
			peer "$(wg pubkey <"$LAB_DIR/back.key")" endpoint "$BACK_UNDER:51820" \
			allowed-ips "$BACK_TUN/32"
		front ip addr add "$FRONT_TUN/30" dev "$TUN_FRONT"
		front ip link set "$TUN_FRONT" up
	else
		front ip link del "$TUN_FRONT"
		veth_pair "$NS_FRONT" "$TUN_FRONT" "$FRONT_TUN/30" "$NS_BACK" "$TUN_BACK" "$BACK_TUN/30"
	fi
}
old=$(front ip -o link show "$TUN_FRONT" | cut -d: -f1)
recreate_tunnel
ms=$(heal_ms)
expect_ok "$LAB_TUNNEL: tunnel deleted and recreated: healed within 1 s (took ${ms} ms)" le_1000 "$ms"
expect_ok "and relaying" relays
new=$(front ip -o link show "$TUN_FRONT" | cut -d: -f1)
expect_ok "the recreated tunnel has another ifindex ($old -> $new)" test "$old" != "$new"
expect_eq "status shows the new tunnel hooked" "$new" \
	"$(front "$RELAYBPF" status --json | jq -r 'select(.front.tunnel.prog_id > 0) | .front.tunnel.ifindex')"
# Replies of the outage itself went out of the default route: count anew.
reset_sink
case_tcp_relay

kill -TERM "$FRONT_PID" "$BACK_PID"
wait "$FRONT_PID" "$BACK_PID"
expect_eq "SIGTERM: the daemons detach" \
	"relaybpf: nothing attached in this network namespace
relaybpf: nothing attached in this network namespace" \
	"$(front "$RELAYBPF" status; back "$RELAYBPF" status)"
expect_eq "SIGTERM: the rule is gone" 0 "$(back ip rule show | grep -c fwmark)"
e2e_summary
