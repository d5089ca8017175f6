#!/usr/bin/env bash
# Bad input: every case exits 2 (usage) or 1 (failure) with a message on
# stderr that names the problem, and leaves nothing attached.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT
trap "exit 1" INT TERM

lab_up_or_die
# A second tunnel-like device that is down.
front ip link add rbxdown type veth peer name rbxpeer
CONF="$LAB_DIR/bad.conf"
printf 'role = front\ndev = f0\n\n# typo on line 5\nbakend = 10.22.22.1\n' >"$CONF"
F=(attach --role front --dev f0 --backend "$BACK_TUN")
B=(attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN")

# namespace|expected exit|stderr regex|arguments (one per line, tab-separated)
while IFS=$'\t' read -r ns rc re args; do
	[ -z "$ns" ] && continue
	eval "set -- $args"
	err=$(in_ns "$ns" "$RELAYBPF" "$@" 2>&1 >/dev/null)
	got=$?
	expect_eq "exit $rc: relaybpf $args" "$rc" "$got"
	expect_match "  says: $re" "$re" "$err"
done <<EOF2
$NS_FRONT	2	Usage: relaybpf	
$NS_FRONT	2	unknown command 'atach'	atach
$NS_FRONT	2	attach needs --role	attach --dev f0
$NS_FRONT	2	--role: 'side': expected front or back	attach --role side
$NS_FRONT	2	needs --backend	attach --role front --dev f0
$NS_BACK	2	needs --front	attach --role back --dev $TUN_BACK
$NS_BACK	2	needs --dev	attach --role back --front $FRONT_TUN
$NS_FRONT	2	--backend: '10.22.22': not an IPv4 or IPv6 address	${F[*]} --backend 10.22.22
$NS_FRONT	2	--public-ip: '203.0.113.300': not an IPv4 or IPv6 address	${F[*]} --public-ip 203.0.113.300
$NS_FRONT	2	--backend api=10.22.22.1: no --service api	${F[*]} --backend api=10.22.22.1
$NS_FRONT	2	--service web and --service api both claim tcp:80	${F[*]} --service web=tcp:80-90 --service api=tcp:80,hash=src
$NS_FRONT	2	--backend: 'weight=300': expected weight=0-256 or backup	${F[*]} --service web=tcp:80 --backend web=10.22.22.1,weight=300
$NS_FRONT	1	--public-ip 2001:db8:1::1 is IPv6 but there is no IPv6 --backend	attach --role front --dev f0 --backend 10.22.22.1 --public-ip 203.0.113.1,2001:db8:1::1
$NS_FRONT	2	--exclude: 'tcp:70000': port out of range	${F[*]} --exclude tcp:70000
$NS_FRONT	2	--ports: 'sctp:80': only tcp and udp have ports	${F[*]} --ports sctp:80
$NS_FRONT	2	--exclude and --ports overlap	${F[*]} --exclude tcp:80-90 --ports tcp:85
$NS_FRONT	2	--mss: '100': expected auto, off or 536-65535	${F[*]} --mss 100
$NS_FRONT	2	--ct-max: '16': expected $(ct_max_min) \(256 per CPU\) to 67108864	${F[*]} --ct-max 16
$NS_FRONT	2	--mark does not apply to --role front	${F[*]} --mark 0x2
$NS_BACK	2	--mark: '0': the mark must set at least one bit	${B[*]} --mark 0
$NS_BACK	2	--mark: '0x101/0xff': the mark has bits outside the mask	${B[*]} --mark 0x101/0xff
$NS_BACK	2	--table: '255': expected a table id	${B[*]} --table 255
$NS_BACK	2	--front: 'nonsense': not an IPv4 or IPv6 address	${B[*]} --front nonsense
$NS_BACK	2	--front: '10.22.22.6': a second IPv4 address \(one per family\)	attach --role back --dev $TUN_BACK --front $FRONT_TUN4,10.22.22.6
$NS_BACK	2	--front: '2001:db8:22::6': a second IPv6 address	attach --role back --dev $TUN_BACK --front $FRONT_TUN6 --front 2001:db8:22::6
$NS_BACK	2	--front: '::': not an IPv4 or IPv6 address	attach --role back --dev $TUN_BACK --front ::
$NS_FRONT	2	stats does not take --backend	stats --backend 10.22.22.1
$NS_FRONT	2	unexpected argument 'now'	detach now
$NS_FRONT	2	$CONF:5: unknown key 'bakend'	-c $CONF attach
$NS_FRONT	2	/nonexistent.conf: No such file	attach -c /nonexistent.conf
$NS_FRONT	1	--dev: no such device 'nosuch0'	attach --role front --dev nosuch0 --backend $BACK_TUN
$NS_FRONT	1	--tunnel-dev: no such device 'nosuch1'	${F[*]} --tunnel-dev nosuch1
$NS_FRONT	1	tunnel device rbxdown is down	${F[*]} --tunnel-dev rbxdown
$NS_FRONT	1	--backend 192.0.2.77: no route to it	attach --role front --dev f0 --backend 192.0.2.77
$NS_BACK	1	--dev: no such device 'nosuch2'	attach --role back --dev nosuch2 --front $FRONT_TUN
EOF2

expect_eq "no bad input left anything attached" \
	"relaybpf: nothing attached in this network namespace
relaybpf: nothing attached in this network namespace" \
	"$(front "$RELAYBPF" status; back "$RELAYBPF" status)"

err=$(front setpriv --reuid=65534 --regid=65534 --clear-groups "$RELAYBPF" "${F[@]}" 2>&1)
expect_eq "not root: exit 1" 1 $?
expect_match "not root: says so" "needs root" "$err"
out=$(front "$RELAYBPF" attach --help)
expect_eq "attach --help exits 0" 0 $?
for opt in role dev backend tunnel-dev public-ip exclude ports mss ct-max front mark table config help; do
	expect_match "attach --help lists --$opt" "--$opt" "$out"
done
expect_match "stats --help lists --prometheus and --watch" "--prometheus.*--watch" \
	"$(front "$RELAYBPF" stats --help | tr '\n' ' ')"
expect_match "conntrack --help lists its filters" "--proto.*--addr" \
	"$(front "$RELAYBPF" conntrack --help | tr '\n' ' ')"
e2e_summary
