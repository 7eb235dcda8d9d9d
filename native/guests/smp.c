/*
 * SMP bring-up as an OS does it: the BSP copies a real-mode trampoline below 1 MiB, sends
 * INIT then two STARTUP IPIs to all other processors through its LAPIC's ICR, and sleeps until
 * every AP has reported; each AP reports its APIC ID under a spinlock, checks its CPUID topology
 * (leaf 0x1 and leaf 0xB) and wakes the BSP with an IPI.
 */
#include "guest.h"

#define TRAMPOLINE_BASE 0x10000
#define LAPIC_ID 0x20
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_ASSERT 0x4000
#define ICR_ALL_BUT_SELF 0xc0000
#define ICR_PENDING 0x1000
#define AP_MAX 8
#define TOPOLOGY_LEAF 0xb
#define TOPOLOGY_LEVEL_CORE 2

extern char trampoline_start[], trampoline_end[], tr_cr3[];
void irq_init_cpu(void);

static volatile uint32_t print_lock;
static volatile uint32_t arrived;
static uint32_t expected;

static void lock(void) { while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE)) __asm__ volatile("pause"); }
static void unlock(void) { __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE); }

static void send_ipi(uint32_t high, uint32_t low) {
	lapic_write(LAPIC_ICR_HIGH, high);
	lapic_write(LAPIC_ICR_LOW, low);
	while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING) __asm__ volatile("pause");
}

/* What this CPU's CPUID says about it and the package: 1 if consistent with `cpus` processors.
 * HTT means "EBX[23:16] is valid", so it must be set for several CPUs and may be for one. */
static int topology_ok(uint32_t apic_id, uint32_t cpus, int print) {
	uint32_t l1[4], smt[4], core[4];
	cpuid(1, 0, l1);
	cpuid(TOPOLOGY_LEAF, 0, smt);
	cpuid(TOPOLOGY_LEAF, 1, core);
	uint32_t logical = (l1[1] >> 16) & 0xff;
	int htt = (l1[3] >> 28) & 1;
	if (print) {
		puts_("cpuid 0x1: apic id "); putdec(l1[1] >> 24); puts_(", logical processors "); putdec(logical);
		puts_("; 0xb: x2apic id "); putdec(smt[3]); puts_(", threads/core "); putdec(smt[1] & 0xffff);
		puts_(", processors/package "); putdec(core[1] & 0xffff);
		puts_(", core level type "); putdec((core[2] >> 8) & 0xff); puts_(", htt "); putdec((uint64_t)htt); putc_('\n');
	}
	return (l1[1] >> 24) == apic_id && smt[3] == apic_id && core[3] == apic_id
		&& (smt[1] & 0xffff) == 1 && ((core[2] >> 8) & 0xff) == TOPOLOGY_LEVEL_CORE
		&& (core[1] & 0xffff) == cpus && logical == cpus && (htt || cpus == 1);
}

static void ipi_handler(int vector) { (void)vector; }

void ap_main(void) {
	irq_init_cpu();
	uint32_t r[4];
	cpuid(1, 0, r);
	uint32_t id = r[1] >> 24;
	lock();
	puts_("ap up: apic id "); putdec(id);
	puts_(" (lapic id register "); putdec(lapic_read(LAPIC_ID) >> 24); puts_(")\n");
	int ok = topology_ok(id, expected, 0) && (lapic_read(LAPIC_ID) >> 24) == id && id != 0 && id < expected;
	if (!ok) {
		topology_ok(id, expected, 1);
		puts_("FAIL ap topology\n");
		failures++;
	}
	__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
	unlock();
	send_ipi(0, ICR_ASSERT | VECTOR_IPI); /* to APIC 0, the BSP */
}

void smp_test(const char *cmdline) {
	const char *n = arg(cmdline, "cpus=");
	expected = n ? (uint32_t)parsehex(n) : 1;
	check(topology_ok(0, expected, 1), "BSP's CPUID topology (0x1, 0xb) matches cpus=");
	if (expected < 2) return;
	if (expected > AP_MAX) { check(0, "at most 8 cpus supported by this guest"); return; }
	irq_init();
	irq_set_handler(VECTOR_IPI, ipi_handler);
	uint8_t *dst = (uint8_t *)TRAMPOLINE_BASE;
	for (char *p = trampoline_start; p < trampoline_end; p++) *dst++ = (uint8_t)*p;
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	*(volatile uint32_t *)(TRAMPOLINE_BASE + (tr_cr3 - trampoline_start)) = (uint32_t)cr3;
	puts_("starting APs\n");
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | (TRAMPOLINE_BASE >> 12));
	send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | (TRAMPOLINE_BASE >> 12));
	wait_until_at_least(&arrived, expected - 1);
	lock();
	puts_("aps reported: "); putdec(arrived); putc_('\n');
	unlock();
	check(arrived == expected - 1, "every AP started and reported");
}
