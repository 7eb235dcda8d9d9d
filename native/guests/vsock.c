/*
 * virtio-vsock stream sockets as Linux's vsock transport speaks them: queues rx (0), tx (1) and
 * event (2); the guest CID from config space; each packet a 44-byte little-endian header and
 * its data in one buffer. The test: connect to the host's port (vsock_port=HEX: the VMM hands
 * the stream to uds_path_<port>), send a line, expect it echoed, shut down (the host answers
 * RST); then listen on vsock_listen=HEX, accept the host's CONNECT, echo what it sends, and
 * answer its shutdown with RST; with vsock_event, wait for an event on the event queue (the
 * host resets the transport) and re-read the CID, as Linux's driver does on TRANSPORT_RESET.
 */
#include "virtio.h"

#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define TYPE_STREAM 1
#define SHUTDOWN_BOTH 3
#define HOST_CID 2
#define HDR 44
#define RX_BUFS 4
#define BUF_BYTES 512
#define GUEST_BUF_ALLOC 4096
#define LOCAL_PORT 0x4d2
#define MAX_PACKETS 32 /* packets looked at before giving up on an answer */
#define EVENT_TRANSPORT_RESET 0

struct __attribute__((packed)) vhdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

static struct queue vs_queues[3] __attribute__((aligned(4096)));
static uint8_t rx_bufs[RX_BUFS][BUF_BYTES] __attribute__((aligned(64)));
static uint8_t event_buf[8];
static uint8_t tx_buf[BUF_BYTES] __attribute__((aligned(64)));
static uint8_t data[BUF_BYTES];
static uint64_t cid;
static uint32_t fwd_cnt;
static struct vdev rx, tx, ev;
static const char line[] = "hello from the guest\n";

static void send(uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t flags, const uint8_t *p, uint32_t n) {
	struct vhdr *h = (struct vhdr *)tx_buf;
	*h = (struct vhdr){ cid, HOST_CID, src_port, dst_port, n, TYPE_STREAM, op, flags, GUEST_BUF_ALLOC, fwd_cnt };
	for (uint32_t i = 0; i < n; i++) tx_buf[HDR + i] = p[i];
	void *a[1] = { tx_buf };
	uint32_t l[1] = { HDR + n };
	uint16_t f[1] = { 0 };
	add_chain(&tx, 1, a, l, f);
	submit_and_wait(&tx);
}

/* The next packet for us (its data copied to data[]), credit packets answered on the way. */
static struct vhdr receive(void) {
	for (;;) {
		struct used_elem u = wait_next_used(&rx);
		uint8_t *buf = rx_bufs[u.id % RX_BUFS];
		struct vhdr h = *(struct vhdr *)buf;
		uint32_t n = h.len <= BUF_BYTES - HDR && u.len >= HDR + h.len ? h.len : 0;
		for (uint32_t i = 0; i < n; i++) data[i] = buf[HDR + i];
		rx.q->avail.ring[rx.avail_idx % QSIZE] = (uint16_t)u.id;
		rx.avail_idx++;
		publish(&rx);
		if (h.op == OP_CREDIT_REQUEST) { send(h.dst_port, h.src_port, OP_CREDIT_UPDATE, 0, 0, 0); continue; }
		if (h.op == OP_CREDIT_UPDATE) continue;
		if (h.op == OP_RW) fwd_cnt += n;
		return h;
	}
}

static struct vhdr expect(uint16_t op, uint32_t local_port) {
	struct vhdr h = { 0 };
	for (int i = 0; i < MAX_PACKETS; i++) {
		h = receive();
		if (h.dst_cid == cid && h.src_cid == HOST_CID && h.dst_port == local_port && h.op == op) return h;
		puts_("vsock: unexpected op "); putdec(h.op); puts_(" to port "); puthex(h.dst_port); putc_('\n');
	}
	h.op = 0;
	return h;
}

static int same_data(const char *s, uint32_t n) {
	for (uint32_t i = 0; i < n; i++) if (data[i] != (uint8_t)s[i]) return 0;
	return 1;
}

