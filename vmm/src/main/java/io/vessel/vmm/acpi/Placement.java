package io.vessel.vmm.acpi;

import java.util.List;
import java.util.NoSuchElementException;

/**
 * ACPI tables at their guest-physical addresses, RSDP first. The images are final: pointers
 * between tables and all checksums are filled in for these addresses.
 */
public record Placement(List<Table> tables) {
    public Placement {
        tables = List.copyOf(tables);
        if (tables.isEmpty() || !tables.getFirst().signature().equals("RSDP")) {
            throw new IllegalArgumentException("a placement starts with the RSDP");
        }
    }

    /** One table: its signature ("RSDP" for the pointer), address and bytes. */
    public record Table(String signature, long address, byte[] bytes) {
        public long end() {
            return address + bytes.length;
        }
    }

    public long rsdpAddress() {
        return tables.getFirst().address();
    }

    /** The lowest address used. */
    public long start() {
        return tables.stream().mapToLong(Table::address).min().orElseThrow();
    }

    /** The first address past the last table: {@code [start(), end())} is what e820 should reserve. */
    public long end() {
        return tables.stream().mapToLong(Table::end).max().orElseThrow();
    }

    public Table table(String signature) {
        return tables.stream().filter(t -> t.signature().equals(signature)).findFirst()
                .orElseThrow(() -> new NoSuchElementException("no " + signature + " table in this placement"));
    }
}
