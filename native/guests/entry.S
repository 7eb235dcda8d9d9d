/*
 * Entry points of the Vessel test guest.
 *  pvh_entry: 32-bit protected mode, paging off, %ebx = struct hvm_start_info (PVH boot ABI).
 *             Builds identity page tables for 4 GiB, enters long mode itself.
 *  _start64:  the ELF's e_entry, the Linux 64-bit boot protocol: long mode, %rsi = boot_params.
 * Both call guest_main(mode, info) on the guest's own stack.
 */
#define BOOT_TIMER_PORT 0x440
#define MODE_PVH 1
#define MODE_LINUX64 2

	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_entry

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	movw $BOOT_TIMER_PORT, %dx
	outb %al, %dx
	movl %ebx, %esi                 /* keep the start_info pointer */
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; PD entries: 2 MiB pages */
	movl $pml4, %edi
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, (%edi)
	movl $pdpt, %edi
	movl $pd, %eax
	orl $3, %eax
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $8, %edi
	addl $4096, %eax
	loop 1b
	movl $pd, %edi
	movl $0x83, %eax                /* present, writable, 2 MiB */
	xorl %edx, %edx
	movl $2048, %ecx
2:	movl %eax, (%edi)
	movl %edx, 4(%edi)
	addl $8, %edi
	addl $0x200000, %eax
	adcl $0, %edx
	loop 2b
	lgdt gdt_desc
	movl %cr4, %eax
	orl $0x20, %eax                 /* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx          /* EFER */
	rdmsr
	orl $0x100, %eax                /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	movl %eax, %cr0
	ljmp $0x08, $long_mode_pvh

	.code64
long_mode_pvh:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	leaq stack_top(%rip), %rsp
	movl $MODE_PVH, %edi
	/* %rsi: start_info, zero-extended by the 32-bit mov above */
	call guest_main
3:	hlt
	jmp 3b

	.globl _start64
_start64:
	cli
	movw $BOOT_TIMER_PORT, %dx
	outb %al, %dx
	leaq stack_top(%rip), %rsp
	movl $MODE_LINUX64, %edi
	/* %rsi: boot_params */
	call guest_main
4:	hlt
	jmp 4b

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00AF9B000000FFFF        /* 64-bit code */
	.quad 0x00CF93000000FFFF        /* data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096 * 4
	.balign 16
stack:	.skip 16384
stack_top:
