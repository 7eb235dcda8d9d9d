package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.DaemonStarter;
import io.vessel.cli.client.DockerClient;
import io.vessel.cli.client.Endpoint;
import io.vessel.engine.Engine;
import io.vessel.engine.EngineConfig;
import io.vessel.image.registry.CredentialStore;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code vessel} command: docker's verbs for images, builds, volumes and containers, as a
 * client of the Vessel daemon ({@code vessel daemon}, started on demand when its socket does not
 * answer). The socket is {@code -H unix:///path}, else {@code $VESSEL_HOST}, else
 * {@code <run dir>/docker.sock}; a root other than the default ({@code --root},
 * {@code $VESSEL_ROOT}) has its own run directory, {@code <root>/run}, unless {@code $VESSEL_RUN}
 * says otherwise, and so its own daemon.
 *
 * <p>Exit status as docker's: 0, the container's own status for {@code run}, 1 when the daemon
 * refuses one of several objects, 125 when Vessel itself fails (bad usage, an error from the
 * daemon, no daemon).
 */
public final class Main {
    static final String VERSION = "0.1.0";
    private static final int FAILED = 125;
    /** The run directory of a non-default root, below it (no two roots share a daemon socket). */
    static final String ROOT_RUN_DIR = "run";

    private final PrintStream out;
    private final PrintStream err;
    private EngineConfig config;
    private String host = System.getenv("VESSEL_HOST");
    private boolean explicitHost = host != null && !host.isEmpty();
    private Engine engine;
    private DockerClient client;
    /** This Main writes to the process's own stdout and stderr (not a test's or the training's streams). */
    private boolean ownStdio;
    /** This Main runs the daemon, which has a shutdown hook, rather than a command. */
    private boolean daemon;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        EngineConfig env = EngineConfig.fromEnvironment();
        this.config = ownRunDir(env, env.root());
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 14), false, StandardCharsets.UTF_8);
        Main m = new Main(out, System.err);
        m.ownStdio = true;
        int status = m.run(List.of(args));
        out.flush();
        System.err.flush();
        if (m.daemon) {
            System.exit(status); // runs the daemon's shutdown hook
        }
        // A command has cleaned up before run returns and registers no shutdown hook. halt skips
        // System.exit's logging of the exit, whose logger set-up costs a short command a few ms.
        Runtime.getRuntime().halt(status);
    }

    private static final String USAGE = """
            Usage:  vessel [--root DIR] [-H unix:///SOCKET] COMMAND

            Containers:
              run       Run a command in a new container (-d, -i, -t, --rm, -v, -p, ...)
              create    Create a container without starting it
              ps        List containers
              logs      Show a container's output (-f to follow)
              exec      Run a command in a running container
              start|stop|restart|kill|pause|unpause|wait|rename
              rm        Remove containers
              diff      Show what a container changed in its file system
              commit    Make an image from a container's changes (-c, -m, -a)
              export    Write a container's file system as a tar archive
              update    Change a container's limits and restart policy
              container ls|inspect|prune|...

            Images:
              build     Build an image from a Dockerfile
              images    List images
              pull      Download an image from a registry
              push      Upload an image to a registry
              tag       Give an image another name
              rmi       Remove images
              inspect   Show details of containers, images or volumes as JSON
              save      Write images to a tar archive (docker save) or an OCI layout
              load      Read images from a tar archive or an OCI layout
              import    Make an image from a root file system (directory or tarball)
              history   Show an image's build steps
              image prune   Remove unused images

            Volumes and networks:
              volume create|ls|inspect|rm|prune
              network create|ls|inspect|rm|prune|connect|disconnect

            Micro-VMs:
              vm run    Boot a KVM micro-VM and run a command in it

            System:
              info      Show the daemon's system-wide information
              events    Stream the daemon's events
              system df|prune   Disk usage; remove what is unused
              login     Check and store credentials for a registry
              daemon    Serve the Docker Engine API on Unix sockets (foreground; --stop stops it)
              version   Show the client's and the daemon's versions

            Commands start the daemon when none answers on the socket (its log: <run dir>/daemon.log).
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
                    root(Path.of(argv.get(++i)));
                } else if (a.startsWith("--root=")) {
                    root(Path.of(a.substring(7)));
                } else if ((a.equals("-H") || a.equals("--host")) && i + 1 < argv.size()) {
                    host(argv.get(++i));
                } else if (a.startsWith("--host=")) {
                    host(a.substring(7));
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
        } catch (ApiError e) {
            out.flush();
            err.println("Error response from daemon: " + e.getMessage());
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

    static String message(Throwable e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException && m != null && !m.startsWith("No such")) {
            return "no such file: " + m;
        }
        return m == null ? e.toString() : m;
    }

    /**
     * A root other than the default gets its own run directory below it unless {@code $VESSEL_RUN}
     * names one, so that its daemon has its own socket (tests and the AOT training use temporary roots).
     */
    private static EngineConfig ownRunDir(EngineConfig c, Path root) {
        String run = System.getenv("VESSEL_RUN");
        EngineConfig withRoot = c.withRoot(root);
        if ((run == null || run.isEmpty()) && !withRoot.root().equals(EngineConfig.DEFAULT_ROOT)) {
            return new EngineConfig(withRoot.root(), withRoot.root().resolve(ROOT_RUN_DIR), c.credentials(), c.insecureRegistries());
        }
        return withRoot;
    }

    /** Sets the root before the engine opens (the global --root and the daemon's own). */
    void root(Path root) {
        if (engine != null || client != null) {
            throw new IllegalStateException("the engine is already open on " + config.root());
        }
        config = ownRunDir(config, root);
    }

    private void host(String h) throws UsageError {
        try {
            Endpoint.parseHost(h);
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        host = h;
        explicitHost = true;
    }

    EngineConfig config() {
        return config;
    }

    /** The daemon this command talks to. */
    Endpoint endpoint() throws UsageError {
        if (explicitHost) {
            try {
                return new Endpoint(Endpoint.parseHost(host), config.root(), config.runDir(), true);
            } catch (IllegalArgumentException e) {
                throw new UsageError((System.getenv("VESSEL_HOST") != null ? "VESSEL_HOST: " : "") + e.getMessage());
            }
        }
        return new Endpoint(config.runDir().resolve("docker.sock"), config.root(), config.runDir(), false);
    }

    /** The daemon's client; the daemon is started if nothing answers on its socket. */
    DockerClient client() throws IOException {
        if (client == null) {
            try {
                client = DaemonStarter.connect(endpoint(), launchCommand());
            } catch (UsageError e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        return client;
    }

    /**
     * How to run {@code vessel} for a daemon: the script that runs this command ({@code vessel.command},
     * set by ./vessel, which gives a daemon its own JVM flags), else this JVM's java and class path.
     */
    static List<String> launchCommand() {
        String script = System.getProperty("vessel.command");
        if (script != null && !script.isEmpty()) {
            return List.of(script);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        String launcher = System.getProperty("vessel.launcher");
        if (launcher != null) {
            cmd.add("-Dvessel.launcher=" + launcher);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        return cmd;
    }

    /** {@code -o FILE}: {@code body} into FILE, whole or not at all (a temporary file beside it, then renamed). */
    static void writeFile(java.io.InputStream body, Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + ".vessel-tmp");
        try {
            try (java.io.OutputStream o = java.nio.file.Files.newOutputStream(tmp)) {
                body.transferTo(o);
            }
            java.nio.file.Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            java.nio.file.Files.deleteIfExists(tmp);
        }
    }

    /** Where credentials that {@code vessel login} stored are read from. */
    CredentialStore credentials() {
        return new CredentialStore(config.credentials());
    }

    /** Whether file descriptor {@code fd} (0, 1, 2) is a terminal; false when this Main's streams are not the process's. */
    boolean ownsStdio() {
        return ownStdio;
    }

    boolean terminal(int fd) {
        return ownStdio && io.vessel.linux.Terminal.isTerminal(fd);
    }

    /** The engine in this process, for what the API does not carry (OCI layouts) and the daemon itself. */
    Engine engine() throws IOException {
        if (engine == null) {
            engine = Engine.open(config);
        }
        return engine;
    }

    int dispatch(String cmd, List<String> rest) throws UsageError, IOException {
        ImageCommands images = new ImageCommands(this);
        SystemCommands system = new SystemCommands(this);
        ContainerCommands containers = new ContainerCommands(this);
        return switch (cmd) {
            case "run" -> containers.run(rest);
            case "create" -> containers.create(rest);
            case "ps" -> containers.ps(rest);
            case "logs" -> containers.logs(rest);
            case "exec" -> containers.exec(rest);
            case "rename" -> containers.rename(rest);
            case "diff" -> new FileCommands(this).diff(rest);
            case "commit" -> new FileCommands(this).commit(rest);
            case "export" -> new FileCommands(this).export(rest);
            case "update" -> new FileCommands(this).update(rest);
            case "history" -> new FileCommands(this).history(rest);
            case "start", "stop", "restart", "kill", "rm", "pause", "unpause", "wait" -> containers.each(cmd, rest);
            case "container" -> container(rest);
            case "images" -> images.images(rest);
            case "image" -> images.image(rest);
            case "pull" -> images.pull(rest);
            case "push", "tag", "save", "load" -> images.image(prepend(cmd, rest));
            case "rmi" -> images.rmi(rest);
            case "import" -> images.importImage(rest);
            case "inspect" -> inspect(rest);
            case "build" -> BuildCommand.run(this, rest);
            case "vm" -> VmCommand.run(this, rest);
            case "volume" -> new VolumeCommands(this).run(rest);
            case "network" -> new NetworkCommands(this).run(rest);
            case "login" -> system.login(rest);
            case "info" -> system.info(rest);
            case "events" -> system.events(rest);
            case "system" -> system.system(rest);
            case "daemon" -> {
                daemon = true;
                yield DaemonCommand.run(this, rest);
            }
            case "version" -> system.version(rest);
            default -> throw new UsageError("unknown command \"" + cmd + "\"");
        };
    }

    private int container(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel container\" needs a subcommand: run, create, ls, logs, exec, start, stop, restart, kill, rm, wait, inspect, prune, diff, commit, export, update");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "ls", "list", "ps" -> dispatch("ps", rest);
            case "inspect" -> inspect(withType("container", rest));
            case "prune" -> {
                Flags f = new Flags("container prune", false).bool("force", 'f', "do not ask (vessel never asks)")
                        .list("filter", (char) 0, "until=, label=").parse(rest);
                JsonNode r = client().send("POST", io.vessel.cli.client.Query.path("/containers/prune")
                        .add("filters", Api.filters(f.list("filter"))).toString(), null);
                List<String> gone = r.get("ContainersDeleted").isArray() ? r.get("ContainersDeleted").stringList() : List.of();
                if (!gone.isEmpty()) {
                    out.println("Deleted Containers:");
                    gone.forEach(out::println);
                    out.println();
                }
                out.println("Total reclaimed space: " + Units.size(r.get("SpaceReclaimed").longValue(0)));
                yield 0;
            }
            case "run", "create", "logs", "exec", "start", "stop", "restart", "kill", "rm", "wait", "pause", "unpause", "rename",
                 "diff", "commit", "export", "update" ->
                    dispatch(args.getFirst(), rest);
            default -> throw new UsageError("unknown command \"container " + args.getFirst() + "\"");
        };
    }

    private static List<String> withType(String type, List<String> rest) {
        List<String> l = new ArrayList<>(List.of("--type", type));
        l.addAll(rest);
        return l;
    }

    private static List<String> prepend(String first, List<String> rest) {
        List<String> l = new ArrayList<>();
        l.add(first);
        l.addAll(rest);
        return l;
    }

    PrintStream out() {
        return out;
    }

    PrintStream err() {
        return err;
    }

    boolean help(Flags f, String usage) {
        if (f.bool("help")) {
            out.println("Usage:  vessel " + usage + "\n");
            out.print(f.help());
            return true;
        }
        return false;
    }

    /**
     * {@code docker KIND inspect NAME...}: each object from {@code collection/NAME} (e.g. {@code /volumes/}), printed
     * as {@link #printInspect} does; a name the daemon refuses is reported and makes the status 1, the others still print.
     */
    int inspectEach(String kind, String collection, List<String> args) throws UsageError, IOException {
        String upper = kind.toUpperCase(java.util.Locale.ROOT);
        Flags f = new Flags(kind + " inspect", false).value("format", (char) 0, "json, or a Go template").parse(args);
        if (help(f, kind + " inspect " + upper + " [" + upper + "...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        List<Object> docs = new ArrayList<>();
        int status = 0;
        for (String n : f.positional()) {
            try {
                docs.add(client().get(collection + io.vessel.cli.client.Query.segment(n)).value());
            } catch (ApiError e) {
                err().println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        printInspect(docs, f.value("format"));
        return status;
    }

    /** Inspect documents as a JSON array, docker's default, or each one as {@code --format} says. */
    void printInspect(List<Object> docs, String format) throws UsageError {
        Formats.Format f = Formats.parse(format);
        if (!f.plain()) {
            for (Object d : docs) {
                Formats.document(out, f, d);
            }
        } else {
            out.print(Json.writePretty(docs));
        }
    }

    private int inspect(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("inspect", false).value("type", (char) 0, "container, image or volume")
                .value("format", 'f', "json, or a Go template").parse(args);
        if (help(f, "inspect [OPTIONS] NAME|ID [NAME|ID...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        String type = f.value("type");
        if (type != null && !type.equals("container") && !type.equals("image") && !type.equals("volume")) {
            throw new UsageError("--type \"" + type + "\": container, image or volume");
        }
        ImageCommands images = new ImageCommands(this);
        List<Object> docs = new ArrayList<>();
        int status = 0;
        for (String what : f.positional()) {
            JsonNode doc = null;
            if (type == null || type.equals("container")) {
                doc = ContainerCommands.inspect(client(), what);
            }
            if (doc == null && (type == null || type.equals("image"))) {
                doc = images.inspect(client(), what);
            }
            if (doc == null && (type == null || type.equals("volume"))) {
                try {
                    doc = client().get("/volumes/" + io.vessel.cli.client.Query.segment(what));
                } catch (ApiError e) {
                    if (!e.notFound()) {
                        throw e;
                    }
                }
            }
            if (doc == null) {
                err.println("Error: No such " + (type == null ? "object" : type) + ": " + what);
                status = 1;
            } else {
                docs.add(doc.value());
            }
        }
        printInspect(docs, f.value("format"));
        return status;
    }
}
