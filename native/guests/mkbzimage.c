/*
 * mkbzimage PAYLOAD END > IMAGE (END: the image's _end in hex, for init_size): puts a Linux boot protocol 2.15 setup header in front of
 * a flat protected-mode image (the test guest linked at 1 MiB by guest-bz.ld), as the kernel's
 * arch/x86/boot/header.S lays it out: one boot sector plus SETUP_SECTS setup sectors, the
 * protected-mode part after them. Field offsets and meanings: Documentation/arch/x86/boot.rst.
 * The real-mode setup code itself is absent: this image is for loaders that use the 64-bit
 * entry (0x200 into the protected-mode part), as a VMM does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512
#define SETUP_SECTS 1
#define PROTOCOL_2_15 0x020f
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02
#define LOAD_ADDRESS 0x100000u
#define ALIGNMENT_SHIFT 20            /* 1 MiB: where it is linked, the only place it runs */
#define CMDLINE_SIZE 0xffff
#define INITRD_ADDR_MAX 0x7fffffffu
#define HEADER_END 0x26c              /* just past kernel_info_offset, the last 2.15 field */

static void put16(uint8_t *b, int off, uint16_t v) { b[off] = (uint8_t)v; b[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *b, int off, uint32_t v) { put16(b, off, (uint16_t)v); put16(b, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *b, int off, uint64_t v) { put32(b, off, (uint32_t)v); put32(b, off + 4, (uint32_t)(v >> 32)); }

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: mkbzimage PAYLOAD END_ADDRESS_HEX > IMAGE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) { perror(argv[1]); return 1; }
	static uint8_t payload[16 << 20];
	size_t n = fread(payload, 1, sizeof payload, f);
	if (ferror(f) || !feof(f)) { fprintf(stderr, "%s: unreadable or larger than 16 MiB\n", argv[1]); return 1; }
	fclose(f);
	unsigned long end = strtoul(argv[2], NULL, 16);
	if (end <= LOAD_ADDRESS) { fprintf(stderr, "end address %s is not above the load address\n", argv[2]); return 1; }
	uint32_t init_size = (uint32_t)(end - LOAD_ADDRESS);
	if (init_size < n) { fprintf(stderr, "init_size 0x%x is smaller than the payload (%zu bytes)\n", init_size, n); return 1; }

	uint8_t setup[(SETUP_SECTS + 1) * SECTOR];
	memset(setup, 0, sizeof setup);
	setup[0x1f1] = SETUP_SECTS;
	put32(setup, 0x1f4, (uint32_t)((n + 15) / 16));        /* syssize, 16-byte paragraphs */
	put16(setup, 0x1fa, 0xffff);                           /* vid_mode: normal */
	put16(setup, 0x1fe, 0xaa55);                           /* boot_flag */
	setup[0x200] = 0xeb;                                   /* jump over the header... */
	setup[0x201] = HEADER_END - 0x202;                     /* ...whose end it also marks */
	memcpy(setup + 0x202, "HdrS", 4);
	put16(setup, 0x206, PROTOCOL_2_15);
	put16(setup, 0x20c, 0x1000);                           /* start_sys_seg (obsolete) */
	setup[0x211] = LOADED_HIGH;                            /* loadflags: protected-mode part at 1 MiB */
	put32(setup, 0x214, LOAD_ADDRESS);                     /* code32_start */
	put32(setup, 0x22c, INITRD_ADDR_MAX);
	put32(setup, 0x230, 1u << ALIGNMENT_SHIFT);            /* kernel_alignment */
	setup[0x234] = 1;                                      /* relocatable_kernel */
	setup[0x235] = ALIGNMENT_SHIFT;                        /* min_alignment */
	put16(setup, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(setup, 0x238, CMDLINE_SIZE);
	put64(setup, 0x258, LOAD_ADDRESS);                     /* pref_address */
	put32(setup, 0x260, init_size);
	setup[SECTOR - 2] = 0x55;                              /* the boot sector's own signature */
	setup[SECTOR - 1] = 0xaa;

	if (fwrite(setup, 1, sizeof setup, stdout) != sizeof setup || fwrite(payload, 1, n, stdout) != n || fflush(stdout)) {
		perror("writing the image");
		return 1;
	}
	return 0;
}
