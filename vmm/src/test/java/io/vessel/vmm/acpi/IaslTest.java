package io.vessel.vmm.acpi;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tables checked by ACPICA's own tools, Debian's acpica-tools: with {@code iasl} each table
 * disassembles without errors, the disassembly recompiles without errors, and the recompiled
 * binary is byte-identical to ours (but for the checksum and the creator fields, which iasl fills
 * with its own ID); with {@code acpiexec}, which runs the AML interpreter Linux runs, the namespace
 * loads, its objects evaluate, and entering S5 writes the power-off value to the sleep register.
 */
class IaslTest {
    /** Header bytes iasl rewrites on compiling: checksum (9) and creator ID + revision (28-35). */
    private static final int[] IASL_OWNED = {9, 28, 29, 30, 31, 32, 33, 34, 35};

    @TempDir
    Path dir;

    @BeforeAll
    static void needsIasl() {
        assumeTrue(onPath("iasl"), "iasl is not installed (Debian acpica-tools; scripts/install-deps.sh --test installs it)");
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private record Run(int status, String output) {
    }

    private Run iasl(String... args) throws IOException, InterruptedException {
        return tool("iasl", args);
    }

    private Run tool(String tool, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(tool + " " + String.join(" ", args) + " did not finish in 60 s");
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** Disassembles {@code name.dat}, checks the listing, recompiles it and returns the recompiled binary. */
    private byte[] roundTrip(String name, byte[] table) throws Exception {
        Files.write(dir.resolve(name + ".dat"), table);
        Run d = iasl("-d", name + ".dat");
        assertEquals(0, d.status(), "iasl -d " + name + ":\n" + d.output());
        assertNoComplaints("iasl -d " + name, d.output());
        String dsl = Files.readString(dir.resolve(name + ".dsl"));
        assertNoComplaints(name + ".dsl", dsl);
        Run c = iasl("-oa", "-p", name + "-recompiled", name + ".dsl");
        assertEquals(0, c.status(), "iasl " + name + ".dsl:\n" + c.output());
        assertTrue(c.output().contains("0 Errors, 0 Warnings, 0 Remarks"), "iasl " + name + ".dsl:\n" + c.output());
        return Files.readAllBytes(dir.resolve(name + "-recompiled.aml"));
    }

    private static void assertNoComplaints(String what, String listing) {
        for (String bad : List.of("Error", "Warning", "Incorrect checksum", "Invalid", "Unknown", "**** ")) {
            assertFalse(listing.contains(bad), what + " mentions \"" + bad + "\":\n" + listing);
        }
    }

    private static void assertSameAsIasl(String what, byte[] ours, byte[] iasls) {
        assertEquals(ours.length, iasls.length, what + " length");
        byte[] a = ours.clone();
        byte[] b = iasls.clone();
        for (int i : IASL_OWNED) {
            a[i] = 0;
            b[i] = 0;
        }
        assertArrayEquals(a, b, what + ": our bytes differ from iasl's recompilation");
        assertTrue(SystemDescriptionTable.sumsToZero(iasls, 0, iasls.length), what + ": iasl's own checksum");
    }

    @Test
    void dsdtDisassemblesShowsTheDevicesAndRecompilesToTheSameAml() throws Exception {
        AcpiTables tables = AcpiTables.build(2, AcpiTablesTest.TWO_DEVICES);
        byte[] dsdt = tables.dsdt();
        byte[] recompiled = roundTrip("dsdt", dsdt);
        String dsl = Files.readString(dir.resolve("dsdt.dsl"));
        assertTrue(dsl.contains("Name (_HID, EisaId (\"PNP0501\")"), dsl);
        assertTrue(dsl.contains("Name (_HID, EisaId (\"PNP0303\")"), dsl);
        assertEquals(2, dsl.split("Name \\(_HID, \"LNRO0005\"\\)", -1).length - 1, dsl);
        assertTrue(dsl.contains("Memory32Fixed (ReadWrite,\n                    0xD0001000,"), dsl);
        assertTrue(dsl.contains("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n                {\n                    0x00000006,"), dsl);
        assertTrue(dsl.contains("0x03F8,             // Range Minimum"), dsl);
        assertTrue(dsl.contains("Name (\\_S5, Package (0x04)"), dsl);
        assertSameAsIasl("DSDT", dsdt, recompiled);
    }

    @Test
    void longPackageLengthsAndVarPackagesRoundTrip() throws Exception {
        // 100 devices make \_SB_ longer than a two-byte PkgLength holds (4095); a 5000-byte buffer
        // too; a package of 300 elements needs VarPackageOp.
        List<Aml> devices = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            devices.add(Aml.device(String.format("V%03X", i),
                    Aml.name("_HID", Aml.string("LNRO0005")),
                    Aml.name("_UID", Aml.integer(i)),
                    Aml.name("_CRS", Aml.resources(AmlResource.memory32Fixed(0xD000_0000L + i * 0x1000L, 0x1000),
                            AmlResource.interrupt(AmlResource.Trigger.LEVEL, AmlResource.Polarity.ACTIVE_LOW, 5)))));
        }
        List<Aml> elements = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            elements.add(Aml.integer(i * 0x10001L));
        }
        byte[] blob = new byte[5000];
        for (int i = 0; i < blob.length; i++) {
            blob[i] = (byte) (i * 7);
        }
        LeBytes t = SystemDescriptionTable.start("DSDT", Dsdt.REVISION, "VSLTEST");
        Aml.scope("\\_SB_", devices.toArray(Aml[]::new)).encode(t);
        Aml.name("BLOB", Aml.buffer(blob)).encode(t);
        Aml.name("LIST", new Aml.PackageConst(elements)).encode(t);
        Aml.name("BIG_", Aml.integer(0x1122_3344_5566_7788L)).encode(t);
        byte[] dsdt = SystemDescriptionTable.finish(t);
        assertEquals(0x80, dsdt[37] & 0xC0, "\\_SB_'s PkgLength has three bytes");
        byte[] recompiled = roundTrip("big", dsdt);
        String dsl = Files.readString(dir.resolve("big.dsl"));
        assertEquals(100, dsl.split("LNRO0005", -1).length - 1);
        assertTrue(dsl.contains("Interrupt (ResourceConsumer, Level, ActiveLow, Exclusive, ,, )"), dsl);
        assertTrue(dsl.contains("0x1122334455667788"), dsl);
        assertSameAsIasl("large DSDT", dsdt, recompiled);
    }

