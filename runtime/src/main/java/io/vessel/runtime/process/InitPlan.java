package io.vessel.runtime.process;

import io.vessel.linux.Files;
import io.vessel.runtime.seccomp.SeccompCompiler;
import io.vessel.runtime.spec.Capability;
import io.vessel.runtime.spec.MountOption;
import io.vessel.runtime.spec.RlimitType;
import io.vessel.runtime.spec.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns a container's configuration into the launcher's plan. Every decision about how a
 * container is made (namespace order, mounts, devices, what happens before and after
 * pivot_root, when seccomp is loaded) is taken here; the launcher only performs the steps.
 */
public final class InitPlan {
    // clone(2) flags, include/uapi/linux/sched.h
    static final long CLONE_NEWTIME = 0x80, CLONE_NEWNS = 0x20000, CLONE_NEWCGROUP = 0x02000000,
            CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000,
            CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;
    /** Clock ids for /proc/self/timens_offsets (include/uapi/linux/time.h). */
    private static final int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;
    /** The exec FIFO's name inside the state directory: the init blocks opening it until start. */
    public static final String EXEC_FIFO = "exec.fifo";

    /** Devices every container gets (the OCI spec's default devices). */
    private static final List<Spec.Device> DEFAULT_DEVICES = List.of(
            new Spec.Device("c", "/dev/null", 1, 3, 0666, 0, 0),
            new Spec.Device("c", "/dev/zero", 1, 5, 0666, 0, 0),
            new Spec.Device("c", "/dev/full", 1, 7, 0666, 0, 0),
            new Spec.Device("c", "/dev/random", 1, 8, 0666, 0, 0),
            new Spec.Device("c", "/dev/urandom", 1, 9, 0666, 0, 0),
            new Spec.Device("c", "/dev/tty", 5, 0, 0666, 0, 0));

    private InitPlan() {
    }

    /** What create needs besides the spec: where things are and which launcher slots hold what. */
    public record CreateContext(
            Path rootfs,
            Path bundle,
            Path stateDir,
            boolean noPivot,
            int preserved,
            String consoleSocket,
            boolean foreground,
            List<String> cgroupProcsFiles,
            Map<String, String> cgroupPaths) {
    }

    public static long namespaceFlag(String type) {
        return switch (type) {
            case "user" -> CLONE_NEWUSER;
            case "pid" -> CLONE_NEWPID;
            case "network" -> CLONE_NEWNET;
            case "ipc" -> CLONE_NEWIPC;
            case "uts" -> CLONE_NEWUTS;
            case "mount" -> CLONE_NEWNS;
            case "cgroup" -> CLONE_NEWCGROUP;
            case "time" -> CLONE_NEWTIME;
            default -> throw new IllegalArgumentException("namespace type " + type);
        };
    }

    /** The /proc/PID/ns file name of a namespace type. */
    public static String procName(String type) {
        return switch (type) {
            case "network" -> "net";
            case "mount" -> "mnt";
            default -> type;
        };
    }

