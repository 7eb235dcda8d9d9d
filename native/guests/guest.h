/* Shared by the test guest's files: port and MMIO access, COM1 output, checks. */
#ifndef VESSEL_GUEST_H
#define VESSEL_GUEST_H
#include <stdint.h>

#define COM1 0x3f8
#define LAPIC_BASE 0xfee00000u
#define IOAPIC_BASE 0xfec00000u
/* Interrupt vectors: GSI n arrives as VECTOR_GSI0 + n; APs wake the BSP with VECTOR_IPI. */
#define VECTOR_GSI0 0x20
#define VECTOR_IPI 0x40
#define VECTOR_SPURIOUS 0xff

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mfence(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

void putc_(char c);
void puts_(const char *s);
void puthex(uint64_t v);
void putdec(uint64_t v);
void check(int ok, const char *what);
const char *arg(const char *cmdline, const char *key);
uint64_t parsehex(const char *p);
uint32_t fnv1a(const uint8_t *p, uint64_t n);

/* Interrupts (irq.c): the IDT, LAPIC and IOAPIC; handlers run with the vector. */
typedef void (*irq_handler_fn)(int vector);
void irq_init(void);
void irq_route_gsi(int gsi, irq_handler_fn fn);
void irq_set_handler(int vector, irq_handler_fn fn);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_read(uint32_t reg);
/* Sleeps (sti; hlt) until *flag differs from old: no busy loop. */
void wait_change(volatile uint32_t *flag, uint32_t old);
void wait_until_at_least(volatile uint32_t *counter, uint32_t want);

void uart_irq_test(const char *cmdline);
int uart_irq_echo(void);
void smp_test(const char *cmdline);
void virtio_test(const char *cmdline);

extern int failures;
#endif
