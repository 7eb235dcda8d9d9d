package io.vessel.engine.container;

import io.vessel.engine.volume.Volume;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.oci.ImageConfig;
import io.vessel.json.Json;
import io.vessel.runtime.spec.Capability;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Makes the OCI bundle of a container from an image: {@code config.json} next to the
 * {@code rootfs} the snapshot is mounted on, with Docker's defaults (capabilities, mounts, masked
 * paths, namespaces, environment) merged with the image's config and the run options, the
 * volumes the container mounts created, recorded as used and seeded from the image, and
 * {@code /etc/hostname}, {@code /etc/hosts}, {@code /etc/resolv.conf} written in the container's
 * directory and bind-mounted, as Docker does. The runtime then runs the bundle unchanged.
 */
public final class BundleMaker {
    /** Docker's default capabilities (moby's oci/caps defaults). */
    public static final List<String> DEFAULT_CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
            "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
    /** Docker's PATH for images that set none. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** Paths hidden from unprivileged containers (Docker's defaults). */
    public static final List<String> MASKED_PATHS = List.of("/proc/asound", "/proc/acpi", "/proc/interrupts",
            "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
            "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap");
    /** Paths read-only in unprivileged containers (Docker's defaults). */
    public static final List<String> READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");
    /** Annotation carrying the image's STOPSIGNAL, for whoever stops the container. */
    public static final String STOP_SIGNAL_ANNOTATION = "io.vessel.image.stop-signal";
    /** Annotation carrying the image's EXPOSED ports, comma-separated ({@code 80/tcp,53/udp}). */
    public static final String EXPOSED_PORTS_ANNOTATION = "io.vessel.image.exposed-ports";
    /** The period {@code --cpus} is expressed in, as Docker's (100 ms). */
    static final long CPU_PERIOD = 100_000;

    private final VolumeStore volumes;

    public BundleMaker(VolumeStore volumes) {
        this.volumes = volumes;
    }

    /**
     * A bundle made: its directory (holding config.json and rootfs), the configuration as
     * written, the volumes the container now holds (release them with
     * {@link VolumeStore#releaseAll} when the container is removed) and the resolved user.
     */
    public record Made(Path bundle, Map<String, Object> spec, List<String> volumes, ExecUser user) {
        public Made {
            volumes = List.copyOf(volumes);
        }

        public String configJson() {
            return Json.writePretty(spec);
        }
    }

    /**
     * Makes the bundle in {@code containerDir}, whose {@code rootfs} holds the container's root
     * file system (mounted, writable: the working directory is created in it, and mount points).
     * On failure the volumes this call acquired are released, anonymous ones it created are
     * removed, and the files it wrote are deleted.
     *
     * @throws IllegalArgumentException for options that cannot apply (the message names which)
     */
    public Made make(String containerId, Path containerDir, ImageConfig image, RunOptions o) throws IOException {
        String n = o.network();
        if (n != null && !n.isEmpty() && !n.equals("host") && !n.equals("none")) {
            throw new IllegalArgumentException("network \"" + n
                    + "\" is not available here: a bundle made without the engine's networks has none, host, or its own"
                    + " namespace with loopback only");
        }
        return make(containerId, containerDir, image, o, "host".equals(n) ? new NetworkJoin.Host() : new NetworkJoin.Private());
    }

    /**
     * Makes the bundle as {@link #make(String, Path, ImageConfig, RunOptions)} does, joining the
     * network as {@code join} says (the engine has connected the container already).
     */
    public Made make(String containerId, Path containerDir, ImageConfig image, RunOptions o, NetworkJoin join)
            throws IOException {
        Path rootfs = containerDir.resolve("rootfs");
        if (!Files.isDirectory(rootfs)) {
            throw new IllegalArgumentException("container " + containerId + ": " + rootfs + " is not a directory");
        }
        ImageConfig.Config ic = image == null ? ImageConfig.Config.EMPTY : image.config();
        Work w = new Work(containerId, containerDir, rootfs, ic, o, join);
        try {
            return w.make();
        } catch (IOException | RuntimeException e) {
            w.undo();
            throw e;
        }
    }

