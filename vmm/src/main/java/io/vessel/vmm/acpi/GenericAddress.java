package io.vessel.vmm.acpi;

/**
 * A Generic Address Structure (ACPI 6.5, section 5.2.3.2): where a register lives (I/O port or
 * memory), how wide it is and how it must be accessed. The FADT points at its registers this way.
 */
public record GenericAddress(int spaceId, int bitWidth, int bitOffset, int accessSize, long address) {
    public static final int SYSTEM_MEMORY = 0;
    public static final int SYSTEM_IO = 1;
    /** Access size code 1: byte access. */
    public static final int BYTE_ACCESS = 1;
    static final int LENGTH = 12;
    public static final GenericAddress NONE = new GenericAddress(0, 0, 0, 0, 0);

    /** A one-byte register at I/O port {@code port}. */
    public static GenericAddress ioByte(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("I/O port 0x" + Integer.toHexString(port) + " is not a 16-bit port");
        }
        return new GenericAddress(SYSTEM_IO, 8, 0, BYTE_ACCESS, port);
    }

    void encode(LeBytes out) {
        out.u8(spaceId).u8(bitWidth).u8(bitOffset).u8(accessSize).u64(address);
    }
}
