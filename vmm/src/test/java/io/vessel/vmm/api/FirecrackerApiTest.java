package io.vessel.vmm.api;

import io.vessel.json.JsonNode;
import io.vessel.vmm.TestGuests;
import io.vessel.vmm.VmExit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Drives the control API with hand-written HTTP over its Unix socket, as Firecracker's clients do. */
class FirecrackerApiTest {
    /** On a PVM host the test guest's every instruction is emulated: generous, bounded. */
    private static final long GUEST_SECONDS = 120;
    /** The test guest's virtio-blk check reads sectors 0-3 and writes 8-15. */
    private static final int DISK_SECTORS = 16, SECTOR = 512;

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final ByteArrayOutputStream warnings = new ByteArrayOutputStream();
    private final CompletableFuture<VmExit> ended = new CompletableFuture<>();
    private MicroVm vm;
    private UnixHttpServer server;
    private RawHttp http;

    @BeforeEach
    void serve() throws Exception {
        vm = new MicroVm("test-vm", console, new PrintStream(warnings, true, StandardCharsets.UTF_8), ended::complete);
        server = UnixHttpServer.start(tmp.resolve("api.sock"), new FirecrackerApi(vm)::handle);
        http = new RawHttp(server.socket());
    }

    @AfterEach
    void cleanUp() throws Exception {
        http.close();
        server.close();
        vm.close();
        assertFalse(Files.exists(tmp.resolve("api.sock")), "the API socket was left behind");
    }

    private static JsonNode json(RawHttp.Response r) {
        return JsonNode.parse("response", r.body());
    }

    private void assertFault(RawHttp.Response r, String... fragments) {
        assertEquals(400, r.status(), r.body());
        String fault = json(r).get("fault_message").string();
        for (String f : fragments) {
            assertTrue(fault.contains(f), "fault_message '" + fault + "' lacks '" + f + "'");
        }
    }

