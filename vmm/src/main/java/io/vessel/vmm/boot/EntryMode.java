package io.vessel.vmm.boot;

/**
 * How the boot vCPU enters the kernel. {@link #PVH}: 32-bit protected mode, paging off, {@code ebx}
 * = hvm_start_info (Xen's PVH boot ABI, which Linux implements in arch/x86/platform/pvh).
 * {@link #LINUX_64}: long mode on identity page tables, {@code rsi} = boot_params (the 64-bit
 * boot protocol of Documentation/arch/x86/boot.rst).
 */
public enum EntryMode {
    PVH,
    LINUX_64
}
