package io.vessel.engine.container;

import io.vessel.engine.network.PortMapping;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code vessel run} was asked for beyond the image: Docker's {@code run} options that shape
 * the container's configuration. Null or empty means "as the image says" or Docker's default.
 *
 * @param cmd          replaces the image's CMD when not empty
 * @param entrypoint   {@code --entrypoint}: null keeps the image's; an empty list clears it
 *                     ({@code --entrypoint ""}); a given entrypoint drops the image's CMD, as Docker does
 * @param env          {@code -e NAME=VALUE}, overriding the image's variables of the same name
 * @param workdir      {@code -w}, absolute
 * @param user         {@code -u}: {@code name}, {@code uid}, {@code name:group}, {@code uid:gid}
 * @param groupAdd     {@code --group-add}
 * @param memory       {@code -m} in bytes, 0 for none
 * @param cpus         {@code --cpus}, 0 for none
 * @param pidsLimit    {@code --pids-limit}, 0 for none
 * @param capAdd       {@code --cap-add}, names with or without {@code CAP_}, or {@code ALL}
 * @param capDrop      {@code --cap-drop}, likewise
 * @param mounts       from {@code -v}, {@code --mount} and {@code --tmpfs} ({@link MountSpec}'s parsers)
 * @param network      {@code --network}: null or {@code default} for the default {@code bridge}, a network's
 *                     name or ID, {@code none}, {@code host}, {@code container:NAME}
 * @param deviceReadBps  {@code --device-read-bps}
 * @param deviceWriteBps {@code --device-write-bps}
 * @param cpuShares       {@code --cpu-shares}, the relative CPU weight (cgroup cpu.shares), 0 for the default
 * @param deviceReadIops  {@code --device-read-iops}, operations per second
 * @param deviceWriteIops {@code --device-write-iops}
 * @param networkAliases {@code --network-alias}: more names others on a user-defined network resolve it by
 * @param ip           {@code --ip}: a static address on the network, or null
 * @param ports        {@code -p}: ports published on the host
 * @param publishAll   {@code -P}: the image's EXPOSEd ports published on free host ports
 * @param dns          {@code --dns}: name servers for the container's resolv.conf instead of the host's
 * @param consoleSize  the terminal's rows and columns at start ({@code -t}: the client's terminal), or null
 */
