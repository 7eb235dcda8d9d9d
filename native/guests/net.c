/*
 * virtio-net as Linux's virtio_net drives it without offloads: VERSION_1 + MAC negotiated, the
 * MAC read from config space, receive queue 0 filled with device-writable buffers (header +
 * frame), transmit queue 1 given one readable buffer per frame behind a zeroed 12-byte
 * virtio_net_hdr_v1. The test: an ARP request for the host's address (net_peer=HEX), the
 * kernel's ARP reply, then an ICMP echo request and the kernel's echo reply, checked byte by
 * byte; ARP requests for our own address (net_ip=HEX) are answered on the way. With
 * net_tcp=HEX, a TCP exchange with a peer listening on that port of the host's address.
 */
#include "virtio.h"

#define NET_F_MAC 5
#define NET_HDR 12
#define RX_BUFS 4
#define BUF_BYTES 1536 /* 12-byte header + a 1514-byte Ethernet frame, rounded up */
#define ETH_ARP 0x0806
#define ETH_IP 0x0800
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ECHO_ID 0x7e55
#define MAX_FRAMES 32 /* frames looked at before giving up on an answer */

static struct queue net_queues[2] __attribute__((aligned(4096)));
static uint8_t rx_bufs[RX_BUFS][BUF_BYTES] __attribute__((aligned(64)));
static uint8_t tx_buf[BUF_BYTES] __attribute__((aligned(64)));
static uint8_t mac[6], peer_mac[6];
static uint8_t my_ip[4], peer_ip[4];
static const char payload[] = "vessel-ping-0001";

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void copy(uint8_t *d, const uint8_t *s, int n) { while (n--) *d++ = *s++; }
static int same(const uint8_t *a, const uint8_t *b, int n) { while (n--) if (*a++ != *b++) return 0; return 1; }
static void ip_of(const char *hex, uint8_t ip[4]) {
	uint32_t v = hex ? (uint32_t)parsehex(hex) : 0;
	for (int i = 0; i < 4; i++) ip[i] = (uint8_t)(v >> (24 - 8 * i));
}
/* RFC 1071 one's-complement sum, starting from s (a pseudo-header's partial sum) */
static uint16_t inet_sum_from(uint32_t s, const uint8_t *p, int n) {
	for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1) s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
static uint16_t inet_sum(const uint8_t *p, int n) { return inet_sum_from(0, p, n); }
static void putmac(const uint8_t *m) {
	for (int i = 0; i < 6; i++) { if (i) putc_(':'); putc_("0123456789abcdef"[m[i] >> 4]); putc_("0123456789abcdef"[m[i] & 15]); }
}

/* Sends the frame in tx_buf + NET_HDR (header zeroed: no checksum or GSO asked for). */
static void send_frame(struct vdev *tx, int len) {
	for (int i = 0; i < NET_HDR; i++) tx_buf[i] = 0;
	void *a[1] = { tx_buf };
	uint32_t l[1] = { (uint32_t)(NET_HDR + len) };
	uint16_t f[1] = { 0 };
	add_chain(tx, 1, a, l, f);
	submit_and_wait(tx);
}

static int arp(uint8_t *e, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha, const uint8_t *tpa) {
	copy(e, dst_mac, 6); copy(e + 6, mac, 6); put16(e + 12, ETH_ARP);
	uint8_t *a = e + 14;
	put16(a, 1); put16(a + 2, ETH_IP); a[4] = 6; a[5] = 4; put16(a + 6, op);
	copy(a + 8, mac, 6); copy(a + 14, my_ip, 4); copy(a + 18, tha, 6); copy(a + 24, tpa, 4);
	return 14 + 28;
}

static int echo_request(uint8_t *e) {
	copy(e, peer_mac, 6); copy(e + 6, mac, 6); put16(e + 12, ETH_IP);
	uint8_t *ip = e + 14, *icmp = ip + 20;
	int plen = (int)sizeof payload - 1;
	ip[0] = 0x45; ip[1] = 0; put16(ip + 2, (uint16_t)(20 + 8 + plen)); put16(ip + 4, 1); put16(ip + 6, 0x4000);
	ip[8] = 64; ip[9] = 1; put16(ip + 10, 0); copy(ip + 12, my_ip, 4); copy(ip + 16, peer_ip, 4);
	put16(ip + 10, inet_sum(ip, 20));
	icmp[0] = ICMP_ECHO_REQUEST; icmp[1] = 0; put16(icmp + 2, 0); put16(icmp + 4, ECHO_ID); put16(icmp + 6, 1);
	copy(icmp + 8, (const uint8_t *)payload, plen);
	put16(icmp + 2, inet_sum(icmp, 8 + plen));
	return 14 + 20 + 8 + plen;
}

