/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Includes and constants every relaybpf program needs (vmlinux.h has the
 * kernel's types but none of its #defines). */
#ifndef RELAY_LIB_COMMON_H
#define RELAY_LIB_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "relaybpf.h"

#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define AF_INET 2
#define AF_INET6 10

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define BPF_F_PSEUDO_HDR_FLAG (1ULL << 4)

#endif
