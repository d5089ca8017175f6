#!/usr/bin/env bash
# `relaybpf daemon` heals tunnel restarts: the front and the back each run
# a daemon; the tunnel device is taken down and up (the kernel deletes the
# back table's default route) and deleted and recreated (new ifindex, the
# TC filters gone): the client is relayed again within a second each time.
# SIGTERM stops a daemon, not the relay (a restart keeps the flows; the
# restart itself: test_rel_faults.sh); `detach` then removes everything:
# rule, routes, sysctls, filters, pins.
# Runs once per tunnel type (wg, veth), each in its own lab.
set -u
if [ -z "${LAB_TUNNEL:-}" ]; then
	# A run that died before its summary counts as a failure.
	for t in wg veth; do
		LAB_TUNNEL=$t bash "$0"
	done | awk '/^RESULT /{p += $2; f += $3; n++; next} {print}
		END {f += 2 - n; print "RESULT", p, f; exit f > 0}'
	exit
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
trap lab_down EXIT

# Longest time a heal may take (ms), the issue's "within a second".
HEAL_MAX_MS=1000

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# One short TCP exchange through the relay.
relayed() {
	[ "$(client socat -T1 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=0.05" </dev/null 2>/dev/null)" \
		= "backend saw $CLIENT_IP 0" ]
}

# heal NAME T0: milliseconds from T0 until the client is relayed again (up
# to 5 s), asserted under HEAL_MAX_MS.
heal() {
	local name=$1 t0=$2 t
	while ! relayed; do
		if [ $(($(now_ms) - t0)) -gt 5000 ]; then
			fail "$LAB_TUNNEL: $name: not relayed again after 5 s"
			return
		fi
		sleep 0.01
	done
	t=$(($(now_ms) - t0))
	echo "  heal time $LAB_TUNNEL, $name: $t ms"
	if [ "$t" -lt "$HEAL_MAX_MS" ]; then
		pass "$LAB_TUNNEL: $name: relayed again within $HEAL_MAX_MS ms ($t ms)"
	else
		fail "$LAB_TUNNEL: $name: relayed again after $t ms, over $HEAL_MAX_MS"
	fi
}

# What the back's daemon puts back: the table's route and one fwmark rule.
# Since the back sends marked replies itself when the table's route is gone
# (relay_back_out), relaying comes back before the daemon repairs; these wait
# for the repair, as long as the heal itself may take.
back_route_is_back() {
	back ip -"$LAB_FAMILY" route show table 100 | grep -q "^default .*dev $TUN_BACK"
}
back_rule_is_back() {
	[ "$(back ip -"$LAB_FAMILY" rule show | grep -c 'fwmark 0x1 lookup 100')" = 1 ]
}
repaired() { # what test...
	local what=$1 t0
	shift
	t0=$(now_ms)
	until "$@"; do
		if [ $(($(now_ms) - t0)) -gt "$HEAL_MAX_MS" ]; then
			fail "$LAB_TUNNEL: $what within $HEAL_MAX_MS ms (table 100: $(back ip -"$LAB_FAMILY" route show table 100 | tr '\n' ' ')rules: $(back ip -"$LAB_FAMILY" rule show | grep -c 'lookup 100'))"
			return
		fi
		sleep 0.02
	done
	pass "$LAB_TUNNEL: $what within $HEAL_MAX_MS ms"
}

