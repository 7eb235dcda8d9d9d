package io.vessel.vmm.acpi;

import java.util.List;

/** The Extended System Description Table (ACPI 6.5, section 5.2.8): 64-bit addresses of the other tables but the DSDT. */
final class Xsdt {
    static final int REVISION = 1;

    private Xsdt() {
    }

    static byte[] build(List<Long> tableAddresses) {
        LeBytes t = SystemDescriptionTable.start("XSDT", REVISION, "VSLXSDT");
        for (long a : tableAddresses) {
            t.u64(a);
        }
        return SystemDescriptionTable.finish(t);
    }
}
