package io.vessel.vmm.boot;

import java.util.List;

/**
 * A guest ready to start: memory holds the kernel, initrd, command line, boot information
 * ({@code bootInfo}: hvm_start_info for PVH, boot_params otherwise), GDT and page tables; the
 * boot vCPU is to enter at {@code entry} in {@code mode}.
 */
public record BootPlan(EntryMode mode, long entry, long bootInfo, List<E820Entry> e820, long initrdAddress, long initrdSize) {
}