    /** One make: what it has done so far, for undo. */
    private final class Work {
        final String id;
        final Path dir;
        final Path rootfs;
        final ImageConfig.Config ic;
        final RunOptions o;
        final NetworkJoin join;
        final List<String> acquired = new ArrayList<>();
        final List<String> createdAnonymous = new ArrayList<>();
        final List<Path> written = new ArrayList<>();

        Work(String id, Path dir, Path rootfs, ImageConfig.Config ic, RunOptions o, NetworkJoin join) {
            this.id = id;
            this.join = join;
            this.dir = dir;
            this.rootfs = rootfs;
            this.ic = ic;
            this.o = o;
        }

        Made make() throws IOException {
            ExecUser user = ExecUser.resolve(rootfs, o.user() != null ? o.user() : ic.user(), o.groupAdd());
            boolean hostNet = join instanceof NetworkJoin.Host;
            String imposed = join instanceof NetworkJoin.Namespace ns ? ns.hostname() : null;
            if (imposed != null && o.hostname() != null && !o.hostname().isEmpty()) {
                throw new IllegalArgumentException("conflicting options: --hostname and --network container:NAME"
                        + " (the container has the other's host name)");
            }
            String hostname = imposed != null ? imposed
                    : o.hostname() != null && !o.hostname().isEmpty() ? o.hostname()
                    : hostNet ? hostHostname() : id.substring(0, Math.min(12, id.length()));

            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("ociVersion", "1.2.0");
            spec.put("process", process(user, hostname));
            spec.put("root", map("path", "rootfs", "readonly", o.readOnly()));
            spec.put("hostname", hostname);
            spec.put("mounts", mounts(hostNet, hostname));
            spec.put("annotations", annotations());
            spec.put("linux", linux(hostNet));
            Path config = dir.resolve("config.json");
            Path tmp = dir.resolve("config.json.tmp");
            written.add(tmp);
            written.add(config);
            Files.writeString(tmp, Json.writePretty(spec));
            Files.move(tmp, config, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return new Made(dir, spec, acquired, user);
        }

        void undo() {
            for (String v : acquired) {
                try {
                    volumes.release(v, id);
                } catch (IOException | RuntimeException ignored) {
                    // the error that made us undo is the one to report
                }
            }
            for (String v : createdAnonymous) {
                try {
                    volumes.remove(v, true);
                } catch (IOException | RuntimeException ignored) {
                    // likewise
                }
            }
            for (Path p : written) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // likewise
                }
            }
        }

        private Map<String, Object> process(ExecUser user, String hostname) throws IOException {
            List<String> entrypoint;
            List<String> cmd;
            if (o.entrypoint() != null && !o.entrypoint().isEmpty()) {
                entrypoint = o.entrypoint();
                cmd = o.cmd(); // a new entrypoint does not take the image's CMD
            } else {
                entrypoint = o.entrypoint() != null ? List.of() : ic.entrypoint();
                cmd = o.cmd().isEmpty() ? ic.cmd() : o.cmd();
            }
            List<String> args = new ArrayList<>(entrypoint);
            args.addAll(cmd);
            if (args.isEmpty()) {
                throw new IllegalArgumentException("no command specified: the image has no ENTRYPOINT or CMD and none was given");
            }
            String cwd = o.workdir() != null && !o.workdir().isEmpty() ? o.workdir()
                    : ic.workingDir() != null ? ic.workingDir() : "/";
            if (!cwd.startsWith("/")) {
                throw new IllegalArgumentException("the working directory '" + cwd
                        + "' is invalid, it needs to be an absolute path");
            }
            makeWorkdir(cwd);

            Map<String, Object> p = new LinkedHashMap<>();
            p.put("terminal", o.tty());
            if (o.tty() && o.consoleSize() != null && o.consoleSize().height() > 0 && o.consoleSize().width() > 0) {
                p.put("consoleSize", Map.of("height", o.consoleSize().height(), "width", o.consoleSize().width()));
            }
            Map<String, Object> u = new LinkedHashMap<>();
            u.put("uid", user.uid());
            u.put("gid", user.gid());
            if (!user.additionalGids().isEmpty()) {
                u.put("additionalGids", user.additionalGids());
            }
            p.put("user", u);
            p.put("args", args);
            p.put("env", env(user, hostname));
            p.put("cwd", cwd);
            List<String> caps = capabilities();
            boolean root = user.uid() == 0;
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("bounding", caps);
            c.put("effective", root ? caps : List.of()); // a non-root user starts without privileges, as in Docker
            c.put("permitted", root ? caps : List.of());
            p.put("capabilities", c);
            p.put("noNewPrivileges", false);
            return p;
        }

