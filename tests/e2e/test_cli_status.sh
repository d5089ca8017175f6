#!/usr/bin/env bash
# status, stats and conntrack on a lab that relays real traffic: --json
# parses and holds the right facts, --prometheus is valid text format,
# filters select flows, --watch redraws a table with rates under tmux.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
TMUX_SESSION="${LAB_PREFIX}-cli"
cli_down() {
	tmux kill-session -t "$TMUX_SESSION" 2>/dev/null
	lab_down
}
trap cli_down EXIT
trap "exit 1" INT TERM

lab_up_or_die
lab_peer_server 8080
expect_ok "attach front and back" lab_attach
case_tcp_relay

# status: devices, program ids as bpftool shows them, config, conntrack fill.
st=$(front "$RELAYBPF" status --json)
expect_ok "front status --json parses" jq -e . <<<"$st"
expect_eq "status: public device" f0 "$(jq -r .front.public.dev <<<"$st")"
expect_eq "status: tunnel device" "$TUN_FRONT" "$(jq -r .front.tunnel.dev <<<"$st")"
expect_eq "status: backend" "$BACK_TUN" \
	"$(jq -r ".front.backend$([ "$LAB_FAMILY" = 6 ] && echo 6)" <<<"$st")"
expect_eq "status: public ips" "$FRONT_PUB" "$(jq -r '.front.public_ips|join(",")' <<<"$st")"
expect_eq "status: host keeps tcp:22" tcp:22 "$(jq -r '.front.exclude|join(",")' <<<"$st")"
id=$(jq -r .front.public.prog_id <<<"$st")
expect_match "status: public prog id is the one bpftool lists as relay_front_in" \
	"^$id: sched_cls +name relay_front_in" "$(bpftool prog show id "$id" 2>&1)"
id=$(jq -r .front.tunnel.prog_id <<<"$st")
expect_match "status: tunnel prog id is the tc filter's" "id $id" \
	"$(front tc filter show dev "$TUN_FRONT" ingress)"
expect_gt "status: conntrack has entries" 0 "$(jq -r .front.conntrack.entries <<<"$st")"
expect_eq "status: conntrack size" 65536 "$(jq -r .front.conntrack.max <<<"$st")"
expect_eq "status: front has no back" null "$(jq -r .back <<<"$st")"
st=$(back "$RELAYBPF" status --json)
expect_eq "back status: tunnel/mark/mask/table/rule" "$TUN_BACK 0x1 0xffffffff 100 true" \
	"$(jq -r --arg r "$([ "$LAB_FAMILY" = 6 ] && echo ipv6_)rule_present" \
		'.back.tunnels[0]|"\(.tunnel.dev) \(.mark) \(.mask) \(.table) \(.[$r])"' <<<"$st")"
expect_match "back status text names the rule" "fwmark 0x1/0xffffffff lookup 100 priority 9000 \(present\)" \
	"$(back "$RELAYBPF" status)"

# stats
js=$(front "$RELAYBPF" stats --json)
expect_ok "stats --json parses" jq -e . <<<"$js"
# GRO makes the packet count of the 1 MB upload vary; its bytes do not.
expect_gt "stats: forwarded bytes" 1000000 "$(jq -r .front.forwarded_bytes <<<"$js")"
expect_gt "stats: returned packets" 10 "$(jq -r .front.returned_packets <<<"$js")"
expect_gt "stats: back marked packets" 10 "$(back "$RELAYBPF" stats --json | jq -r .back.back_marked)"
prom=$(front "$RELAYBPF" stats --prometheus)
expect_eq "stats --prometheus: every line is a comment or 'name{labels} value'" "" \
	"$(grep -Ev '^# TYPE relaybpf_[a-z0-9_]+ (counter|gauge)$|^# HELP relaybpf_[a-z0-9_]+ .+$|^relaybpf_[a-z0-9_]+\{role="(front|back)"\} [0-9]+$|^relaybpf_(backend|service)_[a-z0-9_]+\{role="front",service="[a-z0-9_-]+"(,backend="[0-9a-f.:[]+\]?(:[0-9]+)?",family="ipv[46]")?(,direction="to_(backend|client)")?\} [0-9]+(\.[0-9]+)?$' <<<"$prom")"
expect_match "stats --prometheus: the front is up, not degraded" \
	'relaybpf_up\{role="front"\} 1.*relaybpf_degraded\{role="front"\} 0' "$(tr '\n' ' ' <<<"$prom")"
expect_match "stats --prometheus: forwarded packets" \
	"relaybpf_forwarded_packets_total\{role=\"front\"\} [1-9]" "$prom"

# conntrack
ct=$(front "$RELAYBPF" conntrack --json)
expect_ok "conntrack --json parses" jq -e . <<<"$ct"
expect_eq "conntrack: the client's TCP flows to 8080 through the backend" \
	"tcp $CLIENT_IP $FRONT_PUB 8080 $BACK_TUN" \
	"$(jq -r '.[0]|"\(.proto) \(.client) \(.public) \(.port) \(.backend)"' <<<"$ct")"
