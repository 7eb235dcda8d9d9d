/*
 * The COM1 interrupt as Linux's 8250 driver uses it: IRQ 4 on the IOAPIC, IIR read in the
 * handler to learn the cause (THR empty, received data).
 */
#include "guest.h"

#define UART_IER 1
#define UART_IIR 2
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID 0x0e
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define COM1_GSI 4

static volatile uint32_t uart_irqs, thr_seen, rx_count;
static volatile uint8_t rx_byte;

static void uart_handler(int vector) {
	(void)vector;
	uart_irqs++;
	for (;;) {
		uint8_t iir = inb(COM1 + UART_IIR);
		if (iir & UART_IIR_NO_INT) break;
		if ((iir & UART_IIR_ID) == UART_IIR_THRI) thr_seen++;
		if ((iir & UART_IIR_ID) == UART_IIR_RDI) { rx_byte = inb(COM1); rx_count++; }
	}
}

void uart_irq_test(const char *cmdline) {
	(void)cmdline;
	irq_init();
	irq_route_gsi(COM1_GSI, uart_handler);
	outb(COM1 + UART_IER, UART_IER_THRI);
	wait_change(&uart_irqs, 0);
	outb(COM1 + UART_IER, 0);
	__asm__ volatile("sti; nop; cli");
	puts_("uart interrupts: "); putdec(uart_irqs); putc_('\n');
	check(thr_seen > 0, "uart raised IRQ 4 (THR empty) through the IOAPIC");
}

/* Waits for one received byte by interrupt, not by polling, and returns it. */
int uart_irq_echo(void) {
	irq_init();
	irq_route_gsi(COM1_GSI, uart_handler);
	puts_("waiting for input (interrupt)\n");
	outb(COM1 + UART_IER, UART_IER_RDI);
	wait_change(&rx_count, 0);
	outb(COM1 + UART_IER, 0);
	puts_("got input by interrupt\n");
	return rx_byte;
}
