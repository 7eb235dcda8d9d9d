package io.vessel.runtime.spec;

import io.vessel.json.JsonNode;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An OCI runtime configuration (config.json, runtime-spec 1.2), Linux parts, as records.
 *
 * <p>{@link #parse} checks the shape and the rules of the spec that can be checked without the
 * host; every error names the field, e.g. {@code config.json: linux.uidMappings[0].size must be > 0}.
 */
public record Spec(
        String ociVersion,
        Process process,
        Root root,
        String hostname,
        String domainname,
        List<Mount> mounts,
        Hooks hooks,
        Map<String, String> annotations,
        Linux linux) {

    public static Spec parse(String configJson) {
        return from(JsonNode.parse("config.json", configJson));
    }

    public static Spec from(JsonNode n) {
        String version = n.get("ociVersion").string();
        if (!version.startsWith("1.")) {
            throw n.get("ociVersion").fail("must be a 1.x version, not \"" + version + "\"");
        }
        Spec spec = new Spec(
                version,
                n.get("process").present() ? Process.from(n.get("process")) : null,
                Root.from(n.get("root")),
                n.get("hostname").string(null),
                n.get("domainname").string(null),
                n.get("mounts").list(Mount::from),
                Hooks.from(n.get("hooks")),
                n.get("annotations").stringMap(),
                Linux.from(n.get("linux")));
        spec.validate(n);
        return spec;
    }

    private void validate(JsonNode n) {
        Set<String> types = new HashSet<>();
        for (Namespace ns : linux.namespaces()) {
            types.add(ns.type());
        }
        if ((hostname != null || domainname != null) && !types.contains("uts")) {
            throw n.get(hostname != null ? "hostname" : "domainname")
                    .fail("needs a new uts namespace (linux.namespaces has none)");
        }
        boolean newUserNs = linux.namespaces().stream().anyMatch(ns -> ns.type().equals("user") && ns.path() == null);
        if (!linux.uidMappings().isEmpty() && !types.contains("user")) {
            throw n.get("linux").get("uidMappings").fail("needs a user namespace (linux.namespaces has none)");
        }
        if (newUserNs && (linux.uidMappings().isEmpty() || linux.gidMappings().isEmpty())) {
            throw n.get("linux").get(linux.uidMappings().isEmpty() ? "uidMappings" : "gidMappings")
                    .fail("is required for a new user namespace");
        }
        if (!linux.timeOffsets().isEmpty() && !types.contains("time")) {
            throw n.get("linux").get("timeOffsets").fail("needs a time namespace (linux.namespaces has none)");
        }
        if (!linux.sysctl().isEmpty()) {
            for (String key : linux.sysctl().keySet()) {
                if (key.contains("..") || key.startsWith("/") || key.startsWith(".")) {
                    throw n.get("linux").get("sysctl").get(key).fail("is not a valid sysctl name");
                }
                if ((key.startsWith("net.") && !types.contains("network"))
                        || ((key.startsWith("kernel.msg") || key.startsWith("kernel.sem") || key.startsWith("kernel.shm")
                        || key.startsWith("fs.mqueue.")) && !types.contains("ipc"))
                        || ((key.equals("kernel.hostname") || key.equals("kernel.domainname")) && !types.contains("uts"))) {
                    throw n.get("linux").get("sysctl").get(key).fail("is not namespaced by the container's namespaces");
                }
            }
        }
    }

    /** The container's namespaces of a type, or null. */
    public Namespace namespace(String type) {
        for (Namespace ns : linux.namespaces()) {
            if (ns.type().equals(type)) {
                return ns;
            }
        }
        return null;
    }

    public record Process(
            boolean terminal,
            int consoleHeight,
            int consoleWidth,
            User user,
            List<String> args,
            List<String> env,
            String cwd,
            Capabilities capabilities,
            List<Rlimit> rlimits,
            boolean noNewPrivileges,
            Integer oomScoreAdj,
            String apparmorProfile,
            String selinuxLabel) {

        public static Process from(JsonNode n) {
            List<String> args = n.get("args").stringList();
            if (args.isEmpty() && !n.get("commandLine").present()) {
                throw n.get("args").fail("must name the program to run");
            }
            String cwd = n.get("cwd").string("/");
            if (!cwd.startsWith("/")) {
                throw n.get("cwd").fail("must be an absolute path, not \"" + cwd + "\"");
            }
            for (JsonNode e : n.get("env").elements()) {
                if (!e.string().contains("=")) {
                    throw e.fail("must have the form NAME=VALUE");
                }
            }
            List<Rlimit> rlimits = n.get("rlimits").list(Rlimit::from);
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < rlimits.size(); i++) {
                if (!seen.add(rlimits.get(i).type())) {
                    throw n.get("rlimits").elements().get(i).get("type").fail("is given twice");
                }
            }
            JsonNode size = n.get("consoleSize");
            return new Process(
                    n.get("terminal").bool(false),
                    size.get("height").intValue(0),
                    size.get("width").intValue(0),
                    User.from(n.get("user")),
                    args,
                    n.get("env").stringList(),
                    cwd,
                    n.get("capabilities").present() ? Capabilities.from(n.get("capabilities")) : null,
                    rlimits,
                    n.get("noNewPrivileges").bool(false),
                    n.get("oomScoreAdj").present() ? (int) n.get("oomScoreAdj").range(-1000, 1000) : null,
                    n.get("apparmorProfile").string(null),
                    n.get("selinuxLabel").string(null));
        }

        /** The value of variable {@code name} in env, or null. */
        public String getenv(String name) {
            for (String e : env) {
                if (e.startsWith(name) && e.length() > name.length() && e.charAt(name.length()) == '=') {
                    return e.substring(name.length() + 1);
                }
            }
            return null;
        }
    }

    public record User(long uid, long gid, Integer umask, List<Long> additionalGids) {
        public static User from(JsonNode n) {
            return new User(
                    n.get("uid").present() ? n.get("uid").range(0, 0xFFFF_FFFEL) : 0,
                    n.get("gid").present() ? n.get("gid").range(0, 0xFFFF_FFFEL) : 0,
                    n.get("umask").present() ? (int) n.get("umask").range(0, 0777) : null,
                    n.get("additionalGids").list(g -> g.range(0, 0xFFFF_FFFEL)));
        }
    }

    public record Capabilities(List<String> bounding, List<String> effective, List<String> inheritable,
                               List<String> permitted, List<String> ambient) {
        public static Capabilities from(JsonNode n) {
            return new Capabilities(caps(n.get("bounding")), caps(n.get("effective")), caps(n.get("inheritable")),
                    caps(n.get("permitted")), caps(n.get("ambient")));
        }

        private static List<String> caps(JsonNode n) {
            for (JsonNode c : n.elements()) {
                if (Capability.number(c.string()) < 0) {
                    throw c.fail("is not a known capability: \"" + c.string() + "\"");
                }
            }
            return n.stringList();
        }
    }

    public record Rlimit(String type, long soft, long hard) {
        public static Rlimit from(JsonNode n) {
            String type = n.get("type").string();
            if (RlimitType.number(type) < 0) {
                throw n.get("type").fail("is not a known rlimit: \"" + type + "\"");
            }
            long soft = n.get("soft").unsigned();
            long hard = n.get("hard").unsigned();
            if (Long.compareUnsigned(soft, hard) > 0) {
                throw n.get("soft").fail("must not exceed hard (" + Long.toUnsignedString(hard) + ")");
            }
            return new Rlimit(type, soft, hard);
        }
    }

    public record Root(String path, boolean readonly) {
        public static Root from(JsonNode n) {
            String path = n.get("path").string();
            if (path.isEmpty()) {
                throw n.get("path").fail("must not be empty");
            }
            return new Root(path, n.get("readonly").bool(false));
        }
    }

    public record Mount(String destination, String type, String source, List<String> options) {
        public static Mount from(JsonNode n) {
            String dest = n.get("destination").string();
            if (dest.isEmpty()) {
                throw n.get("destination").fail("must not be empty");
            }
            for (String part : dest.split("/")) {
                if (part.equals("..")) {
                    throw n.get("destination").fail("must not contain \"..\": \"" + dest + "\"");
                }
            }
            List<String> options = n.get("options").stringList();
            String type = n.get("type").string(null);
            if (type == null && !options.contains("bind") && !options.contains("rbind")) {
                throw n.get("type").fail("is required unless options has bind or rbind");
            }
            return new Mount(dest.startsWith("/") ? dest : "/" + dest, type, n.get("source").string(null), options);
        }

        public boolean isBind() {
            return options.contains("bind") || options.contains("rbind") || "bind".equals(type);
        }
    }

    public record Hooks(List<Hook> prestart, List<Hook> createRuntime, List<Hook> createContainer,
                        List<Hook> startContainer, List<Hook> poststart, List<Hook> poststop) {
        public static Hooks from(JsonNode n) {
            return new Hooks(n.get("prestart").list(Hook::from), n.get("createRuntime").list(Hook::from),
                    n.get("createContainer").list(Hook::from), n.get("startContainer").list(Hook::from),
                    n.get("poststart").list(Hook::from), n.get("poststop").list(Hook::from));
        }

        public static final Hooks NONE = new Hooks(List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    }

    public record Hook(String path, List<String> args, List<String> env, int timeoutSeconds) {
        public static Hook from(JsonNode n) {
            String path = n.get("path").string();
            if (!path.startsWith("/")) {
                throw n.get("path").fail("must be an absolute path, not \"" + path + "\"");
            }
            int timeout = n.get("timeout").present() ? (int) n.get("timeout").range(1, Integer.MAX_VALUE) : 0;
            List<String> args = n.get("args").stringList();
            return new Hook(path, args.isEmpty() ? List.of(path) : args, n.get("env").stringList(), timeout);
        }
    }

    public record Linux(
            List<Namespace> namespaces,
            List<IdMapping> uidMappings,
            List<IdMapping> gidMappings,
            Map<String, TimeOffset> timeOffsets,
            List<Device> devices,
            String cgroupsPath,
            Resources resources,
            String rootfsPropagation,
            Seccomp seccomp,
            Map<String, String> sysctl,
            List<String> maskedPaths,
            List<String> readonlyPaths,
            String mountLabel,
            String personality) {

        public static Linux from(JsonNode n) {
            List<Namespace> namespaces = n.get("namespaces").list(Namespace::from);
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < namespaces.size(); i++) {
                if (!seen.add(namespaces.get(i).type())) {
                    throw n.get("namespaces").elements().get(i).get("type")
                            .fail("\"" + namespaces.get(i).type() + "\" is given twice");
                }
            }
            Map<String, TimeOffset> offsets = new java.util.LinkedHashMap<>();
            for (String clock : n.get("timeOffsets").keys()) {
                if (!clock.equals("boottime") && !clock.equals("monotonic")) {
                    throw n.get("timeOffsets").get(clock).fail("is not a clock with an offset (boottime, monotonic)");
                }
                JsonNode o = n.get("timeOffsets").get(clock);
                offsets.put(clock, new TimeOffset(o.get("secs").longValue(0), o.get("nanosecs").range(0, 999_999_999)));
            }
            String propagation = n.get("rootfsPropagation").string(null);
            if (propagation != null && MountOption.propagation(propagation) == 0) {
                throw n.get("rootfsPropagation").fail("is not a propagation mode: \"" + propagation + "\"");
            }
            JsonNode personality = n.get("personality");
            return new Linux(
                    namespaces,
                    n.get("uidMappings").list(IdMapping::from),
                    n.get("gidMappings").list(IdMapping::from),
                    offsets,
                    n.get("devices").list(Device::from),
                    n.get("cgroupsPath").string(null),
                    Resources.from(n.get("resources")),
                    propagation,
                    n.get("seccomp").present() ? Seccomp.from(n.get("seccomp")) : null,
                    n.get("sysctl").stringMap(),
                    n.get("maskedPaths").stringList(),
                    n.get("readonlyPaths").stringList(),
                    n.get("mountLabel").string(null),
                    personality.present() ? personalityDomain(personality.get("domain")) : null);
        }
    }

    private static String personalityDomain(JsonNode n) {
        String d = n.string();
        if (!d.equals("LINUX") && !d.equals("LINUX32")) {
            throw n.fail("must be LINUX or LINUX32, not \"" + d + "\"");
        }
        return d;
    }

    public record TimeOffset(long secs, long nanosecs) {
    }

    /** Namespace types of the spec, in the order runc joins them: user first. */
    public static final List<String> NAMESPACE_TYPES = List.of("user", "pid", "network", "ipc", "uts", "mount", "cgroup", "time");

    public record Namespace(String type, String path) {
        public static Namespace from(JsonNode n) {
            String type = n.get("type").string();
            if (!NAMESPACE_TYPES.contains(type)) {
                throw n.get("type").fail("is not a namespace type: \"" + type + "\" (one of " + NAMESPACE_TYPES + ")");
            }
            String path = n.get("path").string(null);
            if (path != null && !path.startsWith("/")) {
                throw n.get("path").fail("must be an absolute path, not \"" + path + "\"");
            }
            return new Namespace(type, path == null || path.isEmpty() ? null : path);
        }
    }

    public record IdMapping(long containerID, long hostID, long size) {
        public static IdMapping from(JsonNode n) {
            long size = n.get("size").longValue();
            if (size <= 0) {
                throw n.get("size").fail("must be > 0");
            }
            return new IdMapping(n.get("containerID").range(0, 0xFFFF_FFFEL), n.get("hostID").range(0, 0xFFFF_FFFEL),
                    size);
        }
    }

    public record Device(String type, String path, long major, long minor, int fileMode, long uid, long gid) {
        public static Device from(JsonNode n) {
            String type = n.get("type").string();
            if (!List.of("c", "b", "u", "p").contains(type)) {
                throw n.get("type").fail("must be one of c, b, u, p, not \"" + type + "\"");
            }
            String path = n.get("path").string();
            if (!path.startsWith("/dev/")) {
                throw n.get("path").fail("must be under /dev, not \"" + path + "\"");
            }
            boolean needsNumbers = !type.equals("p");
            return new Device(type, path,
                    needsNumbers ? n.get("major").range(0, 0xFFF_FFFFL) : 0,
                    needsNumbers ? n.get("minor").range(0, 0xFFF_FFFFL) : 0,
                    n.get("fileMode").present() ? fileMode(n.get("fileMode"), type) : 0666,
                    n.get("uid").present() ? n.get("uid").range(0, 0xFFFF_FFFEL) : 0,
                    n.get("gid").present() ? n.get("gid").range(0, 0xFFFF_FFFEL) : 0);
        }

        /**
         * The permission bits of fileMode. podman writes the file type bits too (0020666 for a
         * character device), as runc accepts: those must match the type.
         */
        private static int fileMode(JsonNode n, String type) {
            int mode = (int) n.range(0, 0177777);
            int format = mode & 0170000;
            int wanted = switch (type) {
                case "b" -> 0060000;
                case "p" -> 0010000;
                default -> 0020000;
            };
            if (format != 0 && format != wanted) {
                throw n.fail("has the file type bits 0" + Integer.toOctalString(format)
                        + ", which are not those of type \"" + type + "\"");
            }
            return mode & 07777;
        }
    }

    public record Seccomp(String defaultAction, Integer defaultErrnoRet, List<String> architectures,
                          List<String> flags, String listenerPath, String listenerMetadata, List<Syscall> syscalls) {
        public static final List<String> ACTIONS = List.of("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
                "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY");
        public static final List<String> FLAGS = List.of("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");

        public static Seccomp from(JsonNode n) {
            String dflt = action(n.get("defaultAction"));
            for (JsonNode f : n.get("flags").elements()) {
                if (!FLAGS.contains(f.string())) {
                    throw f.fail("is not a seccomp flag: \"" + f.string() + "\" (one of " + FLAGS + ")");
                }
            }
            return new Seccomp(dflt,
                    n.get("defaultErrnoRet").present() ? (int) n.get("defaultErrnoRet").range(0, 4095) : null,
                    n.get("architectures").stringList(),
                    n.get("flags").stringList(),
                    n.get("listenerPath").string(null),
                    n.get("listenerMetadata").string(null),
                    n.get("syscalls").list(Syscall::from));
        }

        static String action(JsonNode n) {
            String a = n.string();
            if (!ACTIONS.contains(a)) {
                throw n.fail("is not a seccomp action: \"" + a + "\" (one of " + ACTIONS + ")");
            }
            return a;
        }
    }

    public record Syscall(List<String> names, String action, Integer errnoRet, List<SyscallArg> args) {
        public static Syscall from(JsonNode n) {
            List<String> names = n.get("names").stringList();
            if (names.isEmpty()) {
                throw n.get("names").fail("must name at least one system call");
            }
            return new Syscall(names, Seccomp.action(n.get("action")),
                    n.get("errnoRet").present() ? (int) n.get("errnoRet").range(0, 4095) : null,
                    n.get("args").list(SyscallArg::from));
        }
    }

    public record SyscallArg(int index, long value, long valueTwo, String op) {
        public static final List<String> OPS = List.of("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ");

        public static SyscallArg from(JsonNode n) {
            String op = n.get("op").string();
            if (!OPS.contains(op)) {
                throw n.get("op").fail("is not a comparison: \"" + op + "\" (one of " + OPS + ")");
            }
            return new SyscallArg((int) n.get("index").range(0, 5), n.get("value").unsigned(),
                    n.get("valueTwo").present() ? n.get("valueTwo").unsigned() : 0, op);
        }
    }
}