public record RunOptions(List<String> cmd, List<String> entrypoint, List<String> env, String workdir, String user,
                         List<String> groupAdd, String hostname, boolean readOnly, long memory, double cpus,
                         long pidsLimit, List<String> capAdd, List<String> capDrop, boolean privileged,
                         List<MountSpec> mounts, boolean tty, String network, List<Throttle> deviceReadBps,
                         List<Throttle> deviceWriteBps, long cpuShares, List<Throttle> deviceReadIops,
                         List<Throttle> deviceWriteIops, List<String> networkAliases, String ip,
                         List<PortMapping> ports, boolean publishAll, List<String> dns, ConsoleSize consoleSize) {
    /** A terminal's size in character cells, as TIOCSWINSZ takes it (unsigned 16-bit each). */
    public record ConsoleSize(int height, int width) {
        public ConsoleSize {
            if (height < 0 || height > 0xffff || width < 0 || width > 0xffff) {
                throw new IllegalArgumentException("ConsoleSize " + height + "x" + width
                        + " is out of range: rows and columns are 0 to 65535");
            }
        }
    }

    /** Without CPU shares, IOPS limits and networking options (the default network). */
    public RunOptions(List<String> cmd, List<String> entrypoint, List<String> env, String workdir, String user,
                      List<String> groupAdd, String hostname, boolean readOnly, long memory, double cpus,
                      long pidsLimit, List<String> capAdd, List<String> capDrop, boolean privileged,
                      List<MountSpec> mounts, boolean tty, String network, List<Throttle> deviceReadBps,
                      List<Throttle> deviceWriteBps) {
        this(cmd, entrypoint, env, workdir, user, groupAdd, hostname, readOnly, memory, cpus, pidsLimit, capAdd,
                capDrop, privileged, mounts, tty, network, deviceReadBps, deviceWriteBps, 0, List.of(), List.of(),
                List.of(), null, List.of(), false, List.of(), null);
    }

    public RunOptions {
        if (cpuShares < 0) {
            throw new IllegalArgumentException("--cpu-shares cannot be negative: " + cpuShares);
        }
        deviceReadIops = List.copyOf(deviceReadIops);
        deviceWriteIops = List.copyOf(deviceWriteIops);
        cmd = List.copyOf(cmd);
        entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
        env = List.copyOf(env);
        groupAdd = List.copyOf(groupAdd);
        capAdd = List.copyOf(capAdd);
        capDrop = List.copyOf(capDrop);
        mounts = List.copyOf(mounts);
        deviceReadBps = List.copyOf(deviceReadBps);
        deviceWriteBps = List.copyOf(deviceWriteBps);
        networkAliases = networkAliases == null ? List.of() : List.copyOf(networkAliases);
        ports = ports == null ? List.of() : List.copyOf(ports);
        dns = dns == null ? List.of() : List.copyOf(dns);
    }

    /** A bandwidth limit on a host block device, in bytes per second. */
    public record Throttle(Path device, long rate) {
        /** Parses Docker's {@code DEVICE:RATE}, e.g. {@code /dev/sda:1mb}. */
        public static Throttle parse(String flag, String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon <= 0 || !spec.startsWith("/")) {
                throw new IllegalArgumentException(flag + ": \"" + spec + "\" is not DEVICE:RATE with an absolute device path");
            }
            return new Throttle(Path.of(spec.substring(0, colon)), Sizes.parse(flag, spec.substring(colon + 1)));
        }

        /** Parses Docker's {@code DEVICE:IOPS} ({@code --device-read-iops}), e.g. {@code /dev/sda:1000}. */
        public static Throttle parseIops(String flag, String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon <= 0 || !spec.startsWith("/")) {
                throw new IllegalArgumentException(flag + ": \"" + spec + "\" is not DEVICE:IOPS with an absolute device path");
            }
            try {
                long iops = Long.parseLong(spec.substring(colon + 1));
                if (iops < 0) {
                    throw new NumberFormatException();
                }
                return new Throttle(Path.of(spec.substring(0, colon)), iops);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + ": \"" + spec.substring(colon + 1)
                        + "\" is not a number of operations per second");
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options one at a time, as a command line is read. */
    public static final class Builder {
        private List<String> cmd = List.of();
        private List<String> entrypoint;
        private final List<String> env = new ArrayList<>();
        private String workdir;
        private String user;
        private final List<String> groupAdd = new ArrayList<>();
        private String hostname;
        private boolean readOnly;
        private long memory;
        private double cpus;
        private long pidsLimit;
        private final List<String> capAdd = new ArrayList<>();
        private final List<String> capDrop = new ArrayList<>();
        private boolean privileged;
        private final List<MountSpec> mounts = new ArrayList<>();
        private boolean tty;
        private String network;
        private final List<Throttle> readBps = new ArrayList<>();
        private final List<Throttle> writeBps = new ArrayList<>();
        private long cpuShares;
        private final List<Throttle> readIops = new ArrayList<>();
        private final List<Throttle> writeIops = new ArrayList<>();
        private final List<String> networkAliases = new ArrayList<>();
        private String ip;
        private final List<PortMapping> ports = new ArrayList<>();
        private boolean publishAll;
        private final List<String> dns = new ArrayList<>();
        private ConsoleSize consoleSize;

        public Builder cmd(String... c) {
            cmd = List.of(c);
            return this;
        }

        public Builder cmd(List<String> c) {
            cmd = List.copyOf(c);
            return this;
        }

        public Builder entrypoint(List<String> e) {
            entrypoint = e == null ? null : List.copyOf(e);
            return this;
        }

        /** Docker's {@code --entrypoint STRING}: one program; the empty string clears the image's. */
        public Builder entrypoint(String e) {
            entrypoint = e.isEmpty() ? List.of() : List.of(e);
            return this;
        }

        public Builder env(String nameValue) {
            env.add(nameValue);
            return this;
        }

        public Builder workdir(String w) {
            workdir = w;
            return this;
        }

        public Builder user(String u) {
            user = u;
            return this;
        }

        public Builder groupAdd(String g) {
            groupAdd.add(g);
            return this;
        }

        public Builder hostname(String h) {
            hostname = h;
            return this;
        }

        public Builder readOnly(boolean r) {
            readOnly = r;
            return this;
        }

        public Builder memory(long bytes) {
            memory = bytes;
            return this;
        }

        public Builder cpus(double c) {
            cpus = c;
            return this;
        }

        public Builder pidsLimit(long n) {
            pidsLimit = n;
            return this;
        }

        public Builder capAdd(String c) {
            capAdd.add(c);
            return this;
        }

        public Builder capDrop(String c) {
            capDrop.add(c);
            return this;
        }

        public Builder privileged(boolean p) {
            privileged = p;
            return this;
        }

        public Builder mount(MountSpec m) {
            mounts.add(m);
            return this;
        }

        /** {@code -v SPEC}. */
        public Builder volume(String spec) {
            return mount(MountSpec.parseVolumeFlag(spec));
        }

        /** {@code --mount SPEC}. */
        public Builder mountFlag(String spec) {
            return mount(MountSpec.parseMountFlag(spec));
        }

        /** {@code --tmpfs SPEC}. */
        public Builder tmpfs(String spec) {
            return mount(MountSpec.parseTmpfsFlag(spec));
        }

        public Builder tty(boolean t) {
            tty = t;
            return this;
        }

        public Builder network(String n) {
            network = n;
            return this;
        }

        public Builder deviceReadBps(Throttle t) {
            readBps.add(t);
            return this;
        }

        public Builder deviceWriteBps(Throttle t) {
            writeBps.add(t);
            return this;
        }

        public Builder cpuShares(long shares) {
            cpuShares = shares;
            return this;
        }

        public Builder deviceReadIops(Throttle t) {
            readIops.add(t);
            return this;
        }

        public Builder deviceWriteIops(Throttle t) {
            writeIops.add(t);
            return this;
        }

        public Builder networkAlias(String a) {
            networkAliases.add(a);
            return this;
        }

        public Builder ip(String address) {
            ip = address;
            return this;
        }

        public Builder publish(PortMapping p) {
            ports.add(p);
            return this;
        }

        /** {@code -p SPEC}, ranges included ({@link PortMapping#parseAll}). */
        public Builder publish(String spec) {
            PortMapping.parseAll(spec).forEach(ports::add);
            return this;
        }

        public Builder publishAll(boolean p) {
            publishAll = p;
            return this;
        }

        public Builder dns(String server) {
            dns.add(server);
            return this;
        }

        public Builder consoleSize(ConsoleSize size) {
            consoleSize = size;
            return this;
        }

        public RunOptions build() {
            return new RunOptions(cmd, entrypoint, env, workdir, user, groupAdd, hostname, readOnly, memory, cpus,
                    pidsLimit, capAdd, capDrop, privileged, mounts, tty, network, readBps, writeBps, cpuShares,
                    readIops, writeIops, networkAliases, ip, ports, publishAll, dns, consoleSize);
        }
    }
}