# A namespace's relaybpf state directory (bpffs, named by the netns cookie).
state_dir() {
	"$1" python3 -c 'import socket
s = socket.socket()
print("/sys/fs/bpf/relaybpf/netns-%d" % int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'
}

# wireguard-go for the tunnel device NAME in NS again, with the lab's keys
# (lab_wg_pair names them after the first devices: KEY, PEER-KEY).
wg_recreate() { # ns dev addr4 addr6 key peer-key endpoint allowed
	lab_spawn "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2"
	lab_wait_for "wireguard-go $2" test -S "/var/run/wireguard/$2.sock"
	in_ns "$1" wg set "$2" private-key "$LAB_DIR/$5.key" listen-port 51820 \
		peer "$(wg pubkey <"$LAB_DIR/$6.key")" endpoint "$7:51820" allowed-ips "$8"
	in_ns "$1" ip addr add "$3/30" dev "$2"
	in_ns "$1" ip addr add "$4/64" dev "$2" nodad
}

# Stops the wireguard-go of a tunnel device (it removes the device).
wg_stop() { # pid dev
	kill "$1"
	wait "$1" 2>/dev/null
	lab_wait_for "$2 to go" sh -c "! test -S /var/run/wireguard/$2.sock"
}

lab_up_or_die
lab_peer_server 8080
before_back=$(lab_back_snapshot)
back_dir=$(state_dir back)
front_dir=$(state_dir front)

# Bad input: the daemon says so and exits like attach, leaving nothing.
back "$RELAYBPF" daemon --dev "$TUN_BACK" --front "$FRONT_TUN" 2>/dev/null
expect_eq "$LAB_TUNNEL: daemon without --role: usage error" 2 "$?"
back "$RELAYBPF" daemon --role back --dev nosuch0 --front "$FRONT_TUN" 2>/dev/null
expect_eq "$LAB_TUNNEL: daemon on a missing device: failure" 1 "$?"
expect_ok "$LAB_TUNNEL: daemon on a missing device: no state left" test ! -e "$back_dir"

lab_spawn "$NS_FRONT" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN"
front_pid=${LAB_PIDS[-1]}
lab_spawn "$NS_BACK" "$RELAYBPF" daemon --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
back_pid=${LAB_PIDS[-1]}
expect_ok "$LAB_TUNNEL: both daemons attached" lab_wait_for "the daemons" \
	sh -c "[ \$(grep -c 'relaybpf daemon: watching' '$LAB_DIR/spawned.log') = 2 ]"
expect_ok "$LAB_TUNNEL: relayed under the daemons" relayed
expect_eq "$LAB_TUNNEL: one fwmark rule" 1 "$(back ip -"$LAB_FAMILY" rule show | grep -c 'fwmark.*lookup 10')"

# What the daemons do not use leaves them alone: another device going down
# and up, another table's route, another rule.
back ip link add "rbd$LAB_ID" type veth peer name "rbe$LAB_ID"
back ip link set "rbd$LAB_ID" up
back ip route add 192.0.2.128/25 dev "rbd$LAB_ID" table 200
back ip rule add fwmark 0x77 lookup 200 priority 9001
back ip route del 192.0.2.128/25 dev "rbd$LAB_ID" table 200
back ip link set "rbd$LAB_ID" down
back ip rule del fwmark 0x77 lookup 200 priority 9001
back ip link del "rbd$LAB_ID"
sleep 0.3
expect_eq "$LAB_TUNNEL: no repair for devices, routes and rules the daemons do not use" "" \
	"$(grep 'relaybpf daemon: [^w]' "$LAB_DIR/spawned.log")"

# Down and up: the back's table route goes with the down.
back ip link set "$TUN_BACK" down
expect_eq "$LAB_TUNNEL: the kernel deleted the table's route" "" \
	"$(back ip -"$LAB_FAMILY" route show table 100)"
sleep 0.3
t0=$(now_ms)
back ip link set "$TUN_BACK" up
heal "back tunnel down/up" "$t0"
repaired "the table's route is back" back_route_is_back

front ip link set "$TUN_FRONT" down
sleep 0.3
t0=$(now_ms)
front ip link set "$TUN_FRONT" up
heal "front tunnel down/up" "$t0"

# Someone flushes the table or deletes the rule: the daemon puts them back.
t0=$(now_ms)
back ip route flush table 100
heal "table 100 flushed" "$t0"
repaired "the table's route is back after the flush" back_route_is_back
t0=$(now_ms)
back ip -"$LAB_FAMILY" rule del fwmark 0x1 lookup 100
heal "IPv$LAB_FAMILY fwmark rule deleted" "$t0"
repaired "the rule is back" back_rule_is_back

# Deleted and recreated: a new ifindex, no filter on it until the daemons act.
front_tundev=$TUN_FRONT
old_back_idx=$(back ip -o link show "$TUN_BACK" | cut -d: -f1)
if [ "$LAB_TUNNEL" = wg ]; then
	wg_stop "${LAB_PIDS[1]}" "$TUN_BACK"
	wg_recreate "$NS_BACK" "$TUN_BACK" "$BACK_TUN4" "$BACK_TUN6" "$TUN_BACK" "$TUN_FRONT" \
		"$FRONT_UNDER" 0.0.0.0/0,::/0
	back_wg_pid=${LAB_PIDS[-1]}
	t0=$(now_ms)
	back ip link set "$TUN_BACK" up
	heal "back tunnel recreated" "$t0"
	# Under another name (tun0 coming back as tun1): the front daemon,
	# without --tunnel-dev, finds it by the route to the backend.
	wg_stop "${LAB_PIDS[0]}" "$TUN_FRONT"
	front_tundev=rbn$LAB_ID
	wg_recreate "$NS_FRONT" "$front_tundev" "$FRONT_TUN4" "$FRONT_TUN6" "$TUN_FRONT" \
		"$TUN_BACK" "$BACK_UNDER" "$BACK_TUN4/32,$BACK_TUN6/128"
	t0=$(now_ms)
	front ip link set "$front_tundev" up
	heal "front tunnel recreated as $front_tundev" "$t0"
else
	# Deleting one end of a veth deletes the pair: both daemons repair.
	# The new pair through veth_pair: ends of equal ifindexes (each
	# namespace gives its lowest free one) can stay NO-CARRIER up to 1 s
	# (lib.sh), which a CI run measured as a 1315 ms heal.
	back ip link del "$TUN_BACK"
	t0=$(now_ms)
	veth_pair "$NS_FRONT" "$TUN_FRONT" "$FRONT_TUN4/30" "$NS_BACK" "$TUN_BACK" "$BACK_TUN4/30" \
		"$FRONT_TUN6/64" "$BACK_TUN6/64"
	heal "veth pair recreated" "$t0"
fi
new_back_idx=$(back ip -o link show "$TUN_BACK" | cut -d: -f1)
expect_ok "$LAB_TUNNEL: the back's tunnel has a new ifindex ($old_back_idx -> $new_back_idx)" \
	test "$old_back_idx" != "$new_back_idx"
expect_eq "$LAB_TUNNEL: still one fwmark rule, mark 0x1 table 100" \
	"9000:	from all fwmark 0x1 lookup 100" "$(back ip -"$LAB_FAMILY" rule show | grep 'fwmark.*lookup 10')"
expect_match "$LAB_TUNNEL: filter on the new front tunnel" "relay_front_rev" \
	"$(front tc filter show dev "$front_tundev" ingress)"
expect_match "$LAB_TUNNEL: the daemons logged their repairs" "attached again [0-9]+ ms later" \
	"$(grep 'relaybpf daemon' "$LAB_DIR/spawned.log")"
# Until the daemon has put the table's route back, marked replies fall
# through to the main table: what the probes sent in that window may leak.
# Once healed, nothing does. The probes' connections from those windows
# may still send a packet or two by the route they cached (retransmits,
# closes): the count is taken once it has stopped moving. A SYN that came
# in while the back's new tunnel device had no filter yet was not marked:
# its SYN-ACK and that SYN-ACK's retransmits (1, 3, 7 s later) leave by the
# default route and never reach the client that gave up on it. Those
# half-open connections belong to the windows: dropped before the count.
back ss -K -t state syn-recv >/dev/null
leaks=$(lab_sink_leaks)
for _ in 1 2 3 4 5 6; do
	sleep 0.5
	[ "$(lab_sink_leaks)" = "$leaks" ] && break
	leaks=$(lab_sink_leaks)
done
echo "  replies leaked during the heal windows: $leaks"
expect_eq "$LAB_TUNNEL: healed: 1 MB upload relayed whole" "backend saw $CLIENT_IP 1000000" \
	"$(head -c 1000000 /dev/urandom | client socat -T5 -t5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3")"
