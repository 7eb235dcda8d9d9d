/*
 * A virtio-mmio driver for the test guest, doing what Linux's virtio_mmio + virtio_ring +
 * virtio_blk do: find devices from virtio_mmio.device= on the command line, reset, ACKNOWLEDGE,
 * DRIVER, negotiate VERSION_1 + INDIRECT_DESC + EVENT_IDX, check FEATURES_OK stuck, set up
 * queue 0, DRIVER_OK; then several requests in flight (one through an indirect table), the
 * device notified only when its avail_event asks for it, completion by interrupt (used_event
 * set so that one comes when the whole batch is done).
 */
#include "virtio.h"

static struct queue queues[MAX_DEVICES] __attribute__((aligned(4096)));
static struct vdev devs[MAX_DEVICES];
static int ndevs;

uint32_t vrd(struct vdev *d, uint32_t r) { return mmio_read32(d->base + r); }
void vwr(struct vdev *d, uint32_t r, uint32_t v) { mmio_write32(d->base + r, v); }
#define rd vrd
#define wr vwr

static void vdev_irq(int vector) {
	for (int i = 0; i < ndevs; i++) {
		struct vdev *d = &devs[i];
		if (VECTOR_GSI0 + d->gsi != vector) continue;
		uint32_t st = rd(d, INTERRUPT_STATUS);
		wr(d, INTERRUPT_ACK, st);
		if (st & INT_USED_BUFFER) d->irqs++;
	}
}

