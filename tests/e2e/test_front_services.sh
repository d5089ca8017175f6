#!/usr/bin/env bash
# Services and backends (docs/services.md) over a real WireGuard tunnel
# whose front end has two peers, two backends in two namespaces:
#
#   client --- front $TUN_FRONT ==== back  $TUN_BACK  A: $BACK_TUN
#                             \\==== back2 $TUN_BACK2 B: $B_TUN
#
# A service spread over both by weight (each sees the client's address;
# 1000 UDP flows split within 10% of 1:3), a port-translated range, hash=src
# keeping one client on one backend, a backend added while a long-lived TCP
# flow goes on, drained (weight 0: its flow goes on, new flows go
# elsewhere) and removed (its flows move).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/services_lib.sh"

svc_lab_up

# Every attach gives the whole set; WEB is web's backends.
SVC=(--service web=udp:7000 --service sticky=udp:7100,hash=src
	--service game=udp:27000-27009 --service long=tcp:7200,udp:7200
	--backend "sticky=$BACK_TUN" --backend "sticky=$B_TUN" --backend "game=$A_PORTED:37000")
WEB=(--backend "web=$BACK_TUN,weight=1" --backend "web=$B_TUN,weight=3")
expect_ok "$FAM: attach the front with four services" attach_front "${SVC[@]}" "${WEB[@]}" \
	--backend "long=$BACK_TUN"

# Weights 1:3 over 1000 flows, each with the client's own address.
out=$(flows 7000 1000 10000)
a=$(count A "$out")
b=$(count B "$out")
expect_eq "$FAM: 1000 flows answered, each backend saw the client's address ($out)" "1000" \
	"$((a + b))"
expect_ok "$FAM: B has 3/4 of the flows within 10% (675-825): $b" test "$b" -ge 675 -a "$b" -le 825
expect_ok "$FAM: A has 1/4 of the flows within 10% (175-325): $a" test "$a" -ge 175 -a "$a" -le 325
# The counters agree with what the client saw: per backend, per service.
st=$(front "$RELAYBPF" stats --json)
expect_eq "$FAM: stats: web's new flows and current flows" "1000 1000" \
	"$(jq -r '.front.services.web | "\(.new_flows) \(.flows)"' <<<"$st")"
expect_eq "$FAM: stats: new flows of A and B as the client counted" "$a $b" \
	"$(jq -r --arg a "$BACK_TUN" --arg b "$B_TUN" \
		'.front.services.web.backends | "\(.[$a].new_flows) \(.[$b].new_flows)"' <<<"$st")"
expect_match "$FAM: prometheus: B's new flows labelled with service and backend" \
	"^relaybpf_backend_new_flows_total\\{role=\"front\",service=\"web\",backend=\"$B_TUN\",family=\"ipv$LAB_FAMILY\"\\} $b\$" \
	"$(front "$RELAYBPF" stats --prometheus | grep '^relaybpf_backend_new_flows_total.*web')"
st=$(front "$RELAYBPF" status --json)
expect_eq "$FAM: status: web's backends, weights, states" "$BACK_TUN 1 up,$B_TUN 3 up" \
	"$(jq -r '[.front.services[] | select(.name == "web") | .backends[] |
		"\(.address) \(.weight) \(.state)"] | join(",")' <<<"$st")"
expect_eq "$FAM: status: game's ports" "udp:27000-27009" \
	"$(jq -r '.front.services[] | select(.name == "game") | .ports' <<<"$st")"

# The translated range: 27000+N reaches A on 37000+N, and the answer comes
# back from 27000+N (the client's connected socket takes nothing else).
for p in 27000 27005 27009; do
	expect_eq "$FAM: udp:$p reaches A's $((p + 10000)) and comes back from $p" \
		"A $((p + 10000)) $CLIENT_IP" "$(ask "$p" 30000)"
done
expect_eq "$FAM: conntrack shows the flow's backend and its port" "$BACK_TUN 37005" \
	"$(front "$RELAYBPF" conntrack --json | jq -r '.[] | select(.port == 27005) |
		"\(.backend) \(.backend_port)"')"

# hash=src: every flow of one client on one backend.
out=$(flows 7100 100)
expect_match "$FAM: hash=src keeps the client's 100 flows on one backend ($out)" '^(A=100|B=100)$' "$out"

# A long-lived TCP flow on A while B joins the service: it stays on A; new
# flows go to both.
long_flow
lab_wait_for "the long-lived flow" test -s "$LAB_DIR/long.log"
expect_ok "$FAM: add B to the service long" attach_front "${SVC[@]}" "${WEB[@]}" --backend "long=$BACK_TUN" \
	--backend "long=$B_TUN"
n=$(long_lines)
sleep 1
# Source ports of their own: a flow from an earlier round keeps its backend.
out=$(flows 7200 200 20000)
expect_ok "$FAM: after adding B new flows reach both ($out)" \
	test "$(count A "$out")" -gt 50 -a "$(count B "$out")" -gt 50
expect_gt "$FAM: the long-lived flow goes on after B joined" "$((n + 5))" "$(long_lines)"
expect_eq "$FAM: ... on A, without a break" "A" "$(sort -u "$LAB_DIR/long.log" | tr '\n' ' ' | sed 's/ $//')"

# Draining A (weight 0): its flow goes on, new flows all go to B.
expect_ok "$FAM: drain A" attach_front "${SVC[@]}" "${WEB[@]}" --backend "long=$BACK_TUN,weight=0" \
	--backend "long=$B_TUN"
n=$(long_lines)
sleep 1
out=$(flows 7200 200 21000)
expect_eq "$FAM: A drained: every new flow goes to B" "B=200" "$out"
expect_eq "$FAM: status: A drained in long" "0 drained" \
	"$(front "$RELAYBPF" status --json | jq -r --arg a "$BACK_TUN" '.front.services[] |
		select(.name == "long") | .backends[] | select(.address == $a) | "\(.weight) \(.state)"')"
expect_gt "$FAM: the drained backend's flow goes on" "$((n + 5))" "$(long_lines)"
expect_eq "$FAM: ... on A, without a break" "A" "$(sort -u "$LAB_DIR/long.log" | tr '\n' ' ' | sed 's/ $//')"

# Removing A from web: a flow that was on A moves to B.
src=
for p in $(seq 41000 41050); do
	case $(ask 7000 "$p") in A\ *) src=$p; break ;; esac
done
expect_ok "$FAM: a source port whose flow is on A" test -n "$src"
expect_ok "$FAM: remove A from web" attach_front "${SVC[@]}" --backend "web=$B_TUN,weight=3" \
	--backend "long=$B_TUN"
expect_eq "$FAM: A's flow moved to B" "B 7000 $CLIENT_IP" "$(ask 7000 "${src:-41000}")"
out=$(flows 7000 100 22000)
expect_eq "$FAM: new flows all go to B" "B=100" "$out"

# A backend behind another device than the tunnel: refused, naming both,
# and the services in force stay.
err=$(attach_front "${SVC[@]}" --backend "web=$B_TUN" --backend "web=198.51.100.6" 2>&1 >/dev/null)
expect_eq "$FAM: a backend outside the tunnel is refused (exit 1)" 1 "$?"
expect_match "$FAM: ... naming the backend and its device" \
	"--backend web=198.51.100.6 is routed through f2, not the tunnel device $TUN_FRONT" "$err"
expect_eq "$FAM: ... and the services in force stay" "B 7000 $CLIENT_IP" "$(ask 7000 "${src:-41000}")"
expect_eq "$FAM: nothing leaked out of A's default route" 0 "$(lab_sink_leaks)"
e2e_summary