expect_eq "$LAB_TUNNEL: healed: nothing more leaked out of the backend's default route" "$leaks" \
	"$(lab_sink_leaks)"

# The public device renumbered (DHCP): the public addresses follow it.
public_ips() { front "$RELAYBPF" status --json | jq -r '.front.public_ips|join(",")'; }
relayed_to() {
	[ "$(client socat -T1 - "TCP:$(hp "$1" 8080),connect-timeout=0.5" </dev/null 2>/dev/null)" \
		= "backend saw $CLIENT_IP 0" ]
}
if [ "$LAB_FAMILY" = 6 ]; then new_pub=2001:db8:1::7 plen=64; else new_pub=203.0.113.7 plen=24; fi
# The new address comes first: the old one's removal keeps it (IPv4 removes
# the secondaries of a deleted primary address otherwise).
front sysctl -qw net.ipv4.conf.f0.promote_secondaries=1
front ip addr add "$new_pub/$plen" dev f0 nodad 2>/dev/null || front ip addr add "$new_pub/$plen" dev f0
front ip addr del "$FRONT_PUB/$plen" dev f0
expect_ok "$LAB_TUNNEL: renumbered: the public address map follows" \
	lab_wait_for "the new public address" sh -c "[ \"\$(nsenter --net=/run/netns/$NS_FRONT $RELAYBPF status --json | jq -r '.front.public_ips|join(\",\")')\" = $new_pub ]"