    private String console() {
        synchronized (console) {
            return console.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void instanceInfoAndMachineConfigBeforeStart() throws Exception {
        RawHttp.Response info = http.send("GET", "/", null);
        assertEquals(200, info.status());
        assertEquals("application/json", info.headers().get("content-type"));
        assertEquals("test-vm", json(info).get("id").string());
        assertEquals("Not started", json(info).get("state").string());
        assertEquals("Vessel", json(info).get("app_name").string());
        assertTrue(json(info).get("vmm_version").string().matches("\\d+\\.\\d+\\.\\d+.*"));

        assertEquals(1, json(http.send("GET", "/machine-config", null)).get("vcpu_count").intValue());
        assertEquals(204, http.send("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": false}").status());
        JsonNode mc = json(http.send("GET", "/machine-config", null));
        assertEquals(2, mc.get("vcpu_count").intValue());
        assertEquals(64, mc.get("mem_size_mib").longValue());
        assertFalse(mc.get("smt").bool(true));
    }

    @Test
    void badRequestsAreRefusedWithFirecrackerFaults() throws Exception {
        Path kernel = TestGuests.elf();
        assertFault(http.send("PUT", "/machine-config", "{\"vcpu_count\": 2,"), "request body");
        assertFault(http.send("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"color\": 1}"),
                "color", "not a known field");
        assertFault(http.send("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"), "vcpu_count", "between 1 and 32");
        assertFault(http.send("PUT", "/machine-config", "{\"mem_size_mib\": 64}"), "vcpu_count", "required");
        assertFault(http.send("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true}"), "smt");
        assertFault(http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + tmp.resolve("nope") + "\"}"),
                "kernel_image_path", "does not exist");
        assertFault(http.send("PUT", "/boot-source", "[1]"), "JSON object");
        assertFault(http.send("PUT", "/drives/rootfs", "{\"drive_id\": \"other\", \"path_on_host\": \"" + kernel
                + "\", \"is_root_device\": true}"), "does not match", "rootfs");
        assertFault(http.send("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"" + kernel + "\"}"),
                "is_root_device", "required");
        assertFault(http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"guest_mac\": \"zz:00:00:00:00:01\"}"), "guest_mac");
        assertFault(http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"guest_mac\": \"01:00:5e:00:00:01\"}"), "guest_mac", "unicast");
        assertFault(http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"vessel_netns\": \"" + tmp.resolve("no-netns") + "\"}"), "vessel_netns", "does not exist");
        assertFault(http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"vessel_host_address\": \"10.0.0.1/24\"}"), "vessel_host_address", "needs vessel_create_tap");
        assertFault(http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"vessel_create_tap\": true, \"vessel_host_address\": \"10.0.0.1\"}"), "vessel_host_address", "A.B.C.D/N");
        assertFault(http.send("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"" + tmp.resolve("v.sock") + "\"}"), "guest_cid");
        assertFault(http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), "without kernel configuration");
        assertFault(http.send("PUT", "/actions", "{\"action_type\": \"Reboot\"}"), "action_type");
        assertFault(http.send("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), "before starting");
        assertFault(http.send("PATCH", "/vm", "{\"state\": \"Paused\"}"), "before starting");
        assertFault(http.send("GET", "/snapshot/create", null), "Invalid request method and/or path");
        assertFault(http.send("DELETE", "/", null), "Invalid request method and/or path");
        assertFault(http.send("PUT", "/machine-config", null), "needs a JSON body");
        assertFault(http.sendRaw(("PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                new byte[0]), "Content-Length");
        // the first connection was closed after the malformed request; a new one still works
        http.close();
        http = new RawHttp(server.socket());
        assertEquals("Not started", json(http.send("GET", "/", null)).get("state").string());
    }

    @Test
    void bootsTheTestGuestPausesResumesAndTypesCtrlAltDel() throws Exception {
        TestGuests.assumeKvm();
        Path kernel = TestGuests.elf();
        byte[] image = new byte[DISK_SECTORS * SECTOR];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i * 7 + (i >> 9));
        }
        Path disk = Files.write(tmp.resolve("disk.img"), image);
        String blk = " blk_sectors=" + Integer.toHexString(DISK_SECTORS) + " blk_sum="
                + Integer.toHexString(TestGuests.fnv1a(Arrays.copyOf(image, 4 * SECTOR)));
        assertEquals(204, http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel
                + "\", \"boot_args\": \"console=ttyS0 vessel-test keys" + blk + "\"}").status());
        assertEquals(204, http.send("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}").status());
        assertEquals(204, http.send("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"" + disk
                + "\", \"is_root_device\": true, \"is_read_only\": false,"
                + " \"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 100}}}").status());
        assertFault(http.send("PUT", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"" + disk
                + "\", \"is_root_device\": true}"), "already the root device");
        assertEquals(204, http.send("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + tmp.resolve("v.sock") + "\"}").status());
        assertEquals(204, http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
        assertEquals("Running", json(http.send("GET", "/", null)).get("state").string());
        assertFault(http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}"), "after starting");
        assertFault(http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), "after starting");

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUEST_SECONDS);
        while (!console().contains("waiting for keys") && System.nanoTime() < deadline && !ended.isDone()) {
            Thread.sleep(20);
        }
        assertTrue(console().contains("waiting for keys"), console());
        assertTrue(console().contains("RESULT PASS"), console());
        assertTrue(console().contains("virtio-blk at 0xd0000000 gsi 5"), console());
        assertTrue(console().contains("id \"rootfs\""), console());
        assertTrue(console().contains("ok   guest read what the host wrote (blk_sum=)"), console());
        assertTrue(console().contains("ok   sectors 8-15 read back as written"), console());
        assertTrue(Files.exists(tmp.resolve("v.sock")), "the vsock device listens at uds_path while the VM runs");

        assertEquals(204, http.send("PATCH", "/vm", "{\"state\": \"Paused\"}").status());
        assertEquals("Paused", json(http.send("GET", "/", null)).get("state").string());
        assertEquals(204, http.send("PATCH", "/vm", "{\"state\": \"Resumed\"}").status());
        assertEquals("Running", json(http.send("GET", "/", null)).get("state").string());

        assertEquals(204, http.send("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}").status());
        assertEquals(new VmExit.GuestExit(0), ended.get(GUEST_SECONDS, TimeUnit.SECONDS), console());
        assertTrue(console().contains("keys: 0x14 0x11 0xe0 0x71"), "Ctrl, Alt, Delete make codes (set 2):\n" + console());
        byte[] after = Files.readAllBytes(disk);
        assertFalse(Arrays.equals(Arrays.copyOfRange(image, 8 * SECTOR, 16 * SECTOR), Arrays.copyOfRange(after, 8 * SECTOR, 16 * SECTOR)),
                "the guest's writes to sectors 8-15 reached the host file");
        assertArrayEquals(Arrays.copyOf(image, 8 * SECTOR), Arrays.copyOf(after, 8 * SECTOR), "sectors 0-7 untouched");
        vm.close();
        assertFalse(Files.exists(tmp.resolve("v.sock")), "the vsock socket was left behind");
    }

    @Test
    void anInterfaceOnATapTheVmCreatesInANamespace() throws Exception {
        TestGuests.assumeKvm();
        assumeTrue(Files.exists(Path.of("/dev/net/tun")) && "root".equals(System.getProperty("user.name")),
                "creating taps and network namespaces needs root and /dev/net/tun");
        String ns = "vessel-api-t" + ProcessHandle.current().pid();
        Path netns = Path.of("/run/netns", ns);
        command("ip", "netns", "add", ns);
        try {
            command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
            assertEquals(204, http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + TestGuests.elf()
                    + "\", \"boot_args\": \"vessel-test net_ip=0a500002 net_peer=0a500001\"}").status());
            assertEquals(204, http.send("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}").status());
            assertEquals(204, http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\":"
                    + " \"apitap0\", \"guest_mac\": \"06:00:0a:50:00:02\", \"vessel_netns\": \"" + netns + "\","
                    + " \"vessel_create_tap\": true, \"vessel_host_address\": \"10.80.0.1/24\"}").status());
            assertEquals(204, http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
            assertEquals(new VmExit.GuestExit(0), ended.get(GUEST_SECONDS, TimeUnit.SECONDS), console());
            assertTrue(console().contains("ok   the host answered the guest's ICMP echo request"), console());
            vm.close();
            assertFalse(command("ip", "-n", ns, "link", "show").contains("apitap0"), "the VM's tap outlived it");
        } finally {
            command("ip", "netns", "del", ns);
        }
    }

    /** Runs an iproute2 command; its output, or an exception with it. */
    private static String command(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new java.io.IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    @Test
    void aMissingTapFailsInstanceStartAndLeavesNothing() throws Exception {
        TestGuests.assumeKvm();
        Path kernel = TestGuests.elf();
        String tap = "vsl-missing" + (ProcessHandle.current().pid() % 1000);
        assertEquals(204, http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}").status());
        assertEquals(204, http.send("PUT", "/vsock", "{\"guest_cid\": 7, \"uds_path\": \"" + tmp.resolve("v.sock") + "\"}").status());
        assertEquals(204, http.send("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"" + tap
                + "\", \"guest_mac\": \"06:00:ac:10:00:02\"}").status());
        long threads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vm-events")).count();
        assertFault(http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), "tap device " + tap + " does not exist");
        assertEquals("Not started", json(http.send("GET", "/", null)).get("state").string());
        assertFalse(Files.exists(Path.of("/sys/class/net", tap)), "the probe left tap " + tap + " behind");
        assertFalse(Files.exists(tmp.resolve("v.sock")), "the vsock socket of the failed start was left behind");
        assertEquals(threads, Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vm-events")).count(),
                "the failed VM's event loop thread is still there");
    }
}
