package io.vessel.vmm.boot;

/**
 * Every fixed guest-physical address of an x86-64 guest, named once. Below 1 MiB: the boot data
 * structures (all in the first 640 KiB, which every PC-compatible OS treats as RAM); the kernel
 * from {@link #HIMEM_START}; KVM's private pages and the LAPIC/IOAPIC high in the 32-bit MMIO hole.
 */
public final class Layout {
    /** The boot GDT: null, code, data, TSS descriptors (8 bytes each). */
    public static final long GDT = 0x500;
    /** An empty IDT's base: the guest installs its own before enabling interrupts. */
    public static final long IDT = 0x520;
    /** PVH: struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), 56 bytes. */
    public static final long PVH_START_INFO = 0x6000;
    /** PVH: the module list (the initrd), 32 bytes an entry. */
    public static final long PVH_MODLIST = 0x6040;
    /** PVH: the memory map, 24 bytes an entry, up to {@link #E820_MAX_ENTRIES}. */
    public static final long PVH_MEMMAP = 0x6100;
    /** Linux boot protocol: struct boot_params, the "zero page" (Documentation/arch/x86/boot.rst). */
    public static final long ZERO_PAGE = 0x7000;
    /** The 64-bit entry's initial stack pointer: below the page tables, grows down. */
    public static final long BOOT_STACK_POINTER = 0x8FF0;
    /** Identity page tables for the 64-bit entry: PML4, one PDPT, four PDs of 2 MiB pages (4 GiB). */
    public static final long PML4 = 0x9000, PDPT = 0xA000, PD = 0xB000;
    public static final int PD_PAGES = 4;
    /** The kernel command line, NUL-terminated, at most {@link #CMDLINE_MAX_SIZE} bytes with the NUL. */
    public static final long CMDLINE = 0x20000;
    public static final int CMDLINE_MAX_SIZE = 0x10000;
    /** Where the ACPI tables may go (vmm.acpi): the BIOS read-only area that OSes scan for the RSDP. */
    public static final long ACPI_AREA = 0xE0000;
    /** Start of the extended BIOS data area: usable low RAM ends here. */
    public static final long EBDA_START = 0x9FC00;
    /** 1 MiB: the first byte above the legacy hole, where kernels are loaded. */
    public static final long HIMEM_START = 0x10_0000;
    /** KVM_SET_IDENTITY_MAP_ADDR's page and KVM_SET_TSS_ADDR's three pages, just under the BIOS ROM. */
    public static final long KVM_IDENTITY_MAP = 0xFFFB_C000L, KVM_TSS = 0xFFFB_D000L;
    /** The LAPIC's default base (Intel SDM vol. 3, 11.4.1) and the IOAPIC's (82093AA datasheet). */
    public static final long LAPIC_BASE = 0xFEE0_0000L, IOAPIC_BASE = 0xFEC0_0000L;
    /**
     * The virtio-mmio transports' register windows: one page each ({@code MmioTransport.WINDOW_SIZE}),
     * one after the other from here, in the 32-bit MMIO hole above RAM's end (GuestMemory.MMIO_HOLE_START)
     * and far below the IOAPIC and LAPIC.
     */
    public static final long VIRTIO_MMIO_BASE = 0xD000_0000L, VIRTIO_MMIO_STRIDE = 0x1000;
    /**
     * The GSIs of the virtio-mmio devices, one each from here: 0-4 belong to the PIT, keyboard, cascade
     * and COM2/COM1 of the PC/AT assignment; KVM's IOAPIC has 24 pins (KVM_IOAPIC_NUM_PINS), so 19 devices fit.
     */
    public static final int VIRTIO_FIRST_GSI = 5, IOAPIC_PINS = 24;
    public static final int VIRTIO_MAX_DEVICES = IOAPIC_PINS - VIRTIO_FIRST_GSI;
    /** The most E820 entries the zero page holds (boot_params.e820_table[E820_MAX_ENTRIES_ZEROPAGE]). */
    public static final int E820_MAX_ENTRIES = 128;

    private Layout() {
    }
}