/* Takes the next received frame, lets fn look at it, gives the buffer back; fn's answer. */
static int receive(struct vdev *rx, struct vdev *tx, int (*fn)(const uint8_t *e, int len)) {
	struct used_elem u = wait_next_used(rx);
	uint8_t *buf = rx_bufs[u.id % RX_BUFS];
	const uint8_t *e = buf + NET_HDR;
	int len = (int)u.len - NET_HDR;
	int r = 0;
	if (len >= 42 && get16(e + 12) == ETH_ARP && get16(e + 20) == 1 && same(e + 38, my_ip, 4)) {
		puts_("net: answering the host's ARP request\n");
		uint8_t sha[6], spa[4];
		copy(sha, e + 22, 6); copy(spa, e + 28, 4);
		int n = arp(tx_buf + NET_HDR, 2, sha, sha, spa);
		rx->q->avail.ring[rx->avail_idx % QSIZE] = (uint16_t)u.id; rx->avail_idx++; publish(rx);
		send_frame(tx, n);
		return 0;
	}
	if (len >= 14) r = fn(e, len);
	rx->q->avail.ring[rx->avail_idx % QSIZE] = (uint16_t)u.id;
	rx->avail_idx++;
	publish(rx);
	return r;
}

static int is_arp_reply(const uint8_t *e, int len) {
	if (len < 42 || get16(e + 12) != ETH_ARP || get16(e + 20) != 2) return 0;
	if (!same(e + 28, peer_ip, 4) || !same(e + 32, mac, 6) || !same(e + 38, my_ip, 4) || !same(e, mac, 6)) return 0;
	copy(peer_mac, e + 22, 6);
	return 1;
}

static int is_echo_reply(const uint8_t *e, int len) {
	int plen = (int)sizeof payload - 1;
	if (len < 14 + 20 + 8 + plen || get16(e + 12) != ETH_IP) return 0;
	const uint8_t *ip = e + 14, *icmp = ip + 20;
	if (ip[0] != 0x45 || ip[9] != 1 || !same(ip + 12, peer_ip, 4) || !same(ip + 16, my_ip, 4)) return 0;
	if (icmp[0] != ICMP_ECHO_REPLY || get16(icmp + 4) != ECHO_ID || get16(icmp + 6) != 1) return 0;
	int ok = inet_sum(ip, 20) == 0 && inet_sum(icmp, 8 + plen) == 0 && same(icmp + 8, (const uint8_t *)payload, plen)
		&& same(e, mac, 6) && same(e + 6, peer_mac, 6);
	return ok ? 1 : -1;
}

/* A TCP client as small as it gets: SYN, the peer's SYN-ACK, one data segment, the peer's
   answer (acknowledged), its FIN answered with ours. No options (the peer assumes MSS 536), no
   retransmission: the peer is the kernel on the other end of the tap. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_LOCAL_PORT 40000
#define TCP_ISN 0x1000
static uint16_t tcp_port;
static uint32_t tcp_snd_nxt, tcp_rcv_nxt;
static uint8_t tcp_flags;
static uint8_t tcp_data[128];
static int tcp_len;
static const char tcp_line[] = "hello over tcp\n";

static uint32_t pseudo_sum(int tcp_bytes) {
	return (uint32_t)(my_ip[0] << 8 | my_ip[1]) + (uint32_t)(my_ip[2] << 8 | my_ip[3])
		+ (uint32_t)(peer_ip[0] << 8 | peer_ip[1]) + (uint32_t)(peer_ip[2] << 8 | peer_ip[3]) + 6 + (uint32_t)tcp_bytes;
}

static void tcp_send(struct vdev *tx, uint8_t flags, const uint8_t *p, int n) {
	uint8_t *e = tx_buf + NET_HDR, *ip = e + 14, *t = ip + 20;
	copy(e, peer_mac, 6); copy(e + 6, mac, 6); put16(e + 12, ETH_IP);
	ip[0] = 0x45; ip[1] = 0; put16(ip + 2, (uint16_t)(20 + 20 + n)); put16(ip + 4, 2); put16(ip + 6, 0x4000);
	ip[8] = 64; ip[9] = 6; put16(ip + 10, 0); copy(ip + 12, my_ip, 4); copy(ip + 16, peer_ip, 4);
	put16(ip + 10, inet_sum(ip, 20));
	put16(t, TCP_LOCAL_PORT); put16(t + 2, tcp_port);
	put16(t + 4, (uint16_t)(tcp_snd_nxt >> 16)); put16(t + 6, (uint16_t)tcp_snd_nxt);
	uint32_t ack = flags & TCP_ACK ? tcp_rcv_nxt : 0;
	put16(t + 8, (uint16_t)(ack >> 16)); put16(t + 10, (uint16_t)ack);
	t[12] = 5 << 4; t[13] = flags; put16(t + 14, 1024); put16(t + 16, 0); put16(t + 18, 0);
	copy(t + 20, p, n);
	put16(t + 16, inet_sum_from(pseudo_sum(20 + n), t, 20 + n));
	send_frame(tx, 14 + 20 + 20 + n);
	tcp_snd_nxt += (uint32_t)n + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* A segment of our connection with a good checksum: its flags, data (appended) and sequence taken. */
