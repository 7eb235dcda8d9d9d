package io.vessel.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code vessel vm run} through the CLI's own entry point, booting the project's test guest on the
 * real /dev/kvm: flags to the VMM, the command after {@code --} on the kernel command line, the
 * console on stdout, the guest's status as the command's own.
 */
class VmCommandTest {
    private static final Path GUESTS = Path.of("..", "native", "guests").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Result(int exit, String out, String err) {
    }

    @BeforeAll
    static void guest() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible here: vessel vm run needs KVM");
        Process p = new ProcessBuilder("make", "-s", "-C", GUESTS.toString()).inheritIO().start();
        assertEquals(0, p.waitFor(), "building the test guest failed");
    }

    private static Result vessel(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(List.of(args));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void runsTheGuestWithItsDiskAndCommandAndExitsWithItsStatus() throws IOException {
        byte[] data = new byte[64 * 512];
        new Random(3).nextBytes(data);
        Path disk = Files.write(tmp.resolve("disk.img"), data);
        String sum = Integer.toHexString(fnv1a(java.util.Arrays.copyOf(data, 2048)));
        Result r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--cpus", "2",
                "--memory", "64m", "--disk", disk + ",ro", "--cmdline", "vessel-test cpus=2 blk_sectors=40 blk_sum=" + sum,
                "--", "/bin/true", "hello world");
        assertEquals(0, r.exit, r.out + r.err);
        assertTrue(r.out.contains("cmdline: vessel-test cpus=2 blk_sectors=40 blk_sum=" + sum
                + " root=/dev/vda ro virtio_mmio.device=4K@0xd0000000:5 -- /bin/true \"hello world\""), r.out);
        assertTrue(r.out.contains("ap up: apic id 1"), r.out);
        assertTrue(r.out.contains("ok   writes to a read-only disk fail with IOERR"), r.out);
        assertTrue(r.out.contains("RESULT PASS"), r.out);
        assertArrayEquals(data, Files.readAllBytes(disk));
    }

    @Test
    void aFailingGuestsStatusIsTheCommandsStatus() {
        Result r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.bzImage").toString(), "--memory", "32m",
                "--cmdline", "vessel-test initrd_sum=1");
        assertEquals(1, r.exit, r.out + r.err);
        assertTrue(r.out.contains("RESULT FAIL"), r.out);
    }

    @Test
    void badInputIsAClearErrorWithStatus125() {
        Result r = vessel("vm", "run", "--kernel", tmp.resolve("missing").toString());
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("does not exist"), r.err);
        r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--memory", "1m");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("memory too small"), r.err);
        r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--disk", "x.img,fast");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("unknown option \"fast\""), r.err);
        r = vessel("vm", "run", "--cpus", "two");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("--cpus \"two\""), r.err);
        r = vessel("vm", "run", "--bogus");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("unknown flag: --bogus"), r.err);
    }

    @Test
    void vsockConnectsTheGuestToAHostSocket() throws Exception {
        Path uds = tmp.resolve("v.sock");
        Path portSocket = Path.of(uds + "_5000");
        try (var listener = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            listener.bind(java.net.UnixDomainSocketAddress.of(portSocket));
            Thread echo = Thread.ofPlatform().start(() -> {
                try (var c = listener.accept()) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(256);
                    while (c.read(b) > 0 && b.position() < "hello from the guest\n".length()) {
                        // a line may come in pieces
                    }
                    b.flip();
                    c.write(b);
                    b.clear();
                    c.read(b);
                } catch (IOException e) {
                    // the guest's checks report a broken exchange
                }
            });
            Result r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--memory", "64m",
                    "--vsock", "17," + uds, "--net", "none", "--cmdline", "vessel-test vsock_port=1388");
            echo.join(10_000);
            assertEquals(0, r.exit, r.out + r.err);
            assertTrue(r.out.contains("vsock: guest cid 17"), r.out);
            assertTrue(r.out.contains("ok   the host echoed the guest's line"), r.out);
            assertTrue(r.out.contains("RESULT PASS"), r.out);
        } finally {
            Files.deleteIfExists(portSocket);
        }
        assertTrue(Files.notExists(uds), "the VM left its vsock socket behind");
    }

    @Test
    void netCreatesTheTapInANamedNamespaceForTheVmsLifetime() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")) && "root".equals(System.getProperty("user.name")),
                "creating taps and network namespaces needs root and /dev/net/tun");
        String kernel = GUESTS.resolve("test-guest.elf").toString();
        String netns = "vessel-cli-t" + ProcessHandle.current().pid();
        command("ip", "netns", "add", netns);
        try {
            command("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
            // the guest (10.79.0.2) pings the kernel at the tap's host end (10.79.0.1), which Vessel configured
            Result r = vessel("vm", "run", "--kernel", kernel, "--memory", "64m",
                    "--net", "tap=clitap0,netns=" + netns + ",create,addr=10.79.0.1/24,mac=06:00:0a:4f:00:02",
                    "--cmdline", "vessel-test net_ip=0a4f0002 net_peer=0a4f0001");
            assertEquals(0, r.exit, r.out + r.err);
            assertTrue(r.out.contains("ok   the host answered the guest's ICMP echo request"), r.out);
            assertTrue(r.out.contains("RESULT PASS"), r.out);
            assertTrue(!command("ip", "-n", netns, "link", "show").contains("clitap0"), "the VM's tap outlived it");

            r = vessel("vm", "run", "--kernel", kernel, "--net", "tap=clitap0,netns=vessel-no-such-ns,create");
            assertEquals(125, r.exit);
            assertTrue(r.err.contains("network namespace /run/netns/vessel-no-such-ns does not exist"), r.err);
            command("ip", "-n", netns, "tuntap", "add", "dev", "taken0", "mode", "tap");
            r = vessel("vm", "run", "--kernel", kernel, "--net", "tap=taken0,netns=" + netns + ",create");
            assertEquals(125, r.exit);
            assertTrue(r.err.contains("a network interface named taken0 already exists in network namespace /run/netns/"
                    + netns), r.err);
            assertTrue(command("ip", "-n", netns, "link", "show").contains("taken0"), "the refused VM removed taken0");
        } finally {
            command("ip", "netns", "del", netns);
        }
    }

    /** Runs an iproute2 command; its output, or an exception with it. */
    private static String command(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    @Test
    void badNetworkAndVsockOptionsAreClearErrors() {
        String kernel = GUESTS.resolve("test-guest.elf").toString();
        Result r = vessel("vm", "run", "--kernel", kernel, "--net", "tap=vsl-nosuch0");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("tap device vsl-nosuch0 does not exist"), r.err);
        assertTrue(Files.notExists(Path.of("/sys/class/net/vsl-nosuch0")), "the probe left its tap behind");
        r = vessel("vm", "run", "--kernel", kernel, "--net", "tap=t0,mac=01:00:00:00:00:01");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("multicast"), r.err);
        r = vessel("vm", "run", "--kernel", kernel, "--net", "bridge=br0");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("expected tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]] or none"), r.err);
        r = vessel("vm", "run", "--kernel", kernel, "--vsock", "2");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("guest CID 2 is reserved"), r.err);
        r = vessel("vm", "run", "--kernel", kernel, "--vsock", "three");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("is not a CID"), r.err);
    }

    private static int fnv1a(byte[] data) {
        int h = 0x811C9DC5;
        for (byte b : data) {
            h ^= b & 0xFF;
            h *= 16777619;
        }
        return h;
    }
}
