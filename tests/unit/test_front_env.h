/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The front under test, shared by the test_front_*.c suites: both programs
 * loaded with shared maps, one public address, one backend. */
#ifndef RELAY_TEST_FRONT_ENV_H
#define RELAY_TEST_FRONT_ENV_H

#include <stdbool.h>
#include "front.h"
#include "packet.h"

#define CLIENT "203.0.113.10"
#define PUBLIC "203.0.113.1"
#define BACKEND "10.22.22.1"
#define OTHER "198.51.100.7"
/* The IPv6 twins (the e2e lab's addresses). */
#define CLIENT6 "2001:db8:1::10"
#define PUBLIC6 "2001:db8:1::1"
#define BACKEND6 "2001:db8:22::1"
#define TUNNEL6 "2001:db8:22::2"
#define OTHER6 "2001:db8:1::99"

extern struct front_objs objs;
/* ct_fd: replied flows (relay_ct), ct_new_fd: unreplied ones (relay_ct_new). */
extern int in_fd, rev_fd, xdp_fd, stats_fd, ct_fd, ct_new_fd, cfg_fd;

/* Loads the front with tunnel_l2 as given and --exclude tcp:22, relaying
 * both families (PUBLIC -> BACKEND, PUBLIC6 -> BACKEND6): the public program
 * and the FRONT_* of progs (user/front.h). Each program costs seconds of
 * verifier under QEMU's TCG (make vmtest), so a fixture loads only those its
 * tests run; the fd of one left out is -1, which run_tc refuses. */
void front_setup(bool tunnel_l2, unsigned progs);
/* Loads more of the front's programs on the fixture's maps. */
void front_add(unsigned progs);
/* The suites' fixtures: the public program alone, L2 or L3 tunnel; with the
 * tunnel program; L3 with the XDP program. */
void setup_l2(void);
void setup_l2_tunnel(void);
void setup_l3(void);
void setup_xdp(void);
/* A test's .init on top of its suite's (criterion runs both): the tunnel
 * program (replies), the XDP program. */
void with_tunnel(void);
void with_xdp(void);
void teardown(void);

/* Switches the front to an L2 tunnel t0 (a veth, MAC 02:00:00:00:00:fe) in
 * the test's netns, whose backend neighbours (BACKEND, BACKEND6) have MAC
 * 02:00:00:00:00:01, with forwarding on (the FIB lookup's condition, as in
 * the lab); the tunnel program (loaded before) then runs on t0. */
void l2_tunnel_up(void);
/* Gives an L2 frame from the tunnel the backend neighbour's source MAC
 * (and the tunnel device's as destination). */
void from_backend_mac(struct fixture *f);
/* The frame's MACs are 02:00:00:00:00:<dst_last> and ...:<src_last>. */
void assert_macs(const struct fixture *out, uint8_t dst_last, uint8_t src_last);
/* Pins the test to the CPU it runs on (the next-hop cache is per CPU). */
void stay_on_this_cpu(void);

/* The service tables' maps of objs. */
struct front_svc_fds svc_fds(void);
/* The default service with BACKEND (v4) and BACKEND6 (v6) as attach writes
 * it; a family without: not relayed. */
void backends_put(bool v4, bool v6);

/* The configuration in the map, to change and write back with cfg_put. */
struct relay_front_config cfg_get(void);
void cfg_put(const struct relay_front_config *cfg);

/* A frame on the public device (Ethernet) or from the tunnel (l2 as given). */
void tcp_frame(struct fixture *f, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, uint8_t flags, size_t payload);
void udp_frame(struct fixture *f, bool l2, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, bool no_csum);
void icmp_echo_frame(struct fixture *f, bool l2, const char *src, const char *dst,
		     uint8_t type, uint16_t id);

/* An ICMP (IPv6 addresses: ICMPv6) error (type, code, the 4 "rest" bytes) from src to dst quoting
 * the first quote_len bytes of the IP packet in quoted (an L3 fixture). */
void icmp_error_frame(struct fixture *f, bool l2, const char *src, const char *dst,
		      uint8_t type, uint8_t code, uint32_t rest, const struct fixture *quoted,
		      size_t quote_len);
/* The quoted packet of an ICMP error, as an L3 fixture. */
void icmp_quoted(const struct fixture *err, struct fixture *quoted);

/* out is the frame expected, byte for byte, and its L4 checksum verifies. */
void assert_frame_eq(const struct fixture *out, const struct fixture *expected, const char *what);
/* out is in after a NAT hop (fix_nat: src, dst, ttl), byte for byte. */
void assert_nat_frame(const struct fixture *in, const struct fixture *out, const char *src,
		      const char *dst, uint8_t ttl);

/* The conntrack key of (proto, client, client port, service port). */
struct relay_ct_key ct_key_of(const char *client, uint8_t proto, uint16_t client_port,
			     uint16_t service_port);
/* The table holding key's newest entry (ct_new_fd for an unreplied flow, else
 * ct_fd), -1: none. */
int ct_table_of(const struct relay_ct_key *key);
/* The conntrack entry of (proto, CLIENT, client port, service port), in
 * either table. */
bool ct_lookup(uint8_t proto, uint16_t client_port, uint16_t service_port,
	       struct relay_ct_value *ct);
/* The same for a client of either family. */
bool ct_lookup_client(const char *client, uint8_t proto, uint16_t client_port,
		      uint16_t service_port, struct relay_ct_value *ct);

#endif