void vsock_test(struct vdev *d, const char *cmdline) {
	puts_("virtio-vsock at "); puthex(d->base); puts_(" gsi "); putdec((uint64_t)d->gsi); putc_('\n');
	rx = (struct vdev){ d->base, d->gsi, 0, &vs_queues[0], 0, 0, 0, 0, 0 };
	tx = (struct vdev){ d->base, d->gsi, 0, &vs_queues[1], 0, 0, 0, 0, 1 };
	ev = (struct vdev){ d->base, d->gsi, 0, &vs_queues[2], 0, 0, 0, 0, 2 };
	if (!negotiate_features(d, 0)) return;
	setup_queue(&rx);
	setup_queue(&tx);
	setup_queue(&ev);
	for (int i = 0; i < RX_BUFS; i++) {
		void *a[1] = { rx_bufs[i] };
		uint32_t l[1] = { BUF_BYTES };
		uint16_t f[1] = { D_WRITE };
		add_chain(&rx, 1, a, l, f);
	}
	void *ea[1] = { event_buf };
	uint32_t el[1] = { sizeof event_buf };
	uint16_t ef[1] = { D_WRITE };
	add_chain(&ev, 1, ea, el, ef);
	if (!driver_ok(d)) { check(0, "virtio-vsock DRIVER_OK"); return; }
	cid = vrd(d, CONFIG) | (uint64_t)vrd(d, CONFIG + 4) << 32;
	puts_("vsock: guest cid "); putdec(cid); putc_('\n');
	publish(&rx);
	publish(&ev);

	const char *port_arg = arg(cmdline, "vsock_port=");
	if (port_arg) {
		uint32_t port = (uint32_t)parsehex(port_arg);
		fwd_cnt = 0;
		send(LOCAL_PORT, port, OP_REQUEST, 0, 0, 0);
		struct vhdr h = expect(OP_RESPONSE, LOCAL_PORT);
		check(h.op == OP_RESPONSE && h.src_port == port, "the host accepted the guest's connection (RESPONSE)");
		if (h.op != OP_RESPONSE) return;
		send(LOCAL_PORT, port, OP_RW, 0, (const uint8_t *)line, sizeof line - 1);
		h = expect(OP_RW, LOCAL_PORT);
		check(h.op == OP_RW && h.len == sizeof line - 1 && same_data(line, h.len), "the host echoed the guest's line");
		send(LOCAL_PORT, port, OP_SHUTDOWN, SHUTDOWN_BOTH, 0, 0);
		h = expect(OP_RST, LOCAL_PORT);
		check(h.op == OP_RST, "the host answered the guest's shutdown with RST");
	}
	if (arg(cmdline, "vsock_event")) {
		puts_("vsock: waiting for an event\n");
		struct used_elem u = wait_next_used(&ev);
		uint32_t id = event_buf[0] | (uint32_t)event_buf[1] << 8 | (uint32_t)event_buf[2] << 16 | (uint32_t)event_buf[3] << 24;
		puts_("vsock: event id "); putdec(id); puts_(", "); putdec(u.len); puts_(" bytes\n");
		check(u.len == 4 && id == EVENT_TRANSPORT_RESET, "the device reported TRANSPORT_RESET on the event queue");
		uint64_t again = vrd(d, CONFIG) | (uint64_t)vrd(d, CONFIG + 4) << 32;
		check(again == cid, "the guest CID read again after the reset is unchanged");
	}
	const char *listen_arg = arg(cmdline, "vsock_listen=");
	if (listen_arg) {
		uint32_t port = (uint32_t)parsehex(listen_arg);
		fwd_cnt = 0;
		puts_("vsock: listening on port "); putdec(port); putc_('\n');
		struct vhdr h = expect(OP_REQUEST, port);
		check(h.op == OP_REQUEST, "the host connected to the guest's port (REQUEST)");
		if (h.op != OP_REQUEST) return;
		uint32_t peer = h.src_port;
		send(port, peer, OP_RESPONSE, 0, 0, 0);
		h = expect(OP_RW, port);
		uint32_t n = h.op == OP_RW ? h.len : 0;
		puts_("vsock: host sent "); putdec(n); puts_(" bytes\n");
		send(port, peer, OP_RW, 0, data, n);
		h = expect(OP_SHUTDOWN, port);
		check(n > 0 && h.op == OP_SHUTDOWN, "echoed the host's data, then the host shut down");
		send(port, peer, OP_RST, 0, 0, 0);
	}
}