expect_gt "conntrack: packets counted both ways" 0 "$(jq -r '.[0].packets[1]' <<<"$ct")"
expect_eq "conntrack --proto udp: no flow" 0 "$(front "$RELAYBPF" conntrack --json --proto udp | jq length)"
expect_eq "conntrack --addr other: no flow" 0 \
	"$(front "$RELAYBPF" conntrack --json --addr "${CLIENT_IP%[.:]*}$([ "$LAB_FAMILY" = 6 ] && echo : || echo .)99" | jq length)"
expect_eq "conntrack --addr client: every flow" "$(jq length <<<"$ct")" \
	"$(front "$RELAYBPF" conntrack --json --addr "$CLIENT_IP" --proto tcp | jq length)"
expect_match "conntrack text looks like conntrack -L" \
	"^tcp +[A-Z_]+ +src=$CLIENT_IP dst=$FRONT_PUB sport=[0-9]+ dport=8080 packets=[0-9]+ bytes=[0-9]+ src=$BACK_TUN dst=$CLIENT_IP sport=8080" \
	"$(front "$RELAYBPF" conntrack 2>/dev/null | head -1)"

# status tells the truth: 0 while every piece is in place; a piece taken
# away behind relaybpf's back makes it exit 1 and name it; 3 when nothing
# is attached.
status_rc() { "$1" "$RELAYBPF" status >/dev/null 2>&1; echo $?; }
expect_eq "status: healthy front and back exit 0" "0 0" "$(status_rc front) $(status_rc back)"
expect_eq "status --json: healthy, no problems" "true 0" \
	"$(back "$RELAYBPF" status --json | jq -r '"\(.healthy) \(.problems|length)"')"
# A tunnel bounced: the kernel deletes the table's route (and IPv6 addresses).
back ip link set "$TUN_BACK" down
front ip link set "$TUN_FRONT" down
lab_tunnel_addrs 2>/dev/null
out=$(back "$RELAYBPF" status)
expect_eq "status: tunnel bounced: the back is degraded (exit 1)" 1 "$(status_rc back)"
expect_match "status: ... it names the missing route" \
	"PROBLEM +IPv$LAB_FAMILY table 100 has no default route into the tunnel $TUN_BACK" "$out"
expect_match "status: ... the route line says MISSING" "default route into the tunnel \(MISSING\)" "$out"
expect_match "status: ... it says how to repair" "relaybpf daemon .* repairs such drift" "$out"
st=$(back "$RELAYBPF" status --json)
expect_eq "status --json: healthy false, the problem listed" "false true" \
	"$(jq -r '"\(.healthy) \(any(.problems[]; test("table 100 has no default route")))"' <<<"$st")"
expect_match "stats --prometheus: the back is degraded" 'relaybpf_degraded\{role="back"\} 1' \
	"$(back "$RELAYBPF" stats --prometheus)"
expect_ok "attach again repairs it" back "$RELAYBPF" attach --role back --dev "$TUN_BACK" \
	--front "$FRONT_TUN"
expect_eq "status: repaired: exit 0" 0 "$(status_rc back)"
# Another tool deletes the front's filter, or resets a sysctl on the back.
front tc filter del dev f0 ingress
expect_match "status: the front's missing filter is named" \
	"PROBLEM +public device f0: relaybpf's tc ingress filter is missing" "$(front "$RELAYBPF" status)"
expect_eq "status: ... exit 1" 1 "$(status_rc front)"
back sysctl -qw net.ipv4.fwmark_reflect=0
expect_match "status: the reset sysctl is named" \
	"PROBLEM +sysctl net/ipv4/fwmark_reflect is 0, relaybpf set it to 1" "$(back "$RELAYBPF" status)"
expect_ok "attach again repairs both" lab_attach
expect_eq "status: repaired: exit 0 for both" "0 0" "$(status_rc front) $(status_rc back)"

# --watch: a table redrawn in place, with rates, read back from tmux (a
# screen tall enough for one line per counter).
tmux new-session -d -s "$TMUX_SESSION" -x 120 -y 80 \
	"nsenter --net=/run/netns/$NS_FRONT $RELAYBPF stats --watch 1"
client ping -q -i 0.05 -c 60 "$FRONT_PUB" >/dev/null 2>&1 &
ping_pid=$!
sleep 2.5
screen=$(tmux capture-pane -p -t "$TMUX_SESSION")
wait "$ping_pid"
expect_match "--watch under tmux: a header" "relaybpf stats, every 1s" "$screen"
expect_match "--watch under tmux: a total and a rate column" \
	"forwarded_packets +[0-9]+ +[0-9]+\.[0-9]" "$screen"
expect_eq "--watch under tmux: drawn once on the screen (redrawn in place)" 1 \
	"$(grep -c 'relaybpf stats, every' <<<"$screen")"
expect_ok "detach both" sh -c "nsenter --net=/run/netns/$NS_FRONT $RELAYBPF detach >/dev/null && nsenter --net=/run/netns/$NS_BACK $RELAYBPF detach >/dev/null"
expect_eq "status: nothing attached exits 3" "3 3" "$(status_rc front) $(status_rc back)"
e2e_summary
