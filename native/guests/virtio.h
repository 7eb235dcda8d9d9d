/* The test guest's virtio-mmio driver pieces shared by its device tests (virtio.c, net.c, vsock.c). */
#ifndef VESSEL_VIRTIO_H
#define VESSEL_VIRTIO_H
#include "guest.h"

/* virtio 1.2, 4.2.2 register layout */
#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INTERRUPT_STATUS 0x060
#define INTERRUPT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4
#define CONFIG 0x100
#define INT_USED_BUFFER 1
#define MAGIC_VALUE 0x74726976
/* status bits (2.1) */
#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
/* feature bits (6) */
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32
#define BLK_F_RO 5
#define BLK_F_FLUSH 9
/* descriptor flags (2.7.5) */
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
/* device types and block requests (5.2.6) */
#define ID_BLOCK 2
#define ID_RNG 4
#define ID_NET 1
#define ID_VSOCK 19
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define SECTOR 512

#define QSIZE 16
#define MAX_DEVICES 4

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };
struct queue {
	struct desc desc[QSIZE] __attribute__((aligned(16)));
	struct avail avail __attribute__((aligned(2)));
	struct used used __attribute__((aligned(4)));
	struct desc indirect[4][4] __attribute__((aligned(16)));
};

/* One virtqueue of a device (a device with several queues has one per queue, same base and gsi). */
struct vdev {
	uint64_t base;
	int gsi;
	volatile uint32_t irqs;
	struct queue *q;
	uint16_t next_desc, avail_idx, last_notified, used_seen;
	uint32_t qindex;
};

uint32_t vrd(struct vdev *d, uint32_t r);
void vwr(struct vdev *d, uint32_t r, uint32_t v);
/* reset .. FEATURES_OK with VERSION_1 + INDIRECT_DESC + EVENT_IDX and what of want is offered; 0 if refused */
int negotiate_features(struct vdev *d, uint64_t want);
/* sets up queue d->qindex in d->q (QSIZE entries) */
void setup_queue(struct vdev *d);
/* routes the gsi and sets DRIVER_OK; 0 if it did not stick */
int driver_ok(struct vdev *d);
uint16_t add_chain(struct vdev *d, int n, void **addr, uint32_t *len, uint16_t *flags);
/* publishes avail idx, notifies queue d->qindex when its avail_event asks */
void publish(struct vdev *d);
/* publishes the batch and sleeps until all of it is used */
void submit_and_wait(struct vdev *d);
/* sleeps until the used ring holds an entry not yet seen; returns it (id, len) and counts it seen */
struct used_elem wait_next_used(struct vdev *d);
int need_event(uint16_t event, uint16_t new_idx, uint16_t old);
void net_test(struct vdev *d, const char *cmdline);
void vsock_test(struct vdev *d, const char *cmdline);
#endif
