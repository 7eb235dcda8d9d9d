package io.vessel.vmm.devices.virtio;

/** Device-independent feature bits (virtio 1.2, section 6 "Reserved Feature Bits"). */
public final class Features {
    /** The driver may use indirect descriptor tables (2.7.5.3). */
    public static final int INDIRECT_DESC = 28;
    /** used_event / avail_event suppress notifications (2.7.7, 2.7.10). */
    public static final int EVENT_IDX = 29;
    /** Compliance with virtio 1.x: a modern-only device refuses drivers that do not accept it. */
    public static final int VERSION_1 = 32;

    private Features() {
    }

    public static long bit(int bit) {
        return 1L << bit;
    }

    public static boolean has(long features, int bit) {
        return (features & bit(bit)) != 0;
    }
}
