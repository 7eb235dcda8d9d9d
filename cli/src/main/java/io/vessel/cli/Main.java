package io.vessel.cli;

import io.vessel.engine.Archives;
import io.vessel.engine.Containers;
import io.vessel.engine.Engine;
import io.vessel.engine.EngineConfig;
import io.vessel.engine.Images;
import io.vessel.engine.container.RunOptions;
import io.vessel.engine.container.Sizes;
import io.vessel.engine.volume.Volume;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.registry.Credentials;
import io.vessel.image.registry.ProgressBars;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageStore;
import io.vessel.json.Json;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code vessel} command: docker's verbs for images, builds, volumes and containers. Until the
 * daemon exists it runs the engine in its own process; every verb goes through {@link Engine}'s
 * API, the one the daemon will serve.
 *
 * <p>Exit status as docker's: 0, the container's own status for {@code run}, 125 when Vessel
 * itself fails (bad usage, an image that cannot be found, a refused archive).
 */
public final class Main {
    static final String VERSION = "0.1.0";
    private static final int FAILED = 125;

    private final PrintStream out;
    private final PrintStream err;
    private EngineConfig config = EngineConfig.fromEnvironment();
    private Engine engine;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 14), false, StandardCharsets.UTF_8);
        int status = new Main(out, System.err).run(List.of(args));
        out.flush();
        System.exit(status);
    }

    private static final String USAGE = """
            Usage:  vessel [--root DIR] COMMAND

            Containers:
              run       Run a command in a new container from an image
              ps        List containers
              rm        Remove containers

            Images:
              build     Build an image from a Dockerfile
              images    List images
              pull      Download an image from a registry
              push      Upload an image to a registry
              tag       Give an image another name
              rmi       Remove images
              inspect   Show an image's details as JSON
              save      Write images to a tar archive (docker save) or an OCI layout
              load      Read images from a tar archive or an OCI layout
              import    Make an image from a root file system (directory or tarball)
              image prune   Remove unused images

            Volumes:
              volume create|ls|inspect|rm|prune

            Micro-VMs:
              vm run    Boot a KVM micro-VM and run a command in it

            Other:
              login     Store credentials for a registry
              daemon    Serve the Docker Engine API on a Unix socket (foreground)
              version   Show the version

            Run 'vessel COMMAND --help' for more on a command.
            """;

    int run(List<String> argv) {
        int i = 0;
        try {
            while (i < argv.size() && argv.get(i).startsWith("-")) {
                String a = argv.get(i);
                if (a.equals("--version") || a.equals("-v")) {
                    out.println("vessel version " + VERSION);
                    return 0;
                } else if (a.equals("--help") || a.equals("-h")) {
                    out.print(USAGE);
                    return 0;
                } else if (a.equals("--root") && i + 1 < argv.size()) {
                    config = config.withRoot(Path.of(argv.get(++i)));
                } else if (a.startsWith("--root=")) {
                    config = config.withRoot(Path.of(a.substring(7)));
                } else {
                    throw new UsageError("unknown flag: " + a);
                }
                i++;
            }
            if (i >= argv.size()) {
                out.print(USAGE);
                return 0;
            }
            String cmd = argv.get(i);
            List<String> rest = argv.subList(i + 1, argv.size());
            return dispatch(cmd, rest);
        } catch (UsageError e) {
            err.println("vessel: " + e.getMessage());
            err.println("See 'vessel --help'.");
            return FAILED;
        } catch (IOException | RuntimeException e) {
            out.flush();
            err.println("Error: " + message(e));
            if (System.getenv("VESSEL_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return FAILED;
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException && m != null && !m.startsWith("No such")) {
            return "no such file: " + m;
        }
        return m == null ? e.toString() : m;
    }

    /** Sets the root before the engine opens (the daemon's own --root). */
    void root(Path root) {
        if (engine != null) {
            throw new IllegalStateException("the engine is already open on " + config.root());
        }
        config = config.withRoot(root);
    }

    Engine engine() throws IOException {
        if (engine == null) {
            engine = Engine.open(config);
        }
        return engine;
    }

    private int dispatch(String cmd, List<String> rest) throws UsageError, IOException {
        return switch (cmd) {
            case "run" -> runContainer(rest);
            case "ps" -> ps(rest);
            case "rm" -> rm(rest);
            case "images" -> images(rest);
            case "image" -> image(rest);
            case "pull" -> pull(rest);
            case "push" -> push(rest);
            case "tag" -> tag(rest);
            case "rmi" -> rmi(rest);
            case "inspect" -> inspect(rest);
            case "save" -> save(rest);
            case "load" -> load(rest);
            case "import" -> importImage(rest);
            case "build" -> BuildCommand.run(this, rest);
            case "vm" -> VmCommand.run(this, rest);
            case "volume" -> volume(rest);
            case "login" -> login(rest);
            case "daemon" -> DaemonCommand.run(this, rest);
            case "version" -> {
                out.println("vessel version " + VERSION);
                yield 0;
            }
            default -> throw new UsageError("unknown command \"" + cmd + "\"");
        };
    }

    PrintStream out() {
        return out;
    }

    PrintStream err() {
        return err;
    }

    private boolean help(Flags f, String usage) {
        if (f.bool("help")) {
            out.println("Usage:  vessel " + usage + "\n");
            out.print(f.help());
            return true;
        }
        return false;
    }

    // ---- containers ----

    private int runContainer(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("run", true)
                .value("name", (char) 0, "name the container")
                .bool("rm", (char) 0, "remove the container when it exits")
                .bool("detach", 'd', "run in the background and print the container ID")
                .bool("interactive", 'i', "keep standard input open")
                .bool("tty", 't', "allocate a pseudo-terminal")
                .list("env", 'e', "set environment variables")
                .value("workdir", 'w', "working directory inside the container")
                .value("user", 'u', "user name or UID[:GID]")
                .list("group-add", (char) 0, "additional groups")
                .value("hostname", (char) 0, "container host name")
                .value("entrypoint", (char) 0, "override the image's ENTRYPOINT")
                .bool("read-only", (char) 0, "mount the root file system read-only")
                .value("memory", 'm', "memory limit (e.g. 64m)")
                .value("cpus", (char) 0, "number of CPUs (e.g. 0.5)")
                .value("pids-limit", (char) 0, "process limit")
                .list("cap-add", (char) 0, "add Linux capabilities")
                .list("cap-drop", (char) 0, "drop Linux capabilities")
                .bool("privileged", (char) 0, "all capabilities and devices")
                .list("volume", 'v', "bind mount a volume (NAME:/path, /host:/path, /path)[:ro|rw|nocopy|...]")
                .list("mount", (char) 0, "attach a mount (type=bind|volume|tmpfs,source=,target=,...)")
                .list("tmpfs", (char) 0, "mount a tmpfs (/path[:options])")
                .value("network", (char) 0, "bridge (default), a network's name, none, host, container:NAME")
                .list("network-alias", (char) 0, "more names on a user-defined network")
                .value("ip", (char) 0, "a static IPv4 address on the network")
                .list("publish", 'p', "publish a port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]")
                .bool("publish-all", 'P', "publish the image's EXPOSEd ports on free host ports")
                .list("dns", (char) 0, "name servers for the container")
                .list("device-read-bps", (char) 0, "limit reads from a device (DEVICE:RATE)")
                .list("device-write-bps", (char) 0, "limit writes to a device (DEVICE:RATE)")
                .bool("quiet", 'q', "do not print pull progress")
                .parse(args);
        if (help(f, "run [OPTIONS] IMAGE [COMMAND] [ARG...]")) {
            return 0;
        }
        String image = f.arg(0, "at least 1 argument: the image");
        RunOptions.Builder o = RunOptions.builder();
        List<String> positional = f.positional();
        o.cmd(positional.subList(1, positional.size()));
        try {
            for (String e : f.list("env")) {
                o.env(e.contains("=") ? e : e + "=" + System.getenv().getOrDefault(e, ""));
            }
            if (f.has("workdir")) {
                o.workdir(f.value("workdir"));
            }
            if (f.has("user")) {
                o.user(f.value("user"));
            }
            f.list("group-add").forEach(o::groupAdd);
            if (f.has("hostname")) {
                o.hostname(f.value("hostname"));
            }
            if (f.has("entrypoint")) {
                o.entrypoint(f.value("entrypoint"));
            }
            o.readOnly(f.bool("read-only"));
            if (f.has("memory")) {
                o.memory(Sizes.parse("--memory", f.value("memory")));
            }
            if (f.has("cpus")) {
                try {
                    o.cpus(Double.parseDouble(f.value("cpus")));
                } catch (NumberFormatException e) {
                    throw new UsageError("invalid --cpus \"" + f.value("cpus") + "\": a number such as 0.5");
                }
            }
            if (f.has("pids-limit")) {
                try {
                    o.pidsLimit(Long.parseLong(f.value("pids-limit")));
                } catch (NumberFormatException e) {
                    throw new UsageError("invalid --pids-limit \"" + f.value("pids-limit") + "\"");
                }
            }
            f.list("cap-add").forEach(o::capAdd);
            f.list("cap-drop").forEach(o::capDrop);
            o.privileged(f.bool("privileged"));
            f.list("volume").forEach(o::volume);
            f.list("mount").forEach(o::mountFlag);
            f.list("tmpfs").forEach(o::tmpfs);
            o.tty(f.bool("tty"));
            if (f.has("network")) {
                o.network(f.value("network"));
            }
            f.list("network-alias").forEach(o::networkAlias);
            if (f.has("ip")) {
                o.ip(f.value("ip"));
            }
            f.list("publish").forEach(o::publish);
            o.publishAll(f.bool("publish-all"));
            f.list("dns").forEach(o::dns);
            for (String t : f.list("device-read-bps")) {
                o.deviceReadBps(RunOptions.Throttle.parse("--device-read-bps", t));
            }
            for (String t : f.list("device-write-bps")) {
                o.deviceWriteBps(RunOptions.Throttle.parse("--device-write-bps", t));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        if (f.bool("detach") && f.bool("rm")) {
            // docker allows it; without a daemon nobody would be there to remove it
            throw new UsageError("--rm with --detach needs the daemon (not yet): remove the container with vessel rm");
        }
        ProgressListener progress = f.bool("quiet") ? ProgressListener.NONE : new ProgressBars(err, System.console() != null);
        boolean detach = f.bool("detach");
        int status = engine().containers().run(new Containers.RunRequest(image, f.value("name"), o.build(),
                f.bool("rm"), detach, f.bool("interactive")), progress, id -> {
                    if (detach) {
                        out.println(id);
                        out.flush();
                    }
                });
        return status;
    }

    private int ps(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("ps", false).bool("all", 'a', "show all containers (default: running)")
                .bool("quiet", 'q', "only IDs").bool("no-trunc", (char) 0, "do not truncate")
                .value("format", (char) 0, "json, or table").parse(args);
        if (help(f, "ps [OPTIONS]")) {
            return 0;
        }
        List<Containers.Info> list = new ArrayList<>();
        for (Containers.Info i : engine().containers().list()) {
            if (f.bool("all") || i.status().equals("running") || i.status().equals("paused")) {
                list.add(i);
            }
        }
        boolean trunc = !f.bool("no-trunc");
        if (f.bool("quiet")) {
            list.forEach(i -> out.println(trunc ? i.id().substring(0, 12) : i.id()));
            return 0;
        }
        if ("json".equals(f.value("format"))) {
            for (Containers.Info i : list) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ID", i.id());
                m.put("Names", i.name());
                m.put("Image", i.imageName());
                m.put("Command", String.join(" ", i.command()));
                m.put("CreatedAt", i.created().toString());
                m.put("State", i.status());
                m.put("Status", status(i));
                out.println(Json.write(m));
            }
            return 0;
        }
        Table t = new Table("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES");
        for (Containers.Info i : list) {
            String command = "\"" + String.join(" ", i.command()) + "\"";
            if (trunc && command.length() > 22) {
                command = command.substring(0, 19) + "…\"";
            }
            t.row(trunc ? i.id().substring(0, 12) : i.id(), i.imageName(), command, Units.ago(i.created()), status(i), i.name());
        }
        t.print(out);
        return 0;
    }

    private static String status(Containers.Info i) {
        return switch (i.status()) {
            case "exited" -> "Exited (" + (i.exitCode() == null ? "unknown" : i.exitCode()) + ")";
            case "running" -> "Up";
            default -> i.status().substring(0, 1).toUpperCase() + i.status().substring(1);
        };
    }

    private int rm(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("rm", false).bool("force", 'f', "kill a running container first")
                .bool("volumes", 'v', "also remove its anonymous volumes").parse(args);
        if (help(f, "rm [OPTIONS] CONTAINER [CONTAINER...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        int status = 0;
        for (String c : f.positional()) {
            try {
                engine().containers().remove(c, f.bool("force"), f.bool("volumes"));
                out.println(c);
            } catch (IOException | IllegalArgumentException e) {
                err.println("Error response from engine: " + message(e));
                status = 1;
            }
        }
        return status;
    }

    // ---- images ----

    private int images(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("images", false).bool("all", 'a', "show intermediate build images")
                .bool("quiet", 'q', "only IDs").bool("no-trunc", (char) 0, "full IDs")
                .bool("digests", (char) 0, "show digests").value("format", (char) 0, "json, or table").parse(args);
        if (help(f, "images [OPTIONS] [REPOSITORY[:TAG]]")) {
            return 0;
        }
        String filter = f.positional().isEmpty() ? null : f.positional().getFirst();
        List<Images.Summary> list = engine().images().list(f.bool("all"));
        boolean trunc = !f.bool("no-trunc");
        if (f.bool("quiet")) {
            list.stream().map(s -> trunc ? s.id().hex().substring(0, 12) : s.id().toString()).distinct().forEach(out::println);
            return 0;
        }
        Table t = f.bool("digests") ? new Table("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")
                : new Table("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        for (Images.Summary s : list) {
            List<String> tags = s.repoTags().isEmpty() ? List.of("<none>:<none>") : s.repoTags();
            for (String tag : tags) {
                int colon = tag.lastIndexOf(':');
                String repo = tag.substring(0, colon);
                String tg = tag.substring(colon + 1);
                if (filter != null && !(repo.equals(filter) || tag.equals(filter))) {
                    continue;
                }
                String id = trunc ? s.id().hex().substring(0, 12) : s.id().toString();
                if ("json".equals(f.value("format"))) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("Repository", repo);
                    m.put("Tag", tg);
                    m.put("ID", id);
                    m.put("CreatedAt", s.created().toString());
                    m.put("Size", Units.size(s.size()));
                    out.println(Json.write(m));
                } else if (f.bool("digests")) {
                    t.row(repo, tg, s.repoDigests().isEmpty() ? "<none>" : s.repoDigests().getFirst(), id,
                            Units.ago(s.created()), Units.size(s.size()));
                } else {
                    t.row(repo, tg, id, Units.ago(s.created()), Units.size(s.size()));
                }
            }
        }
        if (!"json".equals(f.value("format"))) {
            t.print(out);
        }
        return 0;
    }

    private int image(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel image\" needs a subcommand: ls, pull, push, rm, tag, inspect, save, load, import, prune");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "ls", "list" -> images(rest);
            case "prune" -> {
                Flags f = new Flags("image prune", false).bool("all", 'a', "all images without a container")
                        .bool("force", 'f', "do not ask (vessel never asks)").parse(rest);
                if (help(f, "image prune [OPTIONS]")) {
                    yield 0;
                }
                ImageStore.Freed freed = engine().images().prune(f.bool("all"));
                out.println("Total reclaimed space: " + Units.size(freed.bytes()));
                yield 0;
            }
            case "rm" -> rmi(rest);
            case "pull", "push", "tag", "inspect", "save", "load", "import", "build" -> dispatch(args.getFirst(), rest);
            default -> throw new UsageError("unknown command \"image " + args.getFirst() + "\"");
        };
    }

    private int pull(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("pull", false).value("platform", (char) 0, "os/arch[/variant], default linux/amd64")
                .bool("quiet", 'q', "no progress").parse(args);
        if (help(f, "pull [OPTIONS] NAME[:TAG|@DIGEST]")) {
            return 0;
        }
        String ref = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        ProgressListener p = f.bool("quiet") ? ProgressListener.NONE : new ProgressBars(out, System.console() != null);
        ImageStore.Image image = engine().images().pull(ref, f.value("platform"), p);
        if (!f.bool("quiet")) {
            out.println("Digest: " + image.manifestDescriptor().digest());
            out.println("Status: Downloaded newer image for " + io.vessel.image.Reference.parse(ref).familiar());
        }
        out.println(io.vessel.image.Reference.parse(ref).toString());
        return 0;
    }

    private int push(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("push", false).bool("quiet", 'q', "no progress").parse(args);
        if (help(f, "push [OPTIONS] NAME[:TAG]")) {
            return 0;
        }
        String ref = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        ProgressListener p = f.bool("quiet") ? ProgressListener.NONE : new ProgressBars(out, System.console() != null);
        engine().images().push(ref, p);
        ImageStore.Image image = engine().images().store().resolve(ref);
        out.println(io.vessel.image.Reference.parse(ref).tag() + ": digest: " + image.manifestDescriptor().digest()
                + " size: " + image.manifestDescriptor().size());
        return 0;
    }

    private int tag(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("tag", false).parse(args);
        if (help(f, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")) {
            return 0;
        }
        String src = f.arg(0, "exactly 2 arguments");
        String dst = f.arg(1, "exactly 2 arguments");
        f.atMost(2);
        try {
            engine().images().tag(src, dst);
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        return 0;
    }

    private int rmi(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("rmi", false).bool("force", 'f', "remove even if used or tagged in several repositories")
                .parse(args);
        if (help(f, "rmi [OPTIONS] IMAGE [IMAGE...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        int status = 0;
        for (String i : f.positional()) {
            try {
                engine().images().remove(i, f.bool("force")).forEach(out::println);
            } catch (IOException | IllegalArgumentException e) {
                err.println("Error response from engine: " + message(e));
                status = 1;
            }
        }
        return status;
    }

    private int inspect(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("inspect", false).value("type", (char) 0, "image or volume").parse(args);
        if (help(f, "inspect [OPTIONS] NAME|ID [NAME|ID...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        List<Object> docs = new ArrayList<>();
        for (String what : f.positional()) {
            if (!"volume".equals(f.value("type"))) {
                try {
                    docs.add(engine().images().inspect(what));
                    continue;
                } catch (io.vessel.image.store.ImageNotFoundException e) {
                    if ("image".equals(f.value("type"))) {
                        throw e;
                    }
                }
            }
            docs.add(volumeJson(engine().volumes().inspect(what)));
        }
        out.println(Json.writePretty(docs));
        return 0;
    }

    private int save(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("save", false).value("output", 'o', "write to a file, not standard output")
                .value("format", (char) 0, "docker (default), oci-archive, or oci (a layout directory given by -o)")
                .parse(args);
        if (help(f, "save [OPTIONS] IMAGE [IMAGE...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        Archives.Format format = switch (f.value("format", "docker")) {
            case "docker", "docker-archive" -> Archives.Format.DOCKER;
            case "oci-archive" -> Archives.Format.OCI_ARCHIVE;
            case "oci", "oci-layout" -> Archives.Format.OCI_LAYOUT;
            default -> throw new UsageError("unknown --format \"" + f.value("format") + "\": docker, oci-archive or oci");
        };
        if (format == Archives.Format.OCI_LAYOUT) {
            if (!f.has("output")) {
                throw new UsageError("--format oci writes a directory: give it with -o DIR");
            }
            engine().archives().save(f.positional(), null, format, Path.of(f.value("output")));
            return 0;
        }
        if (!f.has("output") && System.console() != null) {
            throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        if (f.has("output")) {
            Path target = Path.of(f.value("output")).toAbsolutePath();
            Path tmp = target.resolveSibling("." + target.getFileName() + ".vessel-tmp");
            try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                engine().archives().save(f.positional(), o, format, null);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else {
            out.flush();
            OutputStream o = new BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16);
            engine().archives().save(f.positional(), o, format, null);
            o.flush();
        }
        return 0;
    }

    private int load(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("load", false).value("input", 'i', "read from a file (or an OCI layout directory)")
                .bool("quiet", 'q', "print less").parse(args);
        if (help(f, "load [OPTIONS]")) {
            return 0;
        }
        f.atMost(0);
        List<String> lines;
        if (f.has("input") && Files.isDirectory(Path.of(f.value("input")))) {
            lines = engine().archives().load(null, Path.of(f.value("input")));
        } else if (f.has("input")) {
            try (InputStream in = Files.newInputStream(Path.of(f.value("input")))) {
                lines = engine().archives().load(in, null);
            }
        } else {
            if (System.console() != null) {
                throw new UsageError("requested load from stdin, but stdin is empty (a terminal): use -i or a pipe");
            }
            lines = engine().archives().load(System.in, null);
        }
        lines.forEach(out::println);
        return 0;
    }

    private int importImage(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("import", false).list("change", 'c', "apply a Dockerfile instruction (ENV, CMD, ENTRYPOINT, WORKDIR, USER)")
                .parse(args);
        if (help(f, "import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]")) {
            return 0;
        }
        String source = f.arg(0, "at least 1 argument");
        f.atMost(2);
        String name = f.positional().size() > 1 ? f.positional().get(1) : null;
        ImageStore.Image image;
        try {
            if (source.equals("-")) {
                image = engine().archives().importImage(null, System.in, name, f.list("change"));
            } else if (Files.isDirectory(Path.of(source))) {
                image = engine().archives().importImage(Path.of(source), null, name, f.list("change"));
            } else {
                try (InputStream in = Files.newInputStream(Path.of(source))) {
                    image = engine().archives().importImage(null, in, name, f.list("change"));
                }
            }
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        out.println(image.id());
        return 0;
    }

    // ---- volumes ----

    private int volume(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel volume\" needs a subcommand: create, ls, inspect, rm, prune");
        }
        List<String> rest = args.subList(1, args.size());
        VolumeStore vs = engine().volumes();
        switch (args.getFirst()) {
            case "create" -> {
                Flags f = new Flags("volume create", false).list("label", (char) 0, "KEY=VALUE")
                        .list("opt", 'o', "driver options (type=tmpfs, device=, o=)")
                        .value("driver", 'd', "only \"local\"").parse(rest);
                if (help(f, "volume create [OPTIONS] [VOLUME]")) {
                    return 0;
                }
                f.atMost(1);
                if (f.has("driver") && !f.value("driver").equals("local")) {
                    throw new UsageError("volume driver \"" + f.value("driver") + "\" is not available (only local)");
                }
                Volume v = vs.create(f.positional().isEmpty() ? null : f.positional().getFirst(),
                        pairs(f.list("label"), "--label"), pairs(f.list("opt"), "--opt"));
                out.println(v.name());
            }
            case "ls", "list" -> {
                Flags f = new Flags("volume ls", false).bool("quiet", 'q', "only names")
                        .list("filter", 'f', "name=, label=, dangling=true|false").value("format", (char) 0, "json")
                        .parse(rest);
                if (help(f, "volume ls [OPTIONS]")) {
                    return 0;
                }
                List<Volume> list = vs.list(filter(f.list("filter")));
                if (f.bool("quiet")) {
                    list.forEach(v -> out.println(v.name()));
                } else if ("json".equals(f.value("format"))) {
                    list.forEach(v -> out.println(Json.write(volumeJson(v))));
                } else {
                    Table t = new Table("DRIVER", "VOLUME NAME");
                    list.forEach(v -> t.row(v.driver(), v.name()));
                    t.print(out);
                }
            }
            case "inspect" -> {
                Flags f = new Flags("volume inspect", false).parse(rest);
                f.arg(0, "at least 1 argument");
                List<Object> docs = new ArrayList<>();
                for (String n : f.positional()) {
                    docs.add(volumeJson(vs.inspect(n)));
                }
                out.println(Json.writePretty(docs));
            }
            case "rm", "remove" -> {
                Flags f = new Flags("volume rm", false).bool("force", 'f', "even if a container uses it").parse(rest);
                f.arg(0, "at least 1 argument");
                int status = 0;
                for (String n : f.positional()) {
                    try {
                        vs.remove(n, f.bool("force"));
                        out.println(n);
                    } catch (IOException | IllegalArgumentException e) {
                        err.println("Error response from engine: " + message(e));
                        status = 1;
                    }
                }
                return status;
            }
            case "prune" -> {
                Flags f = new Flags("volume prune", false).bool("all", 'a', "also named volumes")
                        .bool("force", 'f', "do not ask (vessel never asks)").list("filter", (char) 0, "label=")
                        .parse(rest);
                VolumeStore.PruneReport r = vs.prune(f.bool("all"), filter(f.list("filter")));
                if (!r.removed().isEmpty()) {
                    out.println("Deleted Volumes:");
                    r.removed().forEach(out::println);
                    out.println();
                }
                out.println("Total reclaimed space: " + Units.size(r.spaceReclaimed()));
            }
            default -> throw new UsageError("unknown command \"volume " + args.getFirst() + "\"");
        }
        return 0;
    }

    private static Map<String, String> pairs(List<String> items, String flag) throws UsageError {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : items) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new UsageError("invalid " + flag + " \"" + s + "\": KEY=VALUE");
            }
            m.put(s.substring(0, eq), s.substring(eq + 1));
        }
        return m;
    }

    private static VolumeStore.Filter filter(List<String> filters) throws UsageError {
        List<String> names = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        Boolean dangling = null;
        for (String f : filters) {
            int eq = f.indexOf('=');
            String k = eq < 0 ? f : f.substring(0, eq);
            String v = eq < 0 ? "" : f.substring(eq + 1);
            switch (k) {
                case "name" -> names.add(v);
                case "label" -> labels.add(v);
                case "dangling" -> dangling = v.equals("true") || v.equals("1");
                default -> throw new UsageError("invalid filter \"" + k + "\" (name, label, dangling)");
            }
        }
        return new VolumeStore.Filter(names, labels, dangling);
    }

    private Map<String, Object> volumeJson(Volume v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("CreatedAt", v.createdAt() == null ? "" : v.createdAt());
        m.put("Driver", v.driver());
        m.put("Labels", v.labels());
        m.put("Mountpoint", v.mountpoint().toString());
        m.put("Name", v.name());
        m.put("Options", v.options());
        m.put("Scope", "local");
        return m;
    }

    // ---- registry ----

    private int login(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("login", false).value("username", 'u', "user name")
                .value("password", 'p', "password").bool("password-stdin", (char) 0, "read the password from stdin")
                .parse(args);
        if (help(f, "login [OPTIONS] SERVER")) {
            return 0;
        }
        String server = f.arg(0, "the registry (host[:port])");
        String user = f.value("username");
        String password = f.value("password");
        if (f.bool("password-stdin")) {
            password = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        if (user == null || password == null) {
            throw new UsageError("give --username and --password (or --password-stdin)");
        }
        engine().images().login(server, new Credentials(user, password));
        out.println("Login Succeeded");
        return 0;
    }
}
