package io.vessel.engine.vm;

import io.vessel.vmm.VmExit;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VM facade's own decisions: disk specs, the kernel command line, exit statuses. */
class VirtualMachinesTest {
    private static VmRunRequest request(String cmdline, List<VmDisk> disks, List<String> command) {
        return new VmRunRequest(Path.of("k"), null, cmdline, 1, 64L << 20, disks, command);
    }

    @Test
    void diskSpecs() {
        assertEquals(new VmDisk(Path.of("/a/b.img"), false), VmDisk.parse("/a/b.img"));
        assertEquals(new VmDisk(Path.of("/a/b.img"), true), VmDisk.parse("/a/b.img,ro"));
        assertEquals(new VmDisk(Path.of("x,y.img"), false), VmDisk.parse("x,y.img,rw"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmDisk.parse(",ro")).getMessage().contains("no path"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmDisk.parse("a.img,nocache")).getMessage()
                .contains("unknown option \"nocache\""));
    }

    @Test
    void commandLine() {
        assertEquals(VirtualMachines.DEFAULT_CMDLINE, VirtualMachines.cmdline(request(null, List.of(), List.of())));
        assertEquals("console=ttyS0 root=/dev/vda ro -- sh -c \"echo hi\" \"\"", VirtualMachines.cmdline(request(
                "console=ttyS0", List.of(new VmDisk(Path.of("d"), true)), List.of("sh", "-c", "echo hi", ""))));
        assertEquals("root=/dev/vdb -- true", VirtualMachines.cmdline(request(
                "root=/dev/vdb", List.of(new VmDisk(Path.of("d"), false)), List.of("true"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualMachines.cmdline(request("", List.of(), List.of("echo", "say \"x\""))));
        assertTrue(e.getMessage().contains("double quote"), e.getMessage());
    }

    @Test
    void exitStatuses() {
        assertEquals(7, VirtualMachines.outcome(new VmExit.GuestExit(7)).exitStatus());
        assertEquals(0, VirtualMachines.outcome(new VmExit.PoweredOff()).exitStatus());
        assertEquals(0, VirtualMachines.outcome(new VmExit.Reset()).exitStatus());
        VirtualMachines.Outcome crashed = VirtualMachines.outcome(new VmExit.Crashed("emulation failure"));
        assertEquals(VirtualMachines.VMM_FAILED, crashed.exitStatus());
        assertTrue(crashed.description().contains("emulation failure"));
    }
}
