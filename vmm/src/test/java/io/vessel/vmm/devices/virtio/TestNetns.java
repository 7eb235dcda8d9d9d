package io.vessel.vmm.devices.virtio;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace a test makes with iproute2 ({@code ip netns add}) and removes on close,
 * with whatever links were created in it. The host's own namespace is never touched.
 */
final class TestNetns implements AutoCloseable {
    final String name;
    final Path path;

    private TestNetns(String name) {
        this.name = name;
        this.path = Path.of("/run/netns", name);
    }

    /** A TCP listener made inside this namespace (a socket belongs to its creator thread's namespace). */
    ServerSocketChannel listen(InetSocketAddress address) throws Exception {
        return io.vessel.linux.NetNamespace.call(path, () -> {
            ServerSocketChannel s = ServerSocketChannel.open();
            try {
                s.bind(address);
            } catch (IOException e) {
                s.close();
                throw e;
            }
            return s;
        });
    }

    /** Whether this host lets the test make namespaces and taps (root, /dev/net/tun, ip). */
    static String missingCapability() {
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "no /dev/net/tun";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            return "no iproute2 ip command";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root: cannot create network namespaces";
        }
        return null;
    }

    static TestNetns create() throws IOException {
        String name = "vessel-t" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 16));
        run("ip", "netns", "add", name);
        TestNetns ns = new TestNetns(name);
        try {
            ns.exec("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"); // no IPv6 chatter on the tap
            ns.ip("link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** Runs {@code ip -n NAME args...}. */
    String ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", name));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    /** Runs a command inside the namespace ({@code ip netns exec}). */
    String exec(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", cmd) + ": interrupted");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    static boolean exists(String name) throws IOException {
        return run("ip", "netns", "list").lines().anyMatch(l -> l.split(" ")[0].equals(name));
    }

    @Override
    public void close() throws IOException {
        run("ip", "netns", "del", name);
    }
}
