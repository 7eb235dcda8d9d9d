package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.Body;
import io.vessel.cli.client.DockerClient;
import io.vessel.cli.client.Query;
import io.vessel.image.registry.CredentialStore;
import io.vessel.image.registry.Credentials;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** version, info, events, login, system df/prune/info/events through the daemon's API. */
final class SystemCommands {
    private final Main main;
    private final PrintStream out;

    SystemCommands(Main main) {
        this.main = main;
        this.out = main.out();
    }

    int system(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel system\" needs a subcommand: df, prune, info, events");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "df" -> df(rest);
            case "prune" -> prune(rest);
            case "info" -> info(rest);
            case "events" -> events(rest);
            default -> throw new UsageError("unknown command \"system " + args.getFirst() + "\"");
        };
    }

    int version(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("version", false).value("format", 'f', "json, or a Go template").parse(args);
        if (main.help(f, "version [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("Version", Main.VERSION);
        client.put("ApiVersion", DockerClient.MAX_API);
        client.put("DefaultAPIVersion", DockerClient.MAX_API);
        client.put("GoVersion", "java " + Runtime.version().feature());
        client.put("Os", "linux");
        client.put("Arch", "amd64");
        DockerClient c;
        JsonNode server;
        try {
            c = main.client();
            server = c.get("/version");
        } catch (IOException e) {
            printClient(client, json);
            throw e;
        }
        if (json) {
            Map<String, Object> both = new LinkedHashMap<>();
            both.put("Client", client);
            both.put("Server", server.value());
            Formats.document(out, format, both);
            return 0;
        }
        printClient(client, false);
        out.println();
        out.println("Server: " + server.get("Platform").get("Name").string("Vessel Engine"));
        out.println(" Engine:");
        out.println("  Version:          " + vesselVersion(server));
        out.println("  Docker version:   " + server.get("Version").string("") + " (the Docker release of this API)");
        out.println("  API version:      " + server.get("ApiVersion").string("") + " (minimum version "
                + server.get("MinAPIVersion").string("") + ")");
        out.println("  Go version:       " + server.get("GoVersion").string(""));
        out.println("  OS/Arch:          " + server.get("Os").string("") + "/" + server.get("Arch").string(""));
        out.println("  Kernel Version:   " + server.get("KernelVersion").string(""));
        return 0;
    }

    /** The daemon's own version: its {@code Vessel} component (its {@code Version} is the Docker release it speaks for). */
    static String vesselVersion(JsonNode server) {
        for (JsonNode c : server.get("Components").elements()) {
            if (c.get("Name").string("").equals("Vessel")) {
                return c.get("Version").string("");
            }
        }
        return server.get("Version").string("");
    }

    private void printClient(Map<String, Object> client, boolean json) {
        if (json) {
            return;
        }
        out.println("Client:");
        out.println(" Version:           " + client.get("Version"));
        out.println(" API version:       " + client.get("ApiVersion"));
        out.println(" Go version:        " + client.get("GoVersion"));
        out.println(" OS/Arch:           linux/amd64");
        out.flush();
    }

    int info(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("info", false).value("format", 'f', "json, or a Go template").parse(args);
        if (main.help(f, "info [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        JsonNode i = main.client().get("/info");
        if (json) {
            Formats.document(out, format, i.value());
            return 0;
        }
        out.println("Client:");
        out.println(" Version:    " + Main.VERSION);
        out.println(" Context:    " + main.client().socket());
        out.println();
        out.println("Server:");
        out.println(" Containers: " + i.get("Containers").longValue(0));
        out.println("  Running: " + i.get("ContainersRunning").longValue(0));
        out.println("  Paused: " + i.get("ContainersPaused").longValue(0));
        out.println("  Stopped: " + i.get("ContainersStopped").longValue(0));
        out.println(" Images: " + i.get("Images").longValue(0));
        out.println(" Server Version: " + i.get("ServerVersion").string(""));
        out.println(" Storage Driver: " + i.get("Driver").string(""));
        out.println(" Logging Driver: " + i.get("LoggingDriver").string(""));
        out.println(" Cgroup Driver: " + i.get("CgroupDriver").string(""));
        out.println(" Cgroup Version: " + i.get("CgroupVersion").string(""));
        out.println(" Default Runtime: " + i.get("DefaultRuntime").string(""));
        out.println(" Kernel Version: " + i.get("KernelVersion").string(""));
        out.println(" Operating System: " + i.get("OperatingSystem").string(""));
        out.println(" OSType: " + i.get("OSType").string(""));
        out.println(" Architecture: " + i.get("Architecture").string(""));
        out.println(" CPUs: " + i.get("NCPU").longValue(0));
        out.println(" Total Memory: " + Units.binarySize(i.get("MemTotal").longValue(0)));
        out.println(" Name: " + i.get("Name").string(""));
        out.println(" ID: " + i.get("ID").string(""));
        out.println(" Docker Root Dir: " + i.get("DockerRootDir").string(""));
        out.println(" Debug Mode: " + i.get("Debug").bool(false));
        return 0;
    }

    private int df(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("system df", false).value("format", (char) 0, "table, json, or a Go template")
                .bool("verbose", 'v', "accepted: the summary is shown").parse(args);
        if (main.help(f, "system df [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        JsonNode d = main.client().get("/system/df");
        List<JsonNode> images = d.get("Images").present() ? d.get("Images").elements() : List.of();
        List<JsonNode> containers = d.get("Containers").present() ? d.get("Containers").elements() : List.of();
        List<JsonNode> volumes = d.get("Volumes").present() ? d.get("Volumes").elements() : List.of();
        long imagesActive = images.stream().filter(i -> i.get("Containers").longValue(0) > 0).count();
        long imagesReclaimable = images.stream().filter(i -> i.get("Containers").longValue(0) <= 0)
                .mapToLong(i -> i.get("Size").longValue(0)).sum();
        long layers = d.get("LayersSize").longValue(0);
        long running = containers.stream().filter(c -> "running".equals(c.get("State").string(""))).count();
        long cSize = containers.stream().mapToLong(c -> c.get("SizeRw").longValue(0)).sum();
        long vActive = volumes.stream().filter(v -> v.get("UsageData").get("RefCount").longValue(0) > 0).count();
        long vSize = volumes.stream().mapToLong(v -> Math.max(0, v.get("UsageData").get("Size").longValue(0))).sum();
        long vReclaimable = volumes.stream().filter(v -> v.get("UsageData").get("RefCount").longValue(0) == 0)
                .mapToLong(v -> Math.max(0, v.get("UsageData").get("Size").longValue(0))).sum();
        List<Object[]> rows = List.of(
                new Object[] {"Images", images.size(), imagesActive, layers, Math.min(imagesReclaimable, layers)},
                new Object[] {"Containers", containers.size(), running, cSize, 0L},
                new Object[] {"Local Volumes", volumes.size(), vActive, vSize, vReclaimable},
                new Object[] {"Build Cache", 0, 0L, 0L, 0L});
        Table t = new Table("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
        List<Map<String, Object>> jsonRows = new ArrayList<>();
        for (Object[] r : rows) {
            long size = (Long) r[3];
            long rec = (Long) r[4];
            String reclaimable = Units.size(rec) + (size > 0 ? " (" + (rec * 100 / size) + "%)" : "");
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("Active", String.valueOf(r[2]));
                m.put("Reclaimable", reclaimable);
                m.put("Size", Units.size(size));
                m.put("TotalCount", String.valueOf(r[1]));
                m.put("Type", r[0]);
                jsonRows.add(m);
            } else {
                t.row(r[0], r[1], r[2], Units.size(size), reclaimable);
            }
        }
        if (json) {
            Formats.rows(out, format, jsonRows, Map.of());
        } else {
            t.print(out);
        }
        return 0;
    }

    private int prune(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("system prune", false).bool("all", 'a', "also images without a container, not only dangling ones")
                .bool("volumes", (char) 0, "also anonymous volumes").bool("force", 'f', "do not ask (vessel never asks)")
                .list("filter", (char) 0, "label=, until=").parse(args);
        if (main.help(f, "system prune [OPTIONS]")) {
            return 0;
        }
        DockerClient c = main.client();
        long reclaimed = 0;
        reclaimed += pruneOptional(c, "/containers/prune", "ContainersDeleted", "Deleted Containers:", f.list("filter"));
        reclaimed += pruneOptional(c, "/networks/prune", "NetworksDeleted", "Deleted Networks:", f.list("filter"));
        if (f.bool("volumes")) {
            reclaimed += pruneOptional(c, "/volumes/prune", "VolumesDeleted", "Deleted Volumes:", f.list("filter"));
        }
        List<String> imageFilters = new ArrayList<>(f.list("filter"));
        if (f.bool("all")) {
            imageFilters.add("dangling=false");
        }
        JsonNode r = c.send("POST", Query.path("/images/prune").add("filters", Api.filters(imageFilters)).toString(), null);
        List<JsonNode> deleted = r.get("ImagesDeleted").present() ? r.get("ImagesDeleted").elements() : List.of();
        if (!deleted.isEmpty()) {
            out.println("Deleted Images:");
            for (JsonNode d : deleted) {
                out.println(d.get("Untagged").present() ? "untagged: " + d.get("Untagged").string("")
                        : "deleted: " + d.get("Deleted").string(""));
            }
            out.println();
        }
        reclaimed += r.get("SpaceReclaimed").longValue(0);
        out.println("Total reclaimed space: " + Units.size(reclaimed));
        return 0;
    }

    /** A prune route, skipped when this daemon does not serve it (yet); returns the space it freed. */
    private long pruneOptional(DockerClient c, String path, String listField, String title, List<String> filters)
            throws UsageError, IOException {
        JsonNode r;
        try {
            r = c.send("POST", Query.path(path).add("filters", Api.filters(filters)).toString(), null);
        } catch (ApiError e) {
            if (e.notFound() && e.getMessage().startsWith("page not found")) {
                return 0;
            }
            throw e;
        }
        List<String> names = r.get(listField).isArray() ? r.get(listField).stringList() : List.of();
        if (!names.isEmpty()) {
            out.println(title);
            names.forEach(out::println);
            out.println();
        }
        return r.get("SpaceReclaimed").longValue(0);
    }

    int events(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("events", false).value("since", (char) 0, "from this time (Unix seconds or RFC 3339)")
                .value("until", (char) 0, "up to this time, then exit").list("filter", 'f', "type=, event=, image=, container=, ...")
                .value("format", (char) 0, "json, or a Go template").parse(args);
        if (main.help(f, "events [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        main.client().messages("GET", Query.path("/events").add("since", f.value("since")).add("until", f.value("until"))
                .add("filters", Api.filters(f.list("filter"))).toString(), Map.of(), Body.NONE, e -> {
                    if (json) {
                        try {
                            Formats.document(out, format, e.value());
                        } catch (UsageError bad) {
                            throw new IllegalArgumentException(bad.getMessage(), bad);
                        }
                    } else {
                        long nanos = e.get("timeNano").longValue(e.get("time").longValue(0) * 1_000_000_000L);
                        Instant when = Instant.ofEpochSecond(nanos / 1_000_000_000L, nanos % 1_000_000_000L);
                        StringBuilder b = new StringBuilder(Units.nanoTimestamp(when)).append(' ')
                                .append(e.get("Type").string("")).append(' ').append(e.get("Action").string("")).append(' ')
                                .append(e.get("Actor").get("ID").string(""));
                        JsonNode attrs = e.get("Actor").get("Attributes");
                        if (attrs.isObject() && !attrs.keys().isEmpty()) {
                            List<String> kv = new ArrayList<>();
                            attrs.stringMap().forEach((k, v) -> kv.add(k + "=" + v));
                            b.append(" (").append(String.join(", ", kv)).append(')');
                        }
                        out.println(b);
                    }
                    out.flush();
                });
        return 0;
    }

    int login(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("login", false).value("username", 'u', "user name")
                .value("password", 'p', "password").bool("password-stdin", (char) 0, "read the password from stdin")
                .parse(args);
        if (main.help(f, "login [OPTIONS] [SERVER]")) {
            return 0;
        }
        f.atMost(1);
        String server = f.positional().isEmpty() ? "docker.io" : f.positional().getFirst();
        String user = f.value("username");
        String password = f.value("password");
        if (f.bool("password-stdin")) {
            if (password != null) {
                throw new UsageError("--password and --password-stdin are mutually exclusive");
            }
            password = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        if (user == null || password == null) {
            throw new UsageError("give --username and --password (or --password-stdin)");
        }
        String registry = server.replaceFirst("^https?://", "").replaceFirst("/.*$", "");
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("username", user);
        body.put("password", password);
        body.put("serveraddress", registry);
        main.client().send("POST", "/auth", body);
        new CredentialStore(main.config().credentials()).save(registry, new Credentials(user, password));
        out.println("Login Succeeded");
        return 0;
    }
}