    @Test
    void dataTablesDisassembleAndRecompileToTheSameBytes() throws Exception {
        Placement p = AcpiTables.build(4, AcpiTablesTest.TWO_DEVICES).place(AcpiTables.RSDP_ADDRESS);
        for (String sig : List.of("FACP", "APIC", "XSDT")) {
            byte[] table = p.table(sig).bytes();
            byte[] recompiled = roundTrip(sig.toLowerCase(), table);
            assertSameAsIasl(sig, table, recompiled);
        }
        String facp = Files.readString(dir.resolve("facp.dsl"));
        assertTrue(facp.contains("Hardware Reduced (V5) : 1"), facp);
        assertTrue(facp.contains("Sleep Control Register : [Generic Address Structure]"), facp);
        assertTrue(facp.contains("Address : 00000000000003C0"), facp);
        String apic = Files.readString(dir.resolve("apic.dsl"));
        assertEquals(4, apic.split("Subtable Type : 00 \\[Processor Local APIC\\]", -1).length - 1, apic);
        assertTrue(apic.contains("Subtable Type : 01 [I/O APIC]"), apic);
        assertTrue(apic.contains("Address : FEC00000"), apic);
    }

    /**
     * iasl 20200925 cannot disassemble a binary RSDP, but its data-table compiler builds one from
     * the fields (computing both checksums): ours must be identical to it, checksums included.
     */
    @Test
    void rsdpEqualsIaslsCompilationOfTheSameFields() throws Exception {
        Placement p = AcpiTables.build(1, List.of()).place(AcpiTables.RSDP_ADDRESS);
        String asl = String.join("\n",
                "[0008]                          Signature : \"RSD PTR \"",
                "[0001]                           Checksum : 00",
                "[0006]                             Oem ID : \"VESSEL\"",
                "[0001]                           Revision : 02",
                "[0004]                       RSDT Address : 00000000",
                "[0004]                             Length : 00000024",
                "[0008]                       XSDT Address : " + String.format("%016X", p.table("XSDT").address()),
                "[0001]                  Extended Checksum : 00",
                "[0003]                           Reserved : 000000", "");
        Files.writeString(dir.resolve("rsdp.asl"), asl);
        Run c = iasl("rsdp.asl");
        assertEquals(0, c.status(), c.output());
        assertArrayEquals(Files.readAllBytes(dir.resolve("rsdp.aml")), p.table("RSDP").bytes(),
                "RSDP differs from iasl's:\n" + Arrays.toString(p.table("RSDP").bytes()));
    }