    /** The plan of a container's init process, from joining its cgroup to exec. */
    public static Plan forCreate(Spec spec, CreateContext ctx) {
        Spec.Process proc = spec.process();
        if (proc == null) {
            throw new IllegalArgumentException("config.json: process is required to create a container");
        }
        if (spec.namespace("mount") == null) {
            throw new IllegalArgumentException(
                    "config.json: linux.namespaces must contain a mount namespace: without one the container's mounts would change the host");
        }
        Plan plan = new Plan();
        plan.add(Op.CONFIG, ctx.preserved());
        int fifoSlot = Launcher.slotBase(ctx.preserved());
        int consoleSlot = fifoSlot + 1;
        // The init blocks opening this FIFO until start; it reaches it through a directory
        // descriptor opened now, as the state directory is out of sight after pivot_root.
        plan.add(Op.MKFIFO, ctx.stateDir().resolve(EXEC_FIFO).toString(), 0622);
        plan.add(Op.OPEN_PATH, fifoSlot, ctx.stateDir().toString());
        if (proc.terminal()) {
            plan.add(Op.CONNECT, consoleSlot, ctx.consoleSocket());
        }
        for (String procs : ctx.cgroupProcsFiles()) {
            plan.add(Op.JOIN_CGROUP, procs);
        }
        long cloneFlags = 0;
        boolean newUserNs = false;
        for (String type : Spec.NAMESPACE_TYPES) {
            Spec.Namespace ns = spec.namespace(type);
            if (ns == null) {
                continue;
            }
            if (ns.path() != null) {
                plan.add(Op.SETNS, ns.path(), namespaceFlag(type));
            } else if (type.equals("time")) {
                // A time namespace is entered by the children of the process that unshares it.
                plan.add(Op.UNSHARE, CLONE_NEWTIME);
                StringBuilder offsets = new StringBuilder();
                spec.linux().timeOffsets().forEach((clock, off) -> offsets
                        .append(clock.equals("monotonic") ? CLOCK_MONOTONIC : CLOCK_BOOTTIME)
                        .append(' ').append(off.secs()).append(' ').append(off.nanosecs()).append('\n'));
                if (!offsets.isEmpty()) {
                    plan.add(Op.WRITE_FILE, "/proc/self/timens_offsets", offsets.toString());
                }
            } else {
                cloneFlags |= namespaceFlag(type);
                newUserNs |= type.equals("user");
            }
        }
        plan.add(Op.CLONE, cloneFlags,
                newUserNs ? idMap(spec.linux().uidMappings()) : "",
                newUserNs ? idMap(spec.linux().gidMappings()) : "",
                "", // root writes the maps, so setgroups stays allowed for additionalGids
                ctx.foreground());

        // ---- the container's init, in its new namespaces ----
        plan.add(Op.DUMPABLE, 0);
        if (newUserNs) {
            plan.add(Op.USER, 0, 0);
        }
        plan.add(Op.SETSID);
        if (spec.hostname() != null) {
            plan.add(Op.SETHOSTNAME, spec.hostname());
        }
        if (spec.domainname() != null) {
            plan.add(Op.SETDOMAINNAME, spec.domainname());
        }
        rootfs(plan, spec, ctx, newUserNs);

        List<Spec.Hook> createContainer = spec.hooks().createContainer();
        if (!spec.hooks().prestart().isEmpty() || !spec.hooks().createRuntime().isEmpty()
                || !createContainer.isEmpty() || !spec.hooks().startContainer().isEmpty()) {
            // Java runs prestart and createRuntime in the runtime's namespaces, and sends the state.
            plan.add(Op.SYNC, "hooks");
        }
        for (Spec.Hook h : createContainer) {
            hook(plan, h);
        }
        String root = ctx.rootfs().toString();
        plan.add(ctx.noPivot() ? Op.MOVE_CHROOT : Op.PIVOT_ROOT, root);

        if (proc.terminal()) {
            plan.add(Op.CONSOLE, consoleSlot, 1, proc.consoleHeight(), proc.consoleWidth());
        }
        spec.linux().sysctl().forEach((key, value) ->
                plan.add(Op.WRITE_FILE, "/proc/sys/" + key.replace('.', '/'), value));
        for (String p : spec.linux().readonlyPaths()) {
            plan.add(Op.READONLY, p, 1);
        }
        for (String p : spec.linux().maskedPaths()) {
            plan.add(Op.MASK, p);
        }
        if (spec.root().readonly()) {
            plan.add(Op.READONLY, "/", 0);
        }
        processSetup(plan, spec, proc, true);
        plan.add(Op.WAIT_START, fifoSlot, EXEC_FIFO);
        for (Spec.Hook h : spec.hooks().startContainer()) {
            hook(plan, h);
        }
        finish(plan, spec, proc);
        return plan;
    }

