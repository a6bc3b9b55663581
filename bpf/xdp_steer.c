// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
// XDP steering for ringcastd's AF_XDP port: to the AF_XDP socket only what
// the appliance serves (ARP for its address; ICMP, UDP to its port and TCP
// to its port, all to its address), everything else to the kernel, so the
// host keeps its own traffic on the same interface.
//
// The af_xdp PMD loads this object (vdev devarg xdp_prog=) and puts its
// socket in `xsks_map`; ringcastd then fills `rc_config` and reads
// `rc_stats`. Until rc_config is filled everything passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// The steering rule, in network byte order; ipv4 == 0 means "not set yet".
struct rc_config {
    __u32 ipv4;
    __u16 udp_port;
    __u16 tcp_port;
};

// Index 0: packets redirected to the socket, 1: passed to the kernel.
enum { rc_redirected = 0, rc_passed = 1, rc_stat_count = 2 };

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rc_config);
} rc_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, rc_stat_count);
    __type(key, __u32);
    __type(value, __u64);
} rc_stats SEC(".maps");

// ARP payload after the Ethernet header, as far as the target address.
struct arp_ipv4 {
    __be16 htype, ptype;
    __u8 hlen, plen;
    __be16 oper;
    __u8 sha[6];
    __be32 spa;
    __u8 tha[6];
    __be32 tpa;
} __attribute__((packed));

static __always_inline int served(void* data, void* end, const struct rc_config* cfg) {
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > end) {
        return 0;
    }
    if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
        struct arp_ipv4* arp = (void*)(eth + 1);
        return (void*)(arp + 1) <= end && arp->tpa == cfg->ipv4;
    }
    if (eth->h_proto != bpf_htons(ETH_P_IP)) {
        return 0;
    }
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > end || ip->daddr != cfg->ipv4) {
        return 0;
    }
    if (ip->protocol == IPPROTO_ICMP) {
        return 1;
    }
    // Options and fragments go to the appliance too, which drops and counts them.
    void* l4 = (void*)ip + ip->ihl * 4;
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr* udp = l4;
        return (void*)(udp + 1) <= end && udp->dest == cfg->udp_port;
    }
    if (ip->protocol == IPPROTO_TCP && cfg->tcp_port != 0) {
        struct tcphdr* tcp = l4;
        return (void*)(tcp + 1) <= end && tcp->dest == cfg->tcp_port;
    }
    return 0;
}

static __always_inline void count(__u32 which) {
    __u64* n = bpf_map_lookup_elem(&rc_stats, &which);
    if (n) {
        *n += 1; // per-CPU slot: no atomic needed
    }
}

SEC("xdp")
int ringcast_steer(struct xdp_md* ctx) {
    __u32 zero = 0;
    const struct rc_config* cfg = bpf_map_lookup_elem(&rc_config, &zero);
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    if (cfg && cfg->ipv4 != 0 && served(data, end, cfg)) {
        count(rc_redirected);
        return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
    }
    count(rc_passed);
    return XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
