/*
 * Interrupts for the test guest: an IDT whose 256 stubs (entry.S) call irq_dispatch, the LAPIC
 * software-enabled, the 8259 PICs masked (KVM's PIC would otherwise deliver ISA IRQs through
 * LINT0 as ExtINT), and IOAPIC pins routed edge-triggered to the BSP at VECTOR_GSI0 + pin.
 */
#include "guest.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_SVR_ENABLE 0x100
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REDTBL 0x10
#define DEBUG_EXIT 0x501
#define EXIT_EXCEPTION 3
#define KERNEL_CS 0x08
#define GATE_INTERRUPT 0x8e
#define STUB_SIZE 16

struct gate { uint16_t off0, sel; uint8_t ist, attr; uint16_t off1; uint32_t off2, zero; } __attribute__((packed));
static struct gate idt[256] __attribute__((aligned(16)));
static struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
static irq_handler_fn handlers[256];
extern char isr_stubs[];

void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }

static void ioapic_write(uint32_t reg, uint32_t v) {
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WINDOW, v);
}

/* Called by the stubs with interrupts off. Exceptions end the guest: nothing here returns from one. */
void irq_dispatch(uint64_t vector, uint64_t rip_or_error) {
	if (vector < 32) {
		puts_("EXCEPTION "); putdec(vector); puts_(" near "); puthex(rip_or_error); putc_('\n');
		outb(DEBUG_EXIT, EXIT_EXCEPTION);
		for (;;) __asm__ volatile("cli; hlt");
	}
	if (handlers[vector]) handlers[vector]((int)vector);
	if (vector != VECTOR_SPURIOUS) lapic_write(LAPIC_EOI, 0);
}

/* This CPU's half: load the shared IDT and software-enable its LAPIC. */
void irq_init_cpu(void) {
	__asm__ volatile("lidt %0" : : "m"(idtr));
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VECTOR_SPURIOUS);
}

void irq_init(void) {
	static int done;
	if (done) return;
	done = 1;
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)isr_stubs + (uint64_t)v * STUB_SIZE;
		idt[v] = (struct gate){ (uint16_t)a, KERNEL_CS, 0, GATE_INTERRUPT, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
	}
	idtr.limit = sizeof idt - 1;
	idtr.base = (uint64_t)idt;
	irq_init_cpu();
}

void irq_set_handler(int vector, irq_handler_fn fn) { handlers[vector] = fn; }

/* IOAPIC pin gsi: fixed delivery, physical destination APIC 0, active high, edge, unmasked. */
void irq_route_gsi(int gsi, irq_handler_fn fn) {
	irq_set_handler(VECTOR_GSI0 + gsi, fn);
	ioapic_write(IOAPIC_REDTBL + 2 * gsi + 1, 0);
	ioapic_write(IOAPIC_REDTBL + 2 * gsi, VECTOR_GSI0 + gsi);
}

/* "sti; hlt" takes an interrupt that became pending after the check, so none is missed. */
void wait_change(volatile uint32_t *flag, uint32_t old) {
	__asm__ volatile("cli");
	while (*flag == old) __asm__ volatile("sti; hlt; cli" ::: "memory");
}

void wait_until_at_least(volatile uint32_t *counter, uint32_t want) {
	__asm__ volatile("cli");
	while (*counter < want) __asm__ volatile("sti; hlt; cli" ::: "memory");
}