    /** acpiexec's debug level ACPI_LV_IO (0x04000000, acoutput.h): traces each register write. */
    private static final String ACPI_LV_IO = "0x04000000";

    private String acpiexec(String commands, Placement p, String... options) throws Exception {
        List<String> files = new ArrayList<>();
        for (String sig : List.of("FACP", "APIC", "DSDT")) {
            Path f = dir.resolve(sig.toLowerCase() + ".dat");
            Files.write(f, p.table(sig).bytes());
            files.add(f.getFileName().toString());
        }
        List<String> args = new ArrayList<>(List.of("-b", commands));
        args.addAll(List.of(options));
        args.addAll(files);
        Run r = tool("acpiexec", args.toArray(String[]::new));
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("1 ACPI AML tables successfully acquired and loaded"), r.output());
        assertFalse(r.output().contains("AE_"), "an ACPICA exception:\n" + r.output());
        return r.output();
    }

    @Test
    void acpicaEvaluatesTheNamespace() throws Exception {
        assumeTrue(onPath("acpiexec"), "acpiexec is not installed (Debian acpica-tools)");
        Placement p = AcpiTables.build(2, AcpiTablesTest.TWO_DEVICES).place(AcpiTables.RSDP_ADDRESS);
        String out = acpiexec("Evaluate \\_SB.COM1._HID; Evaluate \\_SB.COM1._STA; Evaluate \\_SB.V001._HID; "
                + "Evaluate \\_SB.V001._CRS", p);
        assertTrue(out.contains("[Integer] = 000000000105D041"), out); // EISAID("PNP0501")
        assertTrue(out.contains("[Integer] = 000000000000000F"), out);
        assertTrue(out.contains("[String] Length 08 = \"LNRO0005\""), out);
        // Memory32Fixed(ReadWrite, 0xD0001000, 0x1000), Interrupt(..., Edge, ActiveHigh){6}, EndTag
        assertTrue(out.contains("0000: 86 09 00 01 00 10 00 D0 00 10 00 00 89 06 00 03"), out);
        assertTrue(out.contains("0010: 01 06 00 00 00 79 00"), out);
    }

    @Test
    void acpicaPowersOffThroughTheSleepControlRegister() throws Exception {
        assumeTrue(onPath("acpiexec"), "acpiexec is not installed (Debian acpica-tools)");
        Placement p = AcpiTables.build(1, List.of()).place(AcpiTables.RSDP_ADDRESS);
        String out = acpiexec("Sleep 5", p, "-x", ACPI_LV_IO);
        assertTrue(out.contains("Register values for sleep state S5: Sleep-A: 05"), out);
        List<Integer> writes = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("Wrote: ([0-9A-F]{16}) width  8   to ([0-9A-F]{16}) \\(SystemIO\\)").matcher(out);
        while (m.find()) {
            assertEquals(AcpiSleepControl.PORT, Long.parseLong(m.group(2), 16), "writes go to the sleep register");
            writes.add((int) Long.parseLong(m.group(1), 16));
        }
        // Only the extended (hardware-reduced) path writes the sleep register; the legacy one would write PM1 control.
        assertTrue(writes.size() >= 2, out);
        assertEquals(AcpiSleepControl.WAKE_STATUS, writes.get(0), "WAK_STS cleared first");
        assertEquals(AcpiSleepControl.powerOffValue(), writes.get(1), "then SLP_TYP=5 | SLP_EN");
        assertTrue(AcpiSleepControl.isPowerOff(writes.get(1)));
    }
}
