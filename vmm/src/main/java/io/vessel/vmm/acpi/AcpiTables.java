package io.vessel.vmm.acpi;

import io.vessel.vmm.memory.GuestMemory;

import java.util.List;

/**
 * A guest's ACPI tables: RSDP → XSDT → {FADT → DSDT, MADT}. {@link #build} makes the tables that
 * depend only on the machine (DSDT, MADT); {@link #place} lays all five out from an RSDP address
 * (the tables that hold pointers are made there), and {@link #writeTo} copies them into guest RAM.
 *
 * <p>The usual home is {@link #RSDP_ADDRESS}, in the BIOS area that Linux scans for the RSDP when
 * no boot protocol hands it over; the tables follow the RSDP and must end below 1 MiB there, as
 * the kernel is loaded at 1 MiB. The loader reports the range ({@link Placement#start()} to
 * {@link Placement#end()}) as reserved in the e820 map and, for PVH, passes the RSDP address in
 * {@code hvm_start_info.rsdp_paddr}.
 */
public final class AcpiTables {
    /** Start of the BIOS read-only area, where Linux's legacy RSDP scan begins (0xE0000-0xFFFFF). */
    public static final long RSDP_ADDRESS = 0xE_0000L;
    /** End of the BIOS area: the first byte past real-mode memory, where kernels load. */
    public static final long BIOS_AREA_END = 0x10_0000L;
    /** The RSDP must sit on a 16-byte boundary to be found by the scan; tables follow on the same boundary. */
    public static final int ALIGNMENT = 16;

    private final Platform platform;
    private final byte[] dsdt;
    private final byte[] madt;

    private AcpiTables(Platform platform) {
        this.platform = platform;
        this.dsdt = Dsdt.build(platform);
        this.madt = Madt.build(platform);
    }

    /** Tables for {@code vcpus} vCPUs, COM1, the i8042 and the virtio-mmio {@code devices}. */
    public static AcpiTables build(int vcpus, List<MmioDeviceInfo> devices) {
        return new AcpiTables(Platform.standard(vcpus, devices));
    }

    public static AcpiTables build(Platform platform) {
        return new AcpiTables(platform);
    }

    public Platform platform() {
        return platform;
    }

    /** The DSDT image (it holds no addresses, so it is the same wherever it goes). */
    public byte[] dsdt() {
        return dsdt.clone();
    }

    public byte[] madt() {
        return madt.clone();
    }

    /**
     * All five tables laid out from {@code rsdpAddress}: RSDP, XSDT, FADT, MADT, DSDT, each on a
     * 16-byte boundary.
     *
     * @throws IllegalArgumentException if the address is not 16-byte aligned, or the tables would
     *                                  run from the BIOS area past 1 MiB or past 4 GiB
     */
    public Placement place(long rsdpAddress) {
        if (rsdpAddress < 0 || rsdpAddress % ALIGNMENT != 0) {
            throw new IllegalArgumentException("RSDP address 0x" + Long.toHexString(rsdpAddress) + " must be on a 16-byte boundary");
        }
        long xsdtAt = align(rsdpAddress + Rsdp.LENGTH);
        long xsdtLength = SystemDescriptionTable.HEADER_LENGTH + 2 * Long.BYTES;
        long fadtAt = align(xsdtAt + xsdtLength);
        long madtAt = align(fadtAt + Fadt.LENGTH);
        long dsdtAt = align(madtAt + madt.length);
        long end = dsdtAt + dsdt.length;
        if (rsdpAddress < BIOS_AREA_END && end > BIOS_AREA_END) {
            throw new IllegalArgumentException("ACPI tables from 0x" + Long.toHexString(rsdpAddress) + " need " + (end - rsdpAddress)
                    + " bytes and would run past 1 MiB (0x" + Long.toHexString(end) + "): place them lower or elsewhere");
        }
        if (end > 1L << 32) {
            throw new IllegalArgumentException("ACPI tables at 0x" + Long.toHexString(rsdpAddress) + " would end above 4 GiB");
        }
        byte[] fadt = Fadt.build(dsdtAt, platform);
        byte[] xsdt = Xsdt.build(List.of(fadtAt, madtAt));
        byte[] rsdp = Rsdp.build(xsdtAt);
        return new Placement(List.of(
                new Placement.Table("RSDP", rsdpAddress, rsdp),
                new Placement.Table("XSDT", xsdtAt, xsdt),
                new Placement.Table("FACP", fadtAt, fadt),
                new Placement.Table("APIC", madtAt, madt.clone()),
                new Placement.Table("DSDT", dsdtAt, dsdt.clone())));
    }

    /**
     * Places the tables at {@code rsdpAddress} and writes them into {@code memory}, after checking
     * that the whole range is RAM (nothing is written otherwise).
     *
     * @throws IllegalArgumentException if the range is not in guest RAM or {@link #place} refuses it
     */
    public Placement writeTo(GuestMemory memory, long rsdpAddress) {
        Placement p = place(rsdpAddress);
        if (!memory.isRam(p.start(), p.end() - p.start())) {
            throw new IllegalArgumentException("ACPI tables [0x" + Long.toHexString(p.start()) + ", 0x" + Long.toHexString(p.end())
                    + ") are not in guest RAM of " + memory.size() + " bytes");
        }
        for (Placement.Table t : p.tables()) {
            memory.write(t.address(), t.bytes());
        }
        return p;
    }

    private static long align(long address) {
        return (address + ALIGNMENT - 1) & -ALIGNMENT;
    }
}