expect_ok "$LAB_TUNNEL: renumbered: the new address is relayed" lab_wait_for "relaying to $new_pub" \
	relayed_to "$new_pub"
front ip addr add "$FRONT_PUB/$plen" dev f0 nodad 2>/dev/null || front ip addr add "$FRONT_PUB/$plen" dev f0
front ip addr del "$new_pub/$plen" dev f0
expect_ok "$LAB_TUNNEL: numbered back: the first address again" \
	lab_wait_for "the first public address" sh -c "[ \"\$(nsenter --net=/run/netns/$NS_FRONT $RELAYBPF status --json | jq -r '.front.public_ips|join(\",\")')\" = $FRONT_PUB ]"
expect_ok "$LAB_TUNNEL: numbered back: relayed" lab_wait_for "relaying" relayed

# The back's default route moves to another device: relay_back_out (the
# UDP replies' fix-up) follows it there.
back ip link add "rbu$LAB_ID" type veth peer name "rbv$LAB_ID"
back ip link set "rbu$LAB_ID" up
back ip link set "rbv$LAB_ID" up
old_default=$(back ip -"$LAB_FAMILY" route show default)
# shellcheck disable=SC2086 # the route's words
back ip -"$LAB_FAMILY" route replace default dev "rbu$LAB_ID"
expect_ok "$LAB_TUNNEL: default route moved: relay_back_out on the new device" \
	lab_wait_for "relay_back_out on rbu$LAB_ID" sh -c \
	"nsenter --net=/run/netns/$NS_BACK tc filter show dev rbu$LAB_ID egress | grep -q relay_back_out"
expect_ok "$LAB_TUNNEL: default route moved: status healthy" back "$RELAYBPF" status
# shellcheck disable=SC2086 # the route's words
back ip -"$LAB_FAMILY" route replace $old_default
back ip link del "rbu$LAB_ID"
expect_ok "$LAB_TUNNEL: default route back: status healthy" \
	lab_wait_for "a healthy back" back "$RELAYBPF" status