    /** What exec needs: the container's namespaces to join and the launcher slots. */
    public record ExecContext(
            List<String[]> namespacesToJoin, // {path, type}
            List<String> cgroupProcsFiles,
            int preserved,
            String consoleSocket,
            boolean foreground) {
    }

    /** The plan of a process started in a running container. */
    public static Plan forExec(Spec spec, Spec.Process proc, ExecContext ctx) {
        Plan plan = new Plan();
        plan.add(Op.CONFIG, ctx.preserved());
        int consoleSlot = Launcher.slotBase(ctx.preserved()) + 1;
        if (proc.terminal()) {
            plan.add(Op.CONNECT, consoleSlot, ctx.consoleSocket()); // before joining the mount namespace
        }
        for (String procs : ctx.cgroupProcsFiles()) {
            plan.add(Op.JOIN_CGROUP, procs);
        }
        for (String[] ns : ctx.namespacesToJoin()) {
            plan.add(Op.SETNS, ns[0], namespaceFlag(ns[1]));
        }
        plan.add(Op.CLONE, 0, "", "", "", ctx.foreground());
        plan.add(Op.DUMPABLE, 0);
        if (proc.terminal()) {
            plan.add(Op.CONSOLE, consoleSlot, 0, proc.consoleHeight(), proc.consoleWidth());
        }
        processSetup(plan, spec, proc, false);
        finish(plan, spec, proc);
        return plan;
    }

    /** rlimits, oom score, umask; seccomp here when it must come before privileges are dropped. */
    private static void processSetup(Plan plan, Spec spec, Spec.Process proc, boolean init) {
        for (Spec.Rlimit r : proc.rlimits()) {
            plan.add(Op.SETRLIMIT, RlimitType.number(r.type()), Long.toUnsignedString(r.soft()),
                    Long.toUnsignedString(r.hard()));
        }
        if (proc.oomScoreAdj() != null) {
            plan.add(Op.WRITE_FILE, "/proc/self/oom_score_adj", proc.oomScoreAdj().toString());
        }
        if (proc.user().umask() != null) {
            plan.add(Op.UMASK, proc.user().umask());
        }
        plan.add(Op.CHDIR, proc.cwd());
        String path = proc.getenv("PATH");
        plan.add(Op.LOOKUP_EXEC, proc.args().getFirst(), path == null ? "" : path);
    }

