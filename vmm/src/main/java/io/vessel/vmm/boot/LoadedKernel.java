package io.vessel.vmm.boot;

/**
 * A kernel image copied into guest memory: where the boot vCPU starts, in which mode, and the
 * first guest-physical byte after the kernel (initrds go above it). {@code setupHeader} is the
 * bzImage's setup header (to copy into boot_params), or null for an ELF.
 */
public record LoadedKernel(EntryMode mode, long entry, long end, long initrdAddrMax, byte[] setupHeader) {
}