        /** Docker's order: PATH (default), HOSTNAME, TERM with a terminal, the image's and the user's, HOME. */
        private List<String> env(ExecUser user, String hostname) {
            Map<String, String> merged = new LinkedHashMap<>();
            for (String e : ic.env()) {
                merged.put(e.substring(0, e.indexOf('=')), e);
            }
            for (String e : o.env()) {
                int eq = e.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("-e \"" + e + "\": expected NAME=VALUE");
                }
                merged.put(e.substring(0, eq), e);
            }
            List<String> env = new ArrayList<>();
            if (!merged.containsKey("PATH")) {
                env.add("PATH=" + DEFAULT_PATH);
            }
            env.add("HOSTNAME=" + hostname);
            if (o.tty() && !merged.containsKey("TERM")) {
                env.add("TERM=xterm");
            }
            merged.remove("HOSTNAME");
            env.addAll(merged.values());
            if (!merged.containsKey("HOME")) {
                env.add("HOME=" + user.home());
            }
            return env;
        }

        /** Creates a missing working directory, owned by root and mode 0755, as Docker does. */
        private void makeWorkdir(String cwd) throws IOException {
            Path p = RootPath.resolve(rootfs, cwd);
            if (Files.isDirectory(p)) {
                return;
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalArgumentException("the working directory " + cwd + " exists in the image but is not a directory");
            }
            Files.createDirectories(p);
        }

        private List<String> capabilities() throws IOException {
            List<String> all = hostCapabilities();
            if (o.privileged()) {
                return all;
            }
            if (o.capAdd().isEmpty() && o.capDrop().isEmpty()) {
                return DEFAULT_CAPABILITIES;
            }
            List<String> add = normalizeCaps("--cap-add", o.capAdd());
            List<String> drop = normalizeCaps("--cap-drop", o.capDrop());
            Set<String> caps = new LinkedHashSet<>();
            if (add.contains("ALL")) {
                for (String c : all) {
                    if (!drop.contains(c)) {
                        caps.add(c);
                    }
                }
            } else if (drop.contains("ALL")) {
                caps.addAll(add);
            } else {
                for (String c : DEFAULT_CAPABILITIES) {
                    if (!drop.contains(c)) {
                        caps.add(c);
                    }
                }
                caps.addAll(add);
            }
            return new ArrayList<>(caps);
        }

        private Map<String, Object> annotations() {
            Map<String, Object> a = new LinkedHashMap<>();
            if (ic.stopSignal() != null) {
                a.put(STOP_SIGNAL_ANNOTATION, ic.stopSignal());
            }
            if (!ic.exposedPorts().isEmpty()) {
                a.put(EXPOSED_PORTS_ANNOTATION, String.join(",", ic.exposedPorts()));
            }
            return a;
        }

        private List<Object> mounts(boolean hostNet, String hostname) throws IOException {
            List<MountSpec> user = new ArrayList<>(o.mounts());
            Set<String> targets = new LinkedHashSet<>();
            for (MountSpec m : user) {
                targets.add(m.target());
            }
            MountSpec.checkDistinct(user);
            for (String v : ic.volumes()) { // an image's VOLUME gets an anonymous volume unless a mount covers it
                String t = MountSpec.cleanPath(v);
                if (!targets.contains(t)) {
                    user.add(new MountSpec.Volume(null, t, false, false, MountSpec.DEFAULT_PROPAGATION, Map.of(),
                            Map.of()));
                    targets.add(t);
                }
            }

            List<Object> out = new ArrayList<>();
            for (Map<String, Object> d : defaultMounts()) {
                String dest = (String) d.get("destination");
                if (!targets.contains(dest) && !(dest.startsWith("/dev/") && targets.contains("/dev"))) {
                    out.add(d);
                }
            }
            List<Map<String, Object>> extra = new ArrayList<>();
            for (Map.Entry<String, String> f : etcFiles(hostNet, hostname).entrySet()) {
                if (!targets.contains(f.getKey())) {
                    extra.add(mount(f.getKey(), "bind", f.getValue(), List.of("rbind", "rprivate")));
                }
            }
            for (MountSpec m : user) {
                extra.add(switch (m) {
                    case MountSpec.Bind b -> bind(b);
                    case MountSpec.Volume v -> volume(v);
                    case MountSpec.Tmpfs t -> tmpfs(t);
                });
            }
            // parents before children: a mount under another must come after it
            extra.sort(Comparator.comparingInt(m -> depth((String) m.get("destination"))));
            out.addAll(extra);
            return out;
        }

        private Map<String, Object> bind(MountSpec.Bind b) throws IOException {
            if (!Files.exists(b.source())) {
                if (!b.createSource()) {
                    throw new IllegalArgumentException("invalid mount config for type \"bind\": bind source path does not exist: "
                            + b.source());
                }
                Files.createDirectories(b.source()); // -v makes a missing source directory, as Docker does
            }
            List<String> opts = new ArrayList<>(List.of(b.recursive() ? "rbind" : "bind", b.propagation()));
            opts.add(b.readOnly() ? "ro" : "rw");
            return mount(b.target(), "bind", b.source().toString(), opts);
        }

        private Map<String, Object> volume(MountSpec.Volume v) throws IOException {
            Volume vol;
            if (v.name() == null) {
                vol = volumes.create(null, v.labels(), v.driverOpts());
                createdAnonymous.add(vol.name());
            } else {
                vol = volumes.create(v.name(), v.labels(), v.driverOpts());
            }
            vol = volumes.acquire(vol.name(), id);
            acquired.add(vol.name());
            if (!v.noCopy()) {
                Path inImage = RootPath.existing(rootfs, v.target());
                if (inImage != null) {
                    CopyUp.ifEmpty(inImage, vol.mountpoint());
                }
            }
            List<String> opts = new ArrayList<>(List.of("rbind", v.propagation()));
            opts.add(v.readOnly() ? "ro" : "rw");
            return mount(v.target(), "bind", vol.mountpoint().toString(), opts);
        }

        private Map<String, Object> tmpfs(MountSpec.Tmpfs t) {
            Set<String> opts = new LinkedHashSet<>(List.of("nosuid", "nodev", "noexec"));
            for (String x : t.options()) {
                switch (x) { // a later flag replaces its opposite among the defaults
                    case "suid" -> opts.remove("nosuid");
                    case "dev" -> opts.remove("nodev");
                    case "exec" -> opts.remove("noexec");
                    default -> { }
                }
                opts.add(x);
            }
            if (t.readOnly()) {
                opts.add("ro");
            }
            return mount(t.target(), "tmpfs", "tmpfs", new ArrayList<>(opts));
        }

        /** Writes hostname, hosts and resolv.conf in the container directory; returns target → source. */
        private Map<String, String> etcFiles(boolean hostNet, String hostname) throws IOException {
            Map<String, String> files = new LinkedHashMap<>();
            files.put("/etc/hostname", write("hostname", hostname + "\n"));
            NetworkJoin.Namespace ns = join instanceof NetworkJoin.Namespace n ? n : null;
            if (ns != null && ns.hosts() != null) {
                files.put("/etc/hosts", ns.hosts().toString());
            } else {
                String hosts = hostNet ? readOr(Path.of("/etc/hosts"), "127.0.0.1\tlocalhost\n") : """
                        127.0.0.1\tlocalhost
                        ::1\tlocalhost ip6-localhost ip6-loopback
                        fe00::0\tip6-localnet
                        ff00::0\tip6-mcastprefix
                        ff02::1\tip6-allnodes
                        ff02::2\tip6-allrouters
                        """;
                files.put("/etc/hosts", write("hosts", hosts));
            }
            String resolv = readOr(Path.of("/etc/resolv.conf"), "");
            if (!o.dns().isEmpty()) {
                files.put("/etc/resolv.conf", write("resolv.conf", dnsResolvConf(o.dns())));
            } else if (ns != null && ns.resolvConf() != null) {
                files.put("/etc/resolv.conf", ns.resolvConf().toString());
            } else {
                files.put("/etc/resolv.conf", write("resolv.conf", hostNet ? resolv : ResolvConf.forContainer(resolv)));
            }
            return files;
        }

        /** {@code --dns}: the given servers, checked as IPv4 or IPv6 literals. */
        private static String dnsResolvConf(List<String> servers) {
            StringBuilder s = new StringBuilder();
            for (String d : servers) {
                if (!d.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
                    throw new IllegalArgumentException("--dns \"" + d + "\" is not an IP address");
                }
                s.append("nameserver ").append(d).append('\n');
            }
            return s.toString();
        }

        private String write(String name, String text) throws IOException {
            Path p = dir.resolve(name);
            written.add(p);
            Files.writeString(p, text);
            return p.toString();
        }

        private Map<String, Object> linux(boolean hostNet) throws IOException {
            Map<String, Object> l = new LinkedHashMap<>();
            Map<String, Object> r = new LinkedHashMap<>();
            if (o.privileged()) {
                r.put("devices", List.of(map("allow", true, "access", "rwm")));
            } else {
                r.put("devices", List.of(map("allow", false, "access", "rwm")));
            }
            if (o.memory() > 0) {
                r.put("memory", map("limit", o.memory()));
            }
            if (o.cpus() > 0 || o.cpuShares() > 0) {
                Map<String, Object> cpu = new LinkedHashMap<>();
                if (o.cpuShares() > 0) {
                    cpu.put("shares", o.cpuShares());
                }
                if (o.cpus() > 0) {
                    cpu.put("quota", Math.round(o.cpus() * CPU_PERIOD));
                    cpu.put("period", CPU_PERIOD);
                }
                r.put("cpu", cpu);
            }
            if (o.pidsLimit() > 0) {
                r.put("pids", map("limit", o.pidsLimit()));
            }
            if (!o.deviceReadBps().isEmpty() || !o.deviceWriteBps().isEmpty() || !o.deviceReadIops().isEmpty()
                    || !o.deviceWriteIops().isEmpty()) {
                Map<String, Object> io = new LinkedHashMap<>();
                io.put("throttleReadBpsDevice", throttles("--device-read-bps", o.deviceReadBps()));
                io.put("throttleWriteBpsDevice", throttles("--device-write-bps", o.deviceWriteBps()));
                io.put("throttleReadIOPSDevice", throttles("--device-read-iops", o.deviceReadIops()));
                io.put("throttleWriteIOPSDevice", throttles("--device-write-iops", o.deviceWriteIops()));
                r.put("blockIO", io);
            }
            l.put("resources", r);
            l.put("cgroupsPath", "/vessel/" + id);
            List<Object> ns = new ArrayList<>();
            for (String t : List.of("pid", "ipc", "uts", "mount")) {
                ns.add(map("type", t));
            }
            switch (join) {
                case NetworkJoin.Host h -> { }
                case NetworkJoin.Private p -> ns.add(map("type", "network"));
                case NetworkJoin.Namespace n -> ns.add(map("type", "network", "path", n.netns().toString()));
            }
            l.put("namespaces", ns);
            if (o.privileged()) {
                l.put("devices", HostDevices.list());
            } else {
                l.put("maskedPaths", MASKED_PATHS);
                l.put("readonlyPaths", READONLY_PATHS);
            }
            return l;
        }

        private List<Object> throttles(String flag, List<RunOptions.Throttle> ts) throws IOException {
            List<Object> out = new ArrayList<>();
            for (RunOptions.Throttle t : ts) {
                Map<String, Object> a;
                try {
                    a = Files.readAttributes(t.device(), "unix:mode,rdev");
                } catch (java.nio.file.NoSuchFileException e) {
                    throw new IllegalArgumentException(flag + ": " + t.device() + " does not exist");
                }
                if (((Integer) a.get("mode") & 0170000) != 0060000) {
                    throw new IllegalArgumentException(flag + ": " + t.device() + " is not a block device");
                }
                long rdev = (Long) a.get("rdev");
                out.add(map("major", HostDevices.major(rdev), "minor", HostDevices.minor(rdev), "rate", t.rate()));
            }
            return out;
        }

        private List<Map<String, Object>> defaultMounts() {
            List<String> sysOpts = new ArrayList<>(List.of("nosuid", "noexec", "nodev"));
            sysOpts.add(o.privileged() ? "rw" : "ro");
            List<String> cgOpts = new ArrayList<>(List.of("nosuid", "noexec", "nodev", "relatime"));
            cgOpts.add(o.privileged() ? "rw" : "ro");
            return List.of(
                    mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")),
                    mount("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")),
                    mount("/dev/pts", "devpts", "devpts", List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666",
                            "mode=0620", "gid=5")),
                    mount("/sys", "sysfs", "sysfs", sysOpts),
                    mount("/sys/fs/cgroup", "cgroup", "cgroup", cgOpts),
                    mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")),
                    mount("/dev/shm", "tmpfs", "shm", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=67108864")));
        }
    }

    /** Capability names normalised as Docker's ({@code CAP_} added, upper case); ALL kept as ALL. */
    static List<String> normalizeCaps(String flag, List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            String u = n.toUpperCase(Locale.ROOT);
            if (u.equals("ALL") || u.equals("CAP_ALL")) {
                out.add("ALL");
                continue;
            }
            if (!u.startsWith("CAP_")) {
                u = "CAP_" + u;
            }
            if (!Capability.NAMES.contains(u)) {
                throw new IllegalArgumentException(flag + ": unknown capability: \"" + n + "\"");
            }
            out.add(u);
        }
        return out;
    }

    /** The capabilities this kernel has (up to {@code /proc/sys/kernel/cap_last_cap}). */
    static List<String> hostCapabilities() throws IOException {
        int last = Capability.NAMES.size() - 1;
        Path p = Path.of("/proc/sys/kernel/cap_last_cap");
        if (Files.exists(p)) {
            last = Math.min(last, Integer.parseInt(Files.readString(p).trim()));
        }
        return Capability.NAMES.subList(0, last + 1);
    }

    private static String hostHostname() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
    }

    private static String readOr(Path p, String dflt) throws IOException {
        return Files.exists(p) ? Files.readString(p) : dflt;
    }

    private static int depth(String path) {
        int d = 0;
        for (String s : path.split("/")) {
            if (!s.isEmpty()) {
                d++;
            }
        }
        return d;
    }

    static Map<String, Object> mount(String dest, String type, String source, List<String> options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", dest);
        m.put("type", type);
        m.put("source", source);
        m.put("options", options);
        return m;
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Host devices for {@code --privileged}: every character and block device under /dev. */
    static final class HostDevices {
        private static final Set<String> SKIP = Set.of("pts", "shm", "mqueue", ".lxc", ".udev");

        private HostDevices() {
        }

        static long major(long rdev) {
            return ((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL);
        }

        static long minor(long rdev) {
            return ((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL);
        }

        static List<Object> list() throws IOException {
            List<Object> out = new ArrayList<>();
            walk(Path.of("/dev"), out, 0);
            return out;
        }

        private static void walk(Path d, List<Object> out, int depth) throws IOException {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    if (name.equals("console") && depth == 0) {
                        continue; // the container's console is its own terminal
                    }
                    Map<String, Object> a = Files.readAttributes(p, "unix:mode,rdev,uid,gid", LinkOption.NOFOLLOW_LINKS);
                    int mode = (Integer) a.get("mode");
                    int type = mode & 0170000;
                    if (type == 0040000) {
                        if (depth < 2 && !SKIP.contains(name)) {
                            walk(p, out, depth + 1);
                        }
                    } else if (type == 0020000 || type == 0060000) {
                        long rdev = (Long) a.get("rdev");
                        out.add(map("path", p.toString(), "type", type == 0020000 ? "c" : "b", "major", major(rdev),
                                "minor", minor(rdev), "fileMode", mode & 0777, "uid", a.get("uid"), "gid", a.get("gid")));
                    }
                }
            }
        }
    }
}
