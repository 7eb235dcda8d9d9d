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
    void networkAndVsockSpecs() {
        assertEquals(null, VmNet.parse("none"));
        assertEquals(new VmNet("tap0", VmNet.DEFAULT_MAC), VmNet.parse("tap=tap0"));
        assertEquals(new VmNet("tap0", "06:00:00:00:00:09"), VmNet.parse("tap=tap0,mac=06:00:00:00:00:09"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("mac=06:00:00:00:00:09")).getMessage()
                .contains("no tap=NAME"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("tap=t,mac=06:00")).getMessage()
                .contains("not six hex bytes"));
        assertEquals(new VmNet("tap0", VmNet.DEFAULT_MAC, Path.of("/run/netns/blue"), false, null),
                VmNet.parse("tap=tap0,netns=blue"));
        assertEquals(new VmNet("tap0", VmNet.DEFAULT_MAC, Path.of("/proc/1/ns/net"), true,
                        io.vessel.vmm.HostAddress.parse("10.0.0.1/24")),
                VmNet.parse("tap=tap0,netns=/proc/1/ns/net,create,addr=10.0.0.1/24"));
        assertEquals(io.vessel.vmm.DeviceConfig.Net.created("tap0", null, VmNet.DEFAULT_MAC, null),
                VmNet.parse("create,tap=tap0").device());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("tap=t,addr=10.0.0.1/24")).getMessage()
                .contains("addr= needs create"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("tap=t,create,addr=10.0.0.1")).getMessage()
                .contains("not an IPv4 address with a prefix length"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("tap=t,netns=..")).getMessage()
                .contains("not a network namespace name or path"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmNet.parse("tap=t,persist")).getMessage()
                .contains("\"persist\" is not tap=NAME, mac=MAC, netns=NS, create or addr=CIDR"));
        assertEquals(new VmVsock(3, VmVsock.defaultSocket(3)), VmVsock.parse("3"));
        assertEquals(new VmVsock(4, Path.of("/tmp/v.sock")), VmVsock.parse("4,/tmp/v.sock"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmVsock.parse("1")).getMessage().contains("reserved"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> VmVsock.parse("5,")).getMessage().contains("empty PATH"));
        VmRunRequest r = new VmRunRequest(Path.of("k"), null, null, 1, 64L << 20, List.of(new VmDisk(Path.of("d"), false)),
                VmNet.parse("tap=tap0"), VmVsock.parse("9,/tmp/x.sock"), List.of());
        var devices = VirtualMachines.config(r, null, new java.io.ByteArrayOutputStream(), System.err).devices();
        assertEquals(3, devices.size());
        assertEquals(io.vessel.vmm.DeviceConfig.Net.named("tap0", null, VmNet.DEFAULT_MAC), devices.get(1));
        assertEquals(new io.vessel.vmm.DeviceConfig.Vsock(9, Path.of("/tmp/x.sock")), devices.get(2));
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
