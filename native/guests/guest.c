/*
 * The Vessel test guest: checks the boot state the VMM gave it and reports over COM1, then
 * exits through the debug port (0x501) with 0 when every check passed, 1 otherwise.
 * Command line words it understands:
 *   initrd_sum=HEX   FNV-1a 32-bit checksum the initrd must have
 *   reset            ask the i8042 for a reset after the checks
 *   echo             wait for one byte on COM1 and exit with it as the status (with irq: by interrupt)
 *   irq              take a COM1 THR-empty interrupt through the IOAPIC (IRQ 4)
 *   cpus=HEX         check CPUID topology for that many CPUs and start the APs (INIT/SIPI)
 *   virtio_mmio.device=4K@0xBASE:GSI  drive each virtio-blk / virtio-rng device there
 *                    (also virtio-net and virtio-vsock: net.c, vsock.c)
 *   blk_sectors=HEX blk_sum=HEX        the disk's size and the FNV-1a sum of its sectors 0-3
 *   net_ip=HEX net_peer=HEX [net_tcp=HEX]  the guest's and the host's IPv4 addresses: ARP, ICMP echo
 *                    (and a TCP exchange with a peer on that port)
 *   vsock_port=HEX vsock_listen=HEX     connect to that host port and echo; listen there for the host
 *   poke=ADDR,VAL    write the 32-bit VAL to MMIO address ADDR (hex)
 *   bzimage          expect a bzImage's setup header in boot_params
 *   keys             wait for four bytes from the i8042 keyboard, print them, exit 0
 *   poweroff         power off through the ACPI sleep control register after the checks
 * It also walks the ACPI tables from the RSDP address the boot protocol gives (signatures,
 * checksums, FADT -> DSDT) and checks that the e820 map reserves them.
 * Freestanding, no SSE, tiny loops: on a PVM host every instruction here is emulated.
 */
#include "guest.h"

#define DEBUG_EXIT 0x501
#define I8042_COMMAND 0x64
#define I8042_DATA 0x60
#define MODE_PVH 1
#define MODE_LINUX64 2
#define HVM_START_MAGIC 0x336ec578u
#define E820_RAM 1
#define E820_RESERVED 2
#define ACPI_SLEEP_CONTROL 0x3c0
#define ACPI_S5_SLEEP 0x34 /* SLP_TYP 5 << 2 | SLP_EN */
#define I8042_WRITE_COMMAND_BYTE 0x60
#define I8042_CB_KEYBOARD_INTERRUPT 0x01 /* and no translation: scancode set 2 */
#define I8042_STATUS_OBF 0x01
#define KEYBOARD_GSI 1
#define KEYS 4