static int is_tcp_segment(const uint8_t *e, int len) {
	if (len < 14 + 40 || get16(e + 12) != ETH_IP) return 0;
	const uint8_t *ip = e + 14;
	int total = get16(ip + 2), ihl = (ip[0] & 15) * 4;
	if (ip[9] != 6 || !same(ip + 12, peer_ip, 4) || !same(ip + 16, my_ip, 4) || total > len - 14) return 0;
	const uint8_t *t = ip + ihl;
	int tlen = total - ihl, off = (t[12] >> 4) * 4;
	if (get16(t) != tcp_port || get16(t + 2) != TCP_LOCAL_PORT || off < 20 || off > tlen) return -1;
	if (inet_sum_from(pseudo_sum(tlen), t, tlen) != 0) return -1;
	tcp_flags = t[13];
	uint32_t seq = get32(t + 4);
	if (tcp_flags & TCP_SYN) tcp_rcv_nxt = seq + 1;
	int n = tlen - off;
	if (n > 0 && seq == tcp_rcv_nxt && tcp_len + n <= (int)sizeof tcp_data) {
		copy(tcp_data + tcp_len, t + off, n);
		tcp_len += n;
		tcp_rcv_nxt += (uint32_t)n;
	}
	if ((tcp_flags & TCP_FIN) && seq + (uint32_t)n == tcp_rcv_nxt) tcp_rcv_nxt++;
	return 1;
}

static void tcp_test(struct vdev *rx, struct vdev *tx, uint16_t port) {
	tcp_port = port;
	tcp_snd_nxt = TCP_ISN;
	puts_("net: tcp connect to port "); putdec(port); putc_('\n');
	tcp_send(tx, TCP_SYN, 0, 0);
	int got = 0;
	for (int i = 0; i < MAX_FRAMES && !got; i++) got = receive(rx, tx, is_tcp_segment) == 1 && (tcp_flags & TCP_SYN);
	check(got && (tcp_flags & TCP_ACK), "the host answered SYN with SYN-ACK");
	if (!got) return;
	tcp_send(tx, TCP_ACK | TCP_PSH, (const uint8_t *)tcp_line, (int)sizeof tcp_line - 1);
	int fin = 0;
	for (int i = 0; i < MAX_FRAMES && !fin; i++) {
		if (receive(rx, tx, is_tcp_segment) != 1) continue;
		fin = (tcp_flags & TCP_FIN) != 0;
		if (tcp_len > 0 || fin) tcp_send(tx, fin ? TCP_ACK | TCP_FIN : TCP_ACK, 0, 0);
	}
	puts_("net: tcp received \""); for (int i = 0; i < tcp_len && tcp_data[i] != '\n'; i++) putc_((char)tcp_data[i]); puts_("\"\n");
	int upper = tcp_len == (int)sizeof tcp_line - 1;
	for (int i = 0; upper && i < tcp_len; i++) {
		char c = tcp_line[i];
		upper = tcp_data[i] == (uint8_t)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	check(fin && upper, "the host's TCP peer answered the guest's line in capitals and closed");
}

void net_test(struct vdev *d, const char *cmdline) {
	puts_("virtio-net at "); puthex(d->base); puts_(" gsi "); putdec((uint64_t)d->gsi); putc_('\n');
	static struct vdev rx, tx;
	rx = (struct vdev){ d->base, d->gsi, 0, &net_queues[0], 0, 0, 0, 0, 0 };
	tx = (struct vdev){ d->base, d->gsi, 0, &net_queues[1], 0, 0, 0, 0, 1 };
	if (!negotiate_features(d, 1ull << NET_F_MAC)) return;
	setup_queue(&rx);
	setup_queue(&tx);
	for (int i = 0; i < RX_BUFS; i++) {
		void *a[1] = { rx_bufs[i] };
		uint32_t l[1] = { BUF_BYTES };
		uint16_t f[1] = { D_WRITE };
		add_chain(&rx, 1, a, l, f);
	}
	if (!driver_ok(d)) { check(0, "virtio-net DRIVER_OK"); return; }
	for (int i = 0; i < 6; i++) mac[i] = *(volatile uint8_t *)(d->base + CONFIG + (uint64_t)i);
	puts_("net: mac "); putmac(mac); putc_('\n');
	publish(&rx);
	ip_of(arg(cmdline, "net_ip="), my_ip);
	ip_of(arg(cmdline, "net_peer="), peer_ip);
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero[6] = { 0 };
	send_frame(&tx, arp(tx_buf + NET_HDR, 1, broadcast, zero, peer_ip));
	int got = 0;
	for (int i = 0; i < MAX_FRAMES && !got; i++) got = receive(&rx, &tx, is_arp_reply);
	puts_("net: arp reply from "); putmac(peer_mac); putc_('\n');
	check(got, "the host answered the guest's ARP request");
	if (!got) return;
	send_frame(&tx, echo_request(tx_buf + NET_HDR));
	got = 0;
	for (int i = 0; i < MAX_FRAMES && !got; i++) got = receive(&rx, &tx, is_echo_reply);
	check(got == 1, "the host answered the guest's ICMP echo request (checksums, id, sequence, payload)");
	const char *tcp = arg(cmdline, "net_tcp=");
	if (tcp) tcp_test(&rx, &tx, (uint16_t)parsehex(tcp));
}
