/*
 * Entry points of the Vessel test guest.
 *  pvh_entry: 32-bit protected mode, paging off, %ebx = struct hvm_start_info (PVH boot ABI).
 *             Builds identity page tables for 4 GiB, enters long mode itself.
 *  _start64:  the ELF's e_entry, the Linux 64-bit boot protocol: long mode, %rsi = boot_params.
 * Both call guest_main(mode, info) on the guest's own stack.
 */
#define BOOT_TIMER_PORT 0x440
#define DEBUG_EXIT_PORT 0x501
/* COM1's transmit register: the guest's first output, a newline, lets a host time the first
   instruction from outside whatever the VMM (bench/vm-boot.sh timestamps the first console byte) */
#define COM1_THR 0x3f8
/* exit statuses of the entry code (guest_main's are 0 and 1; an exception's 3) */
#define EXIT_NO_32BIT_ENTRY 4
#define EXIT_WRONG_ADDRESS 5
#define MODE_PVH 1
#define MODE_LINUX64 2
#define AP_MAX 8
#define AP_STACK_SHIFT 12

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
	movw $COM1_THR, %dx
	movb $'\n', %al
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

/*
 * The bzImage's 32-bit entry (code32_start, the protected-mode part's first byte): this guest
 * implements only the 64-bit boot protocol, and says so through the debug exit port.
 */
	.section .text.head32, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	movw $DEBUG_EXIT_PORT, %dx
	movb $EXIT_NO_32BIT_ENTRY, %al
	outb %al, %dx
6:	hlt
	jmp 6b

	.section .text.start64, "ax"
	.code64
	.globl _start64
_start64:
	cli
	movw $BOOT_TIMER_PORT, %dx
	outb %al, %dx
	movw $COM1_THR, %dx
	movb $'\n', %al
	outb %al, %dx
	/* linked at a fixed address: a loader that relocated us gets a clear status, not a crash */
	leaq _start64(%rip), %rax
	cmpq $_start64, %rax
	jne wrong_address
	/* the boot protocol leaves clearing .bss to the kernel (%rsi, boot_params, is kept) */
	leaq __bss_start(%rip), %rdi
	leaq _end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	leaq stack_top(%rip), %rsp
	movl $MODE_LINUX64, %edi
	/* %rsi: boot_params */
	call guest_main
4:	hlt
	jmp 4b
wrong_address:
	movw $DEBUG_EXIT_PORT, %dx
	movb $EXIT_WRONG_ADDRESS, %al
	outb %al, %dx
	jmp 4b

	.section .text.entry, "ax"

/*
 * 256 interrupt stubs, 16 bytes apart (irq.c computes their addresses): each pushes its vector
 * and joins isr_common, which saves the caller-saved registers and calls irq_dispatch(vector,
 * the word above the vector: RIP, or an exception's error code).
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	/* 40 bytes of interrupt frame + 8 of vector + 80 here: %rsp is 16-byte aligned at the call */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq 80(%rsp), %rdi
	movq 88(%rsp), %rsi
	cld
	call irq_dispatch
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $8, %rsp
	iretq

/*
 * The AP trampoline: smp.c copies trampoline_start..trampoline_end to TRAMPOLINE_BASE (below
 * 1 MiB, 4 KiB aligned, the SIPI vector names its page) and fills tr_cr3. An AP starts here in
 * real mode with %cs = TRAMPOLINE_BASE >> 4, %ip = 0; it goes straight to long mode (PAE, the
 * BSP's page tables, EFER.LME, then PE and PG together) and far-jumps to ap_long_mode.
 */
#define TRAMPOLINE_BASE 0x10000
#define TR(x) ((x) - trampoline_start)
	.code16
	.globl trampoline_start, trampoline_end, tr_cr3
	.balign 16
trampoline_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl TR(tr_gdt_desc)
	movl TR(tr_cr3), %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax                 /* PAE */
	movl %eax, %cr4
	movl $0xC0000080, %ecx          /* EFER */
	rdmsr
	orl $0x100, %eax                /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* PG | PE */
	movl %eax, %cr0
	ljmpl $0x08, $ap_long_mode
	.balign 4
tr_cr3:
	.long 0
tr_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
trampoline_end:

	.code64
ap_long_mode:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movl $1, %eax
	xorl %ecx, %ecx
	cpuid
	shrl $24, %ebx                  /* initial APIC ID: this AP's stack */
	andl $(AP_MAX - 1), %ebx
	leaq ap_stacks(%rip), %rsp
	incl %ebx
	shlq $AP_STACK_SHIFT, %rbx
	addq %rbx, %rsp
	call ap_main
5:	cli
	hlt
	jmp 5b

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
	.balign 4096
ap_stacks:	.skip AP_MAX << AP_STACK_SHIFT