void putc_(char c) {
	while (!(inb(COM1 + 5) & 0x20)) { }
	outb(COM1, (uint8_t)c);
}
void puts_(const char *s) { while (*s) putc_(*s++); }
void puthex(uint64_t v) {
	char b[19]; int i = 18; b[i--] = 0;
	do { b[i--] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
	b[i--] = 'x'; b[i] = '0';
	puts_(&b[i]);
}
void putdec(uint64_t v) {
	char b[21]; int i = 20; b[i--] = 0;
	do { b[i--] = (char)('0' + v % 10); v /= 10; } while (v);
	puts_(&b[i + 1]);
}

int failures;
void check(int ok, const char *what) {
	puts_(ok ? "ok   " : "FAIL ");
	puts_(what);
	putc_('\n');
	if (!ok) failures++;
}

/* The value of word "key=" on the command line, or 0. */
const char *arg(const char *cmdline, const char *key) {
	for (const char *p = cmdline; *p; p++) {
		if (p != cmdline && p[-1] != ' ') continue;
		const char *k = key, *q = p;
		while (*k && *q == *k) { k++; q++; }
		if (!*k) return q;
	}
	return 0;
}
uint64_t parsehex(const char *p) {
	uint64_t v = 0;
	for (;; p++) {
		char c = *p;
		if (c >= '0' && c <= '9') v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v = v * 16 + (uint64_t)(c - 'a' + 10);
		else return v;
	}
}
uint32_t fnv1a(const uint8_t *p, uint64_t n) {
	uint32_t h = 2166136261u;
	for (uint64_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
	return h;
}

struct e820 { uint64_t addr, size; uint32_t type; };

static uint8_t sum8(const uint8_t *p, uint32_t n) { uint8_t s = 0; while (n--) s += *p++; return s; }
static int sig_is(const uint8_t *p, const char *s) { for (; *s; s++, p++) if (*p != (uint8_t)*s) return 0; return 1; }
static void putn(const uint8_t *p, int n) { while (n--) putc_((char)*p++); }

/* RSDP -> XSDT -> each table (signature, length, checksum); the FADT's X_DSDT -> DSDT. Returns the end of the last table. */
static uint64_t check_acpi(uint64_t rsdp) {
	uint64_t end = 0;
	puts_("acpi: RSDP at "); puthex(rsdp); putc_('\n');
	if (!rsdp) { check(0, "the boot protocol gives an RSDP address"); return 0; }
	const uint8_t *r = (const uint8_t *)rsdp;
	int ok = sig_is(r, "RSD PTR ") && sum8(r, 20) == 0 && r[15] >= 2 && sum8(r, *(const uint32_t *)(r + 20)) == 0;
	puts_("acpi: OEM "); putn(r + 9, 6); putc_('\n');
	check(ok, "RSDP signature, revision and both checksums");
	if (!ok) return 0;
	const uint8_t *x = (const uint8_t *)*(const uint64_t *)(r + 24);
	uint32_t xlen = *(const uint32_t *)(x + 4);
	check(sig_is(x, "XSDT") && xlen >= 36 && sum8(x, xlen) == 0, "XSDT signature and checksum");
	int tables = 1, dsdt = 0;
	for (uint32_t i = 0; 36 + (i + 1) * 8 <= xlen; i++) {
		const uint8_t *t = (const uint8_t *)*(const uint64_t *)(x + 36 + i * 8);
		uint32_t len = *(const uint32_t *)(t + 4);
		puts_("acpi: "); putn(t, 4); puts_(" at "); puthex((uint64_t)t); puts_(" length "); putdec(len); putc_('\n');
		if (len < 36 || sum8(t, len) != 0) tables = 0;
		if ((uint64_t)t + len > end) end = (uint64_t)t + len;
		if (sig_is(t, "FACP") && len >= 148) {
			const uint8_t *d = (const uint8_t *)*(const uint64_t *)(t + 140);
			uint32_t dlen = *(const uint32_t *)(d + 4);
			puts_("acpi: DSDT at "); puthex((uint64_t)d); puts_(" length "); putdec(dlen); putc_('\n');
			dsdt = sig_is(d, "DSDT") && dlen >= 36 && sum8(d, dlen) == 0;
			if ((uint64_t)d + dlen > end) end = (uint64_t)d + dlen;
		}
	}
	check(tables, "every table in the XSDT has a good checksum");
	check(dsdt, "the FADT's X_DSDT points at a DSDT with a good checksum");
	return end;
}

/* Whether [start, end) lies in one reserved entry of the memory map. */
static int reserved(const struct e820 *map, uint32_t n, uint32_t stride, uint64_t start, uint64_t end) {
	for (uint32_t i = 0; i < n; i++) {
		const struct e820 *e = (const struct e820 *)((const uint8_t *)map + i * stride);
		if (e->type == E820_RESERVED && e->addr <= start && end <= e->addr + e->size) return 1;
	}
	return 0;
}

static void check_memmap(const struct e820 *map, uint32_t n, uint32_t stride) {
	int low = 0, high = 0;
	puts_("e820 entries: "); putdec(n); putc_('\n');
	for (uint32_t i = 0; i < n; i++) {
		const struct e820 *e = (const struct e820 *)((const uint8_t *)map + i * stride);
		puts_("  "); puthex(e->addr); puts_(" +"); puthex(e->size); puts_(" type "); putdec(e->type); putc_('\n');
		if (e->type == E820_RAM && e->addr == 0) low = 1;
		if (e->type == E820_RAM && e->addr == 0x100000) high = 1;
	}
	check(n > 0 && low && high, "memory map has RAM at 0 and at 1 MiB");
}

static volatile uint32_t keyboard_irqs, key_count;
static volatile uint8_t keys[KEYS];

static void keyboard_handler(int vector) {
	(void)vector;
	keyboard_irqs++;
	while ((inb(I8042_COMMAND) & I8042_STATUS_OBF) && key_count < KEYS) keys[key_count++] = inb(I8042_DATA);
}

/* The keyboard as Linux's atkbd takes it: IRQ 1 through the IOAPIC, the bytes read in the handler. */
static void keys_by_interrupt(void) {
	irq_init();
	irq_route_gsi(KEYBOARD_GSI, keyboard_handler);
	outb(I8042_COMMAND, I8042_WRITE_COMMAND_BYTE);
	outb(I8042_DATA, I8042_CB_KEYBOARD_INTERRUPT);
	puts_("waiting for keys (interrupt)\n");
	wait_until_at_least(&key_count, KEYS);
	puts_("keys (interrupt):");
	for (int i = 0; i < KEYS; i++) { putc_(' '); puthex(keys[i]); }
	puts_("\nkeyboard interrupts: "); putdec(keyboard_irqs); putc_('\n');
	outb(DEBUG_EXIT, 0);
}

static void check_initrd(const char *cmdline, uint64_t addr, uint64_t size) {
	const char *want = arg(cmdline, "initrd_sum=");
	if (!want) { check(size == 0, "no initrd expected, none given"); return; }
	puts_("initrd at "); puthex(addr); puts_(" size "); putdec(size); putc_('\n');
	uint32_t sum = fnv1a((const uint8_t *)addr, size);
	puts_("initrd sum "); puthex(sum); putc_('\n');
	check(size > 0 && sum == (uint32_t)parsehex(want), "initrd checksum matches the command line");
}

static uint32_t cpuid_ebx1(void) {
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return b;
}

void guest_main(int mode, uint64_t info) {
	const char *cmdline = "";
	puts_("vessel-guest: boot mode ");
	puts_(mode == MODE_PVH ? "pvh" : "linux64");
	puts_(", info at "); puthex(info); putc_('\n');
	if (mode == MODE_PVH) {
		const uint8_t *si = (const uint8_t *)info;
		check(*(const uint32_t *)si == HVM_START_MAGIC, "ebx points at hvm_start_info (magic)");
		cmdline = (const char *)*(const uint64_t *)(si + 24);
		const struct e820 *map = (const struct e820 *)*(const uint64_t *)(si + 40);
		check_memmap(map, *(const uint32_t *)(si + 48), 24);
		uint64_t rsdp = *(const uint64_t *)(si + 32), end = check_acpi(rsdp);
		check(end && reserved(map, *(const uint32_t *)(si + 48), 24, rsdp, end), "the ACPI tables are reserved in the memory map");
		uint32_t mods = *(const uint32_t *)(si + 12);
		const uint64_t *mod = (const uint64_t *)*(const uint64_t *)(si + 16);
		puts_("cmdline: "); puts_(cmdline); putc_('\n');
		check_initrd(cmdline, mods ? mod[0] : 0, mods ? mod[1] : 0);
	} else {
		const uint8_t *bp = (const uint8_t *)info;
		check(*(const uint32_t *)(bp + 0x202) == 0x53726448u, "rsi points at boot_params (\"HdrS\")");
		check(bp[0x210] == 0xff, "type_of_loader is 0xff");
		cmdline = (const char *)(uint64_t)(*(const uint32_t *)(bp + 0x228) | (uint64_t)*(const uint32_t *)(bp + 0xc8) << 32);
		check_memmap((const struct e820 *)(bp + 0x2d0), bp[0x1e8], 20);
		uint64_t rsdp = *(const uint64_t *)(bp + 0x70), end = check_acpi(rsdp);
		check(end && reserved((const struct e820 *)(bp + 0x2d0), bp[0x1e8], 20, rsdp, end),
			"the ACPI tables are reserved in the memory map");
		puts_("cmdline: "); puts_(cmdline); putc_('\n');
		/* a bzImage's setup header is copied into boot_params by the loader (setup_sects and all);
		   for an ELF the VMM writes a minimal 2.12 header of its own, setup_sects 0 */
		uint16_t version = *(const uint16_t *)(bp + 0x206);
		int bzimage = bp[0x1f1] != 0;
		if (bzimage) {
			puts_("setup header: protocol "); puthex(version); puts_(", xloadflags "); puthex(*(const uint16_t *)(bp + 0x236));
			puts_(", init_size "); puthex(*(const uint32_t *)(bp + 0x260)); putc_('\n');
			check(version == 0x20f && (*(const uint16_t *)(bp + 0x236) & 1) && bp[0x234] == 1
				&& *(const uint32_t *)(bp + 0x214) == 0x100000 && (bp[0x211] & 1),
				"bzImage setup header in boot_params (2.15, XLF_KERNEL_64, relocatable, loaded high)");
		}
		if (arg(cmdline, "bzimage")) check(bzimage, "booted from the bzImage");
		check_initrd(cmdline, *(const uint32_t *)(bp + 0x218) | (uint64_t)*(const uint32_t *)(bp + 0xc0) << 32,
			*(const uint32_t *)(bp + 0x21c) | (uint64_t)*(const uint32_t *)(bp + 0xc4) << 32);
	}
	check(arg(cmdline, "vessel-test") != 0, "command line carries vessel-test");
	check((cpuid_ebx1() >> 24) == 0, "boot CPU has APIC ID 0");
	if (arg(cmdline, "cpus=")) smp_test(cmdline);
	if (arg(cmdline, "irq")) uart_irq_test(cmdline);
	virtio_test(cmdline);
	const char *poke = arg(cmdline, "poke=");
	if (poke) {
		uint64_t addr = parsehex(poke);
		while (*poke && *poke != ',') poke++;
		uint32_t value = *poke ? (uint32_t)parsehex(poke + 1) : 0;
		puts_("writing "); puthex(value); puts_(" to "); puthex(addr); putc_('\n');
		mmio_write32(addr, value);
	}
	puts_(failures ? "RESULT FAIL\n" : "RESULT PASS\n");
	if (arg(cmdline, "echo") && arg(cmdline, "irq")) outb(DEBUG_EXIT, (uint8_t)uart_irq_echo());
	if (arg(cmdline, "echo")) {
		puts_("waiting for input\n");
		while (!(inb(COM1 + 5) & 0x01)) { __asm__ volatile("pause"); }
		uint8_t c = inb(COM1);
		puts_("got input\n");
		outb(DEBUG_EXIT, c);
	}
	if (arg(cmdline, "keys_irq")) keys_by_interrupt();
	if (arg(cmdline, "keys")) {
		puts_("waiting for keys\n");
		puts_("keys:");
		for (int i = 0; i < 4; i++) {
			while (!(inb(I8042_COMMAND) & 0x01)) { __asm__ volatile("pause"); }
			putc_(' '); puthex(inb(I8042_DATA));
		}
		putc_('\n');
		outb(DEBUG_EXIT, 0);
	}
	if (arg(cmdline, "poweroff")) {
		puts_("powering off through the ACPI sleep control register\n");
		outb(ACPI_SLEEP_CONTROL, ACPI_S5_SLEEP);
	}
	if (arg(cmdline, "reset")) {
		puts_("resetting through the i8042\n");
		outb(I8042_COMMAND, 0xfe);
	}
	outb(DEBUG_EXIT, (uint8_t)(failures ? 1 : 0));
}