# SIGTERM: each daemon exits 0 and leaves the relay attached; detach
# removes it.
kill -TERM "$back_pid" "$front_pid"
wait "$back_pid"
expect_eq "$LAB_TUNNEL: back daemon exits 0 on SIGTERM" 0 "$?"
wait "$front_pid"
expect_eq "$LAB_TUNNEL: front daemon exits 0 on SIGTERM" 0 "$?"
expect_ok "$LAB_TUNNEL: daemons stopped: still relayed" relayed
expect_ok "$LAB_TUNNEL: front detach" front "$RELAYBPF" detach
expect_ok "$LAB_TUNNEL: back detach" back "$RELAYBPF" detach
expect_eq "$LAB_TUNNEL: back: rules, routes, sysctls and filters as before" "$before_back" \
	"$(lab_back_snapshot)"
expect_eq "$LAB_TUNNEL: front: no relaybpf filter left" "" \
	"$(front tc filter show dev f0 ingress; front tc filter show dev "$front_tundev" ingress)"
expect_ok "$LAB_TUNNEL: no pins left on the back" test ! -e "$back_dir"
expect_ok "$LAB_TUNNEL: no pins left on the front" test ! -e "$front_dir"
# A backend with a second front (a veth tunnel attached by hand): the
# daemon's tunnel deleted, the daemon takes away only that tunnel's record.
lab_front2_up
expect_ok "$LAB_TUNNEL: second tunnel attached by hand" \
	back "$RELAYBPF" attach --role back --dev "$TUN2_BACK" --front "$FRONT2_TUN"
lab_spawn "$NS_BACK" "$RELAYBPF" daemon --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
back_pid=${LAB_PIDS[-1]}
expect_ok "$LAB_TUNNEL: back daemon attached next to it" lab_wait_for "the back daemon" \
	sh -c "[ \$(grep -c 'relaybpf daemon: watching $TUN_BACK' '$LAB_DIR/spawned.log') = 2 ]"
expect_eq "$LAB_TUNNEL: the daemon's tunnel has the next mark and table" \
	"$(printf '9000:\tfrom all fwmark 0x1 lookup 100\n9000:\tfrom all fwmark 0x2 lookup 101')" \
	"$(back ip -"$LAB_FAMILY" rule show | grep 'fwmark.*lookup 10' | sort)"
if [ "$LAB_TUNNEL" = wg ]; then
	wg_stop "$back_wg_pid" "$TUN_BACK"
else
	back ip link del "$TUN_BACK"
fi
sleep 0.3
kill -TERM "$back_pid"
wait "$back_pid"
expect_eq "$LAB_TUNNEL: tunnel gone: back daemon exits 0 on SIGTERM" 0 "$?"
expect_eq "$LAB_TUNNEL: tunnel gone: the second tunnel's rule alone is left" \
	"9000:	from all fwmark 0x1 lookup 100" "$(back ip -"$LAB_FAMILY" rule show | grep 'fwmark.*lookup 10')"
expect_match "$LAB_TUNNEL: tunnel gone: the second tunnel's filter stays" relay_back_in \
	"$(back tc filter show dev "$TUN2_BACK" ingress)"
expect_ok "$LAB_TUNNEL: detach of the second tunnel" back "$RELAYBPF" detach --role back
expect_eq "$LAB_TUNNEL: tunnel gone: rules, routes and sysctls as before" \
	"$(echo "$before_back" | grep -v "$TUN_BACK")" \
	"$(lab_back_snapshot 2>/dev/null | grep -v "$TUN_BACK\|$TUN2_BACK")"
expect_ok "$LAB_TUNNEL: tunnel gone: no pins left on the back" test ! -e "$back_dir"

echo "  daemon logs:"
grep 'relaybpf' "$LAB_DIR/spawned.log" | sed 's/^/    /'
e2e_summary