/* virtio 1.2, 2.7.10: does moving an index from old to new pass event? */
int need_event(uint16_t event, uint16_t new_idx, uint16_t old) {
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

int negotiate_features(struct vdev *d, uint64_t want) {
	wr(d, STATUS, 0);
	wr(d, STATUS, S_ACKNOWLEDGE);
	wr(d, STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(d, DEVICE_FEATURES_SEL, 0);
	uint64_t offered = rd(d, DEVICE_FEATURES);
	wr(d, DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)rd(d, DEVICE_FEATURES) << 32;
	puts_("  features offered "); puthex(offered); putc_('\n');
	uint64_t ring = (1ull << F_VERSION_1) | (1ull << F_INDIRECT_DESC) | (1ull << F_EVENT_IDX);
	check((offered & ring) == ring, "device offers VERSION_1, INDIRECT_DESC and EVENT_IDX");
	uint64_t accept = offered & (want | ring);
	wr(d, DRIVER_FEATURES_SEL, 0);
	wr(d, DRIVER_FEATURES, (uint32_t)accept);
	wr(d, DRIVER_FEATURES_SEL, 1);
	wr(d, DRIVER_FEATURES, (uint32_t)(accept >> 32));
	wr(d, STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	int ok = (rd(d, STATUS) & S_FEATURES_OK) != 0;
	check(ok, "FEATURES_OK stuck");
	return ok;
}

void setup_queue(struct vdev *d) {
	struct queue *q = d->q;
	wr(d, QUEUE_SEL, d->qindex);
	uint32_t max = rd(d, QUEUE_NUM_MAX);
	if (max < QSIZE || rd(d, QUEUE_READY) != 0) check(0, "queue exists, not ready yet");
	wr(d, QUEUE_NUM, QSIZE);
	wr(d, QUEUE_DESC_LOW, (uint32_t)(uint64_t)q->desc);
	wr(d, QUEUE_DESC_HIGH, (uint32_t)((uint64_t)q->desc >> 32));
	wr(d, QUEUE_DRIVER_LOW, (uint32_t)(uint64_t)&q->avail);
	wr(d, QUEUE_DRIVER_HIGH, (uint32_t)((uint64_t)&q->avail >> 32));
	wr(d, QUEUE_DEVICE_LOW, (uint32_t)(uint64_t)&q->used);
	wr(d, QUEUE_DEVICE_HIGH, (uint32_t)((uint64_t)&q->used >> 32));
	wr(d, QUEUE_READY, 1);
}

int driver_ok(struct vdev *d) {
	irq_route_gsi(d->gsi, vdev_irq);
	wr(d, STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return (rd(d, STATUS) & S_DRIVER_OK) != 0;
}

/* Status sequence, features and queue 0; 0 if the device refused. */
static int negotiate(struct vdev *d, uint64_t want) {
	if (!negotiate_features(d, want)) return 0;
	setup_queue(d);
	return driver_ok(d);
}

static struct desc *new_desc(struct vdev *d, uint16_t *index, void *addr, uint32_t len, uint16_t flags) {
	*index = d->next_desc++;
	struct desc *x = &d->q->desc[*index];
	x->addr = (uint64_t)addr; x->len = len; x->flags = flags; x->next = 0;
	return x;
}

/* Adds a chain of n buffers (direct descriptors) and makes it available; returns its head. */
uint16_t add_chain(struct vdev *d, int n, void **addr, uint32_t *len, uint16_t *flags) {
	uint16_t head = 0, prev = 0;
	for (int i = 0; i < n; i++) {
		uint16_t idx;
		new_desc(d, &idx, addr[i], len[i], flags[i]);
		if (i == 0) head = idx; else { d->q->desc[prev].flags |= D_NEXT; d->q->desc[prev].next = idx; }
		prev = idx;
	}
	d->q->avail.ring[d->avail_idx % QSIZE] = head;
	d->avail_idx++;
	return head;
}

/* The same through one descriptor pointing at an indirect table (table slot t). */
static uint16_t add_indirect(struct vdev *d, int t, int n, void **addr, uint32_t *len, uint16_t *flags) {
	struct desc *tab = d->q->indirect[t];
	for (int i = 0; i < n; i++) {
		tab[i].addr = (uint64_t)addr[i]; tab[i].len = len[i];
		tab[i].flags = flags[i] | (i + 1 < n ? D_NEXT : 0); tab[i].next = (uint16_t)(i + 1);
	}
	uint16_t head;
	new_desc(d, &head, tab, (uint32_t)(n * sizeof(struct desc)), D_INDIRECT);
	d->q->avail.ring[d->avail_idx % QSIZE] = head;
	d->avail_idx++;
	return head;
}

/* Sleeps until the device has used everything made available. */
static void wait_used(struct vdev *d) {
	volatile uint16_t *used_idx = &d->q->used.idx;
	__asm__ volatile("cli");
	while (*used_idx != d->avail_idx) __asm__ volatile("sti; hlt; cli" ::: "memory");
	d->used_seen = d->avail_idx;
	d->next_desc = 0;
}

void publish(struct vdev *d) {
	struct queue *q = d->q;
	barrier();
	q->avail.idx = d->avail_idx;
	mfence();
	if (need_event(q->used.avail_event, d->avail_idx, d->last_notified)) wr(d, QUEUE_NOTIFY, d->qindex);
	d->last_notified = d->avail_idx;
}

/* Publishes the batch, notifies if the device's avail_event asks, sleeps until all are used. */
void submit_and_wait(struct vdev *d) {
	d->q->avail.used_event = (uint16_t)(d->avail_idx - 1); /* interrupt once the last one is used */
	publish(d);
	wait_used(d);
}

struct used_elem wait_next_used(struct vdev *d) {
	volatile uint16_t *used_idx = &d->q->used.idx;
	d->q->avail.used_event = d->used_seen; /* interrupt when this entry is used */
	mfence();
	__asm__ volatile("cli");
	while (*used_idx == d->used_seen) __asm__ volatile("sti; hlt; cli" ::: "memory");
	__asm__ volatile("sti");
	struct used_elem e = d->q->used.ring[d->used_seen % QSIZE];
	d->used_seen++;
	return e;
}

static uint32_t used_len(struct vdev *d, uint16_t head) {
	for (int i = 0; i < QSIZE; i++) if (d->q->used.ring[i].id == head) return d->q->used.ring[i].len;
	return 0xffffffffu;
}

static uint8_t pattern(uint64_t offset) { return (uint8_t)(offset * 13 + (offset >> 9)); }

struct blk_req { uint32_t type, reserved; uint64_t sector; };
static struct blk_req hdr[8];
static uint8_t status[8];
static uint8_t data[8192] __attribute__((aligned(512)));
static char id[21];

/*
 * blk_bench: reads the whole disk sequentially in BENCH_REQUEST-byte requests, BENCH_IN_FLIGHT
 * at a time, between two console markers that the host timestamps (bench/vm-boot.sh): large
 * requests, so that the VMM's data path is measured rather than the guest's emulated driver.
 */
#define BENCH_REQUEST (512 * 1024)
#define BENCH_IN_FLIGHT 4
/*
 * Publishes the batch, notifies, and polls the used index: QEMU's microvm does not deliver this
 * guest's virtio-mmio interrupts (its IOAPIC never sees the line), so the benchmark, which must run
 * the same on both VMMs, does without them. The spin lasts as long as the batch's I/O.
 */
static void submit_and_poll(struct vdev *d) {
	struct queue *q = d->q;
	q->avail.used_event = (uint16_t)(d->avail_idx + 0x8000); /* no interrupt for this batch */
	barrier();
	q->avail.idx = d->avail_idx;
	mfence();
	if (need_event(q->used.avail_event, d->avail_idx, d->last_notified)) wr(d, QUEUE_NOTIFY, 0);
	d->last_notified = d->avail_idx;
	volatile uint16_t *used_idx = &q->used.idx;
	while (*used_idx != d->avail_idx) __asm__ volatile("pause" ::: "memory");
	d->used_seen = d->avail_idx;
	d->next_desc = 0;
}

static uint8_t bench_data[BENCH_IN_FLIGHT][BENCH_REQUEST] __attribute__((aligned(4096)));

static void blk_bench(struct vdev *d, uint64_t capacity) {
	uint64_t next = 0, bytes = 0;
	int ok = 1;
	uint16_t f[3] = { 0, D_WRITE, D_WRITE };
	puts_("BLK BENCH START\n");
	while (next < capacity) {
		int n = 0;
		for (; n < BENCH_IN_FLIGHT && next < capacity; n++) {
			uint64_t count = capacity - next < BENCH_REQUEST / SECTOR ? capacity - next : BENCH_REQUEST / SECTOR;
			hdr[n] = (struct blk_req){ T_IN, 0, next };
			status[n] = 0xff;
			void *a[3] = { &hdr[n], bench_data[n], &status[n] };
			uint32_t l[3] = { 16, (uint32_t)(count * SECTOR), 1 };
			add_chain(d, 3, a, l, f);
			next += count;
			bytes += count * SECTOR;
		}
		submit_and_poll(d);
		for (int i = 0; i < n; i++) ok &= status[i] == BLK_S_OK;
	}
	puts_("BLK BENCH DONE "); putdec(bytes); puts_(" bytes\n");
	check(ok, "every benchmark read completed OK");
}

static void blk_test(struct vdev *d, const char *cmdline) {
	puts_("virtio-blk at "); puthex(d->base); puts_(" gsi "); putdec((uint64_t)d->gsi); putc_('\n');
	wr(d, DEVICE_FEATURES_SEL, 0);
	int ro = (rd(d, DEVICE_FEATURES) >> BLK_F_RO) & 1;
	if (!negotiate(d, (1ull << BLK_F_FLUSH) | (1ull << BLK_F_RO))) return;
	uint64_t capacity = rd(d, CONFIG) | (uint64_t)rd(d, CONFIG + 4) << 32;
	puts_("blk capacity "); putdec(capacity); puts_(ro ? " sectors, read-only\n" : " sectors\n");
	if (arg(cmdline, "blk_bench")) {
		blk_bench(d, capacity);
		return;
	}
	const char *want_sectors = arg(cmdline, "blk_sectors=");
	check(want_sectors && capacity == parsehex(want_sectors), "capacity matches blk_sectors=");

	/* batch 1: read sectors 0-1 (direct), read sectors 2-3 (indirect), GET_ID: three in flight */
	hdr[0] = (struct blk_req){ T_IN, 0, 0 };
	hdr[1] = (struct blk_req){ T_IN, 0, 2 };
	hdr[2] = (struct blk_req){ T_GET_ID, 0, 0 };
	for (int i = 0; i < 3; i++) status[i] = 0xff;
	uint16_t f3[3] = { 0, D_WRITE, D_WRITE };
	uint32_t l1[3] = { 16, 2 * SECTOR, 1 };
	void *a0[3] = { &hdr[0], data, &status[0] };
	void *a1[3] = { &hdr[1], data + 2 * SECTOR, &status[1] };
	uint32_t lid[3] = { 16, 20, 1 };
	void *a2[3] = { &hdr[2], id, &status[2] };
	uint16_t h0 = add_chain(d, 3, a0, l1, f3);
	uint16_t h1 = add_indirect(d, 0, 3, a1, l1, f3);
	uint16_t h2 = add_chain(d, 3, a2, lid, f3);
	submit_and_wait(d);
	uint32_t sum = fnv1a(data, 4 * SECTOR);
	puts_("blk read sectors 0-3 sum "); puthex(sum); puts_(", id \""); puts_(id); puts_("\"\n");
	check(status[0] == BLK_S_OK && status[1] == BLK_S_OK && status[2] == BLK_S_OK, "reads and GET_ID completed OK");
	check(used_len(d, h0) == 2 * SECTOR + 1 && used_len(d, h1) == 2 * SECTOR + 1 && used_len(d, h2) <= 21,
		"used lengths count the bytes written");
	const char *want_sum = arg(cmdline, "blk_sum=");
	check(want_sum && sum == (uint32_t)parsehex(want_sum), "guest read what the host wrote (blk_sum=)");

	/* batch 2: four 2-sector writes of the pattern to sectors 8-15 (the third indirect), then a flush */
	for (uint64_t o = 0; o < 8 * SECTOR; o++) data[o] = pattern(8 * SECTOR + o);
	for (int i = 0; i < 5; i++) status[i] = 0xff;
	uint16_t fw[3] = { 0, 0, D_WRITE };
	uint32_t lw[3] = { 16, 2 * SECTOR, 1 };
	for (int i = 0; i < 4; i++) {
		hdr[i] = (struct blk_req){ T_OUT, 0, 8 + 2 * (uint64_t)i };
		void *a[3] = { &hdr[i], data + i * 2 * SECTOR, &status[i] };
		if (i == 2) add_indirect(d, 1, 3, a, lw, fw); else add_chain(d, 3, a, lw, fw);
	}
	hdr[4] = (struct blk_req){ T_FLUSH, 0, 0 };
	uint16_t ff[2] = { 0, D_WRITE };
	uint32_t lf[2] = { 16, 1 };
	void *af[2] = { &hdr[4], &status[4] };
	add_chain(d, 2, af, lf, ff);
	submit_and_wait(d);
	int wrote = status[0] == BLK_S_OK && status[1] == BLK_S_OK && status[2] == BLK_S_OK && status[3] == BLK_S_OK;
	if (ro) {
		check(status[0] == BLK_S_IOERR && status[2] == BLK_S_IOERR, "writes to a read-only disk fail with IOERR");
	} else {
		check(wrote && status[4] == BLK_S_OK, "four writes (one indirect) and a flush completed OK");
	}

	/* batch 3: read sectors 8-15 back in one request */
	for (uint64_t o = 0; o < 8 * SECTOR; o++) data[o] = 0;
	hdr[0] = (struct blk_req){ T_IN, 0, 8 };
	status[0] = 0xff;
	uint32_t lr[3] = { 16, 8 * SECTOR, 1 };
	void *ar[3] = { &hdr[0], data, &status[0] };
	add_chain(d, 3, ar, lr, f3);
	submit_and_wait(d);
	int same = status[0] == BLK_S_OK;
	for (uint64_t o = 0; o < 8 * SECTOR && same; o++) same = data[o] == pattern(8 * SECTOR + o);
	if (!ro) check(same, "sectors 8-15 read back as written");
	puts_("blk sectors 8-15 sum "); puthex(fnv1a(data, 8 * SECTOR)); putc_('\n');
	/* a batch that completes before the driver sleeps has its interrupt delivered later (KVM
	   injects an irqfd's IOAPIC interrupt from a worker), possibly after all three batches were
	   seen done by polling: each batch's used_event owes one, so sleep until the first is in */
	wait_until_at_least(&d->irqs, 1);
	puts_("blk used-buffer interrupts: "); putdec(d->irqs); putc_('\n');
	check(d->irqs >= 1, "completions arrived by interrupt (used-buffer bit in InterruptStatus)");
}

static uint8_t entropy[64];

static void rng_test(struct vdev *d) {
	puts_("virtio-rng at "); puthex(d->base); puts_(" gsi "); putdec((uint64_t)d->gsi); putc_('\n');
	if (!negotiate(d, 0)) return;
	uint16_t f[1] = { D_WRITE };
	uint32_t l[1] = { sizeof entropy };
	void *a[1] = { entropy };
	uint16_t h = add_chain(d, 1, a, l, f);
	submit_and_wait(d);
	int nonzero = 0;
	for (unsigned i = 0; i < sizeof entropy; i++) nonzero |= entropy[i];
	puts_("rng bytes: "); putdec(used_len(d, h)); putc_('\n');
	check(used_len(d, h) == sizeof entropy && nonzero, "rng filled the buffer");
}

/* Every "virtio_mmio.device=<size>@0x<base>:<irq>" word, as Linux's virtio_mmio parses them. */
void virtio_test(const char *cmdline) {
	static const char key[] = "virtio_mmio.device=";
	for (const char *p = cmdline; *p && ndevs < MAX_DEVICES; p++) {
		if (p != cmdline && p[-1] != ' ') continue;
		const char *k = key, *q = p;
		while (*k && *q == *k) { k++; q++; }
		if (*k) continue;
		while (*q && *q != '@') q++;
		if (*q != '@' || q[1] != '0' || q[2] != 'x') continue;
		q += 3;
		uint64_t base = parsehex(q);
		while (*q && *q != ':') q++;
		if (*q != ':') continue;
		uint64_t gsi = 0;
		for (q++; *q >= '0' && *q <= '9'; q++) gsi = gsi * 10 + (uint64_t)(*q - '0');
		devs[ndevs] = (struct vdev){ base, (int)gsi, 0, &queues[ndevs], 0, 0, 0, 0, 0 };
		ndevs++;
	}
	if (ndevs == 0) return;
	irq_init();
	for (int i = 0; i < ndevs; i++) {
		struct vdev *d = &devs[i];
		if (rd(d, MAGIC) != MAGIC_VALUE || rd(d, VERSION) != 2) {
			check(0, "virtio-mmio magic and version 2 at the announced address");
			continue;
		}
		switch (rd(d, DEVICE_ID)) {
		case ID_BLOCK: blk_test(d, cmdline); break;
		case ID_RNG: rng_test(d); break;
		case ID_NET: net_test(d, cmdline); break;
		case ID_VSOCK: vsock_test(d, cmdline); break;
		default: puts_("virtio device of unknown type\n");
		}
	}
}