    /** Seccomp, user, capabilities, no_new_privs, exec: in the order that keeps each step possible. */
    private static void finish(Plan plan, Spec spec, Spec.Process proc) {
        SeccompCompiler.Program seccomp = spec.linux().seccomp() == null ? null
                : SeccompCompiler.compile(spec.linux().seccomp());
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
        if (seccomp != null && !proc.noNewPrivileges()) {
            plan.add(Op.SECCOMP, seccomp.flags(), seccomp.filter());
        }
        List<Object> user = new ArrayList<>();
        user.add(proc.user().uid());
        user.add(proc.user().gid());
        user.addAll(proc.user().additionalGids());
        plan.add(Op.USER, user.toArray());
        Spec.Capabilities caps = proc.capabilities();
        if (caps != null) {
            plan.add(Op.CAPS, hex(Capability.mask(caps.bounding())), hex(Capability.mask(caps.effective())),
                    hex(Capability.mask(caps.permitted())), hex(Capability.mask(caps.inheritable())),
                    hex(Capability.mask(caps.ambient())));
        }
        if (proc.noNewPrivileges()) {
            plan.add(Op.NO_NEW_PRIVS);
        }
        if (seccomp != null && proc.noNewPrivileges()) {
            plan.add(Op.SECCOMP, seccomp.flags(), seccomp.filter());
        }
        plan.addCounted(Op.EXEC, List.of(), List.of(proc.args(), proc.env()));
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static void hook(Plan plan, Spec.Hook h) {
        plan.addCounted(Op.RUN_HOOK, List.of(h.timeoutSeconds(), h.path()), List.of(h.args(), h.env()));
    }

    private static String idMap(List<Spec.IdMapping> maps) {
        StringBuilder sb = new StringBuilder();
        for (Spec.IdMapping m : maps) {
            sb.append(m.containerID()).append(' ').append(m.hostID()).append(' ').append(m.size()).append('\n');
        }
        return sb.toString();
    }

    /** Root propagation, the rootfs bind, the mounts in order, /dev. */
    private static void rootfs(Plan plan, Spec spec, CreateContext ctx, boolean newUserNs) {
        String root = ctx.rootfs().toString();
        long propagation = spec.linux().rootfsPropagation() == null ? MountOption.MS_SLAVE | MountOption.MS_REC
                : MountOption.propagation(spec.linux().rootfsPropagation());
        plan.add(Op.ROOT_PROPAGATION, propagation);
        plan.add(Op.MOUNT, "/", root, "none", root, "", MountOption.MS_BIND | MountOption.MS_REC, "", 0, "");
        if (spec.linux().rootfsPropagation() != null && (propagation & MountOption.MS_SHARED) != 0) {
            // the rootfs itself must be shared for its submounts to propagate back
            plan.add(Op.MOUNT, "/", root, "none", "", "", propagation, "", 0, "");
        }
        boolean devMounted = false;
        boolean devptsMounted = false;
        for (Spec.Mount m : spec.mounts()) {
            mount(plan, spec, ctx, m, newUserNs);
            devMounted |= m.destination().equals("/dev") && !m.isBind();
            devptsMounted |= m.destination().equals("/dev/pts");
        }
        List<Spec.Device> devices = new ArrayList<>();
        if (devMounted) {
            devices.addAll(DEFAULT_DEVICES);
        }
        for (Spec.Device d : spec.linux().devices()) {
            devices.removeIf(x -> x.path().equals(d.path()));
            devices.add(d);
        }
        for (Spec.Device d : devices) {
            device(plan, root, d, newUserNs);
        }
        if (devMounted) {
            plan.add(Op.SYMLINK, root, "/dev/fd", "/proc/self/fd");
            plan.add(Op.SYMLINK, root, "/dev/stdin", "/proc/self/fd/0");
            plan.add(Op.SYMLINK, root, "/dev/stdout", "/proc/self/fd/1");
            plan.add(Op.SYMLINK, root, "/dev/stderr", "/proc/self/fd/2");
            if (devptsMounted) {
                plan.add(Op.SYMLINK, root, "/dev/ptmx", "pts/ptmx");
            }
        }
    }

    private static void device(Plan plan, String root, Spec.Device d, boolean newUserNs) {
        if (newUserNs) {
            // mknod is not allowed in a user namespace: bind the host's node instead.
            plan.add(Op.MOUNT, root, d.path(), "file", d.path(), "", MountOption.MS_BIND, "", 0, "");
            return;
        }
        int type = switch (d.type()) {
            case "b" -> Files.S_IFBLK;
            case "p" -> Files.S_IFIFO;
            default -> Files.S_IFCHR;
        };
        plan.add(Op.MKNOD, root, d.path(), type | d.fileMode(), Files.makedev(d.major(), d.minor()), d.uid(), d.gid());
    }

    private static void mount(Plan plan, Spec spec, CreateContext ctx, Spec.Mount m, boolean newUserNs) {
        String root = ctx.rootfs().toString();
        MountOption.Parsed opts = MountOption.parse(m.options());
        String props = String.join(",", opts.propagation().stream().map(Object::toString).toList());
        if ("cgroup".equals(m.type()) || "cgroup2".equals(m.type())) {
            cgroupMount(plan, spec, ctx, m, opts);
            return;
        }
        if (m.isBind()) {
            String source = m.source() == null ? "" : m.source();
            Path src = Path.of(source);
            if (!src.isAbsolute()) {
                src = ctx.bundle().resolve(src);
            }
            String mkmode = java.nio.file.Files.isDirectory(src) ? "dir" : "file";
            long bindFlags = MountOption.MS_BIND | (opts.flags() & MountOption.MS_REC);
            long rest = opts.flags() & ~(MountOption.MS_BIND | MountOption.MS_REC);
            long remount = rest != 0 ? MountOption.MS_BIND | MountOption.MS_REMOUNT | rest : 0;
            plan.add(Op.MOUNT, root, m.destination(), mkmode, src.toString(), "", bindFlags, "", remount, props);
            return;
        }
        String type = m.type();
        if (type.equals("sysfs") && newUserNs && spec.namespace("network") == null) {
            // sysfs may only be mounted by the owner of the network namespace: bind the host's, read-only.
            plan.add(Op.MOUNT, root, m.destination(), "dir", "/sys", "", MountOption.MS_BIND | MountOption.MS_REC, "",
                    MountOption.MS_BIND | MountOption.MS_REMOUNT | MountOption.MS_RDONLY | MountOption.MS_NOSUID
                            | MountOption.MS_NODEV | MountOption.MS_NOEXEC, props);
            return;
        }
        plan.add(Op.MOUNT, root, m.destination(), "dir", m.source() == null ? type : m.source(), type,
                opts.flags(), opts.data(), 0, props);
    }

    /**
     * A cgroup file system for the container: with a cgroup namespace, fresh cgroup mounts whose
     * root is the container's cgroup; without one, the container's own cgroup directories bound
     * in. On v1 each hierarchy gets a directory under a tmpfs, as on the host.
     */
    private static void cgroupMount(Plan plan, Spec spec, CreateContext ctx, Spec.Mount m, MountOption.Parsed opts) {
        String root = ctx.rootfs().toString();
        boolean cgroupNs = spec.namespace("cgroup") != null;
        long flags = opts.flags() & ~(MountOption.MS_BIND | MountOption.MS_REC);
        long ro = flags & MountOption.MS_RDONLY;
        Map<String, String> paths = ctx.cgroupPaths();
        boolean pureV2 = paths.size() == 1 && paths.containsKey("unified")
                && !paths.get("unified").startsWith("/sys/fs/cgroup/unified/");
        if (pureV2) {
            if (cgroupNs) {
                plan.add(Op.MOUNT, root, m.destination(), "dir", "cgroup2", "cgroup2", flags, "", 0, "");
            } else {
                plan.add(Op.MOUNT, root, m.destination(), "dir", paths.get("unified"), "",
                        MountOption.MS_BIND | MountOption.MS_REC, "",
                        MountOption.MS_BIND | MountOption.MS_REMOUNT | flags, "");
            }
            return;
        }
        plan.add(Op.MOUNT, root, m.destination(), "dir", "tmpfs", "tmpfs",
                MountOption.MS_NOSUID | MountOption.MS_NODEV | MountOption.MS_NOEXEC, "mode=755", 0, "");
        for (Map.Entry<String, String> e : paths.entrySet()) {
            String name = e.getKey();
            String dest = m.destination() + "/" + (name.startsWith("name=") ? name.substring(5) : name);
            if (cgroupNs) {
                String fstype = name.equals("unified") ? "cgroup2" : "cgroup";
                String data = name.equals("unified") ? "" : name.equals("systemd") ? "none,name=systemd" : name;
                plan.add(Op.MOUNT, root, dest, "dir", "cgroup", fstype, flags, data, 0, "");
            } else {
                plan.add(Op.MOUNT, root, dest, "dir", e.getValue(), "", MountOption.MS_BIND, "",
                        MountOption.MS_BIND | MountOption.MS_REMOUNT | flags, "");
            }
        }
        if (ro != 0) {
            plan.add(Op.MOUNT, root, m.destination(), "none", "", "",
                    MountOption.MS_REMOUNT | MountOption.MS_RDONLY | MountOption.MS_NOSUID | MountOption.MS_NODEV
                            | MountOption.MS_NOEXEC, "mode=755", 0, "");
        }
    }
}
