package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.Body;
import io.vessel.cli.client.DockerClient;
import io.vessel.cli.client.Query;
import io.vessel.cli.client.Response;
import io.vessel.engine.Archives;
import io.vessel.image.Reference;
import io.vessel.json.JsonNode;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The image verbs through the daemon's API: images, pull, push, tag, rmi, inspect, save, load,
 * import, image prune. Output as the docker CLI's (tables, {@code --format json}, progress).
 */
final class ImageCommands {
    private final Main main;
    private final PrintStream out;
    private final PrintStream err;

    ImageCommands(Main main) {
        this.main = main;
        this.out = main.out();
        this.err = main.err();
    }

    int images(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("images", false).bool("all", 'a', "show intermediate build images")
                .bool("quiet", 'q', "only IDs").bool("no-trunc", (char) 0, "full IDs")
                .bool("digests", (char) 0, "show digests").list("filter", 'f', "dangling=, reference=, label=, before=, since=")
                .value("format", (char) 0, "table, json, or a Go template").parse(args);
        if (main.help(f, "images [OPTIONS] [REPOSITORY[:TAG]]")) {
            return 0;
        }
        f.atMost(1);
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        List<String> filters = new ArrayList<>(f.list("filter"));
        if (!f.positional().isEmpty()) {
            filters.add("reference=" + f.positional().getFirst());
        }
        JsonNode list = main.client().get(Query.path("/images/json").flag("all", f.bool("all"))
                .add("filters", Api.filters(filters)).toString());
        boolean trunc = !f.bool("no-trunc");
        if (f.bool("quiet")) {
            List<String> ids = new ArrayList<>();
            for (JsonNode i : list.elements()) {
                String id = id(i.get("Id").string(""), trunc);
                if (!ids.contains(id)) {
                    ids.add(id);
                    out.println(id);
                }
            }
            return 0;
        }
        Table t = f.bool("digests") ? new Table("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")
                : new Table("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (JsonNode i : list.elements()) {
            List<String> tags = i.get("RepoTags").present() ? i.get("RepoTags").stringList() : List.of();
            List<String> digests = i.get("RepoDigests").present() ? i.get("RepoDigests").stringList() : List.of();
            Instant created = Instant.ofEpochSecond(i.get("Created").longValue(0));
            String id = id(i.get("Id").string(""), trunc);
            String size = Units.size(i.get("Size").longValue(0));
            for (String tag : tags.isEmpty() ? List.of("<none>:<none>") : tags) {
                int colon = tag.lastIndexOf(':');
                String repo = tag.substring(0, colon);
                String tg = tag.substring(colon + 1);
                String digest = digests.stream().filter(d -> d.startsWith(repo + "@")).map(d -> d.substring(d.indexOf('@') + 1))
                        .findFirst().orElse("<none>");
                if (json) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("Containers", "N/A");
                    m.put("CreatedAt", Units.timestamp(created));
                    m.put("CreatedSince", Units.ago(created));
                    m.put("Digest", digest);
                    m.put("ID", id);
                    m.put("Repository", repo);
                    m.put("SharedSize", "N/A");
                    m.put("Size", size);
                    m.put("Tag", tg);
                    m.put("UniqueSize", "N/A");
                    m.put("VirtualSize", size);
                    rows.add(m);
                } else if (f.bool("digests")) {
                    t.row(repo, tg, digest, id, Units.ago(created), size);
                } else {
                    t.row(repo, tg, id, Units.ago(created), size);
                }
            }
        }
        if (json) {
            Formats.rows(out, format, rows, Map.of("ID", "IMAGE ID"));
        } else {
            t.print(out);
        }
        return 0;
    }

    private static String id(String full, boolean trunc) {
        String hex = full.startsWith("sha256:") ? full.substring(7) : full;
        return trunc ? hex.substring(0, Math.min(12, hex.length())) : full;
    }

    int image(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel image\" needs a subcommand: ls, pull, push, rm, tag, inspect, save, load, import, prune, build");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "ls", "list" -> images(rest);
            case "prune" -> prune(rest);
            case "rm" -> rmi(rest);
            case "pull" -> pull(rest);
            case "push" -> push(rest);
            case "tag" -> tag(rest);
            case "inspect" -> main.dispatch("inspect", withType("image", rest));
            case "save" -> save(rest);
            case "load" -> load(rest);
            case "import" -> importImage(rest);
            case "history" -> new FileCommands(main).history(rest);
            case "build" -> BuildCommand.run(main, rest);
            default -> throw new UsageError("unknown command \"image " + args.getFirst() + "\"");
        };
    }

    private static List<String> withType(String type, List<String> rest) {
        List<String> l = new ArrayList<>(List.of("--type", type));
        l.addAll(rest);
        return l;
    }

    private int prune(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("image prune", false).bool("all", 'a', "all images without a container")
                .bool("force", 'f', "do not ask (vessel never asks)").list("filter", (char) 0, "until=, label=").parse(args);
        if (main.help(f, "image prune [OPTIONS]")) {
            return 0;
        }
        List<String> filters = new ArrayList<>(f.list("filter"));
        if (f.bool("all")) {
            filters.add("dangling=false");
        }
        JsonNode r = main.client().send("POST", Query.path("/images/prune").add("filters", Api.filters(filters)).toString(), null);
        List<JsonNode> deleted = r.get("ImagesDeleted").present() ? r.get("ImagesDeleted").elements() : List.of();
        if (!deleted.isEmpty()) {
            out.println("Deleted Images:");
            for (JsonNode d : deleted) {
                out.println(d.get("Untagged").present() ? "untagged: " + d.get("Untagged").string("")
                        : "deleted: " + d.get("Deleted").string(""));
            }
            out.println();
        }
        out.println("Total reclaimed space: " + Units.size(r.get("SpaceReclaimed").longValue(0)));
        return 0;
    }

    int pull(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("pull", false).value("platform", (char) 0, "os/arch[/variant], default linux/amd64")
                .bool("quiet", 'q', "no progress").parse(args);
        if (main.help(f, "pull [OPTIONS] NAME[:TAG|@DIGEST]")) {
            return 0;
        }
        String given = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        Reference ref = reference(given);
        if (ref.tag() == null && ref.digest() == null) {
            ref = ref.withTag(Reference.DEFAULT_TAG);
            if (!f.bool("quiet")) {
                out.println("Using default tag: latest");
            }
        }
        pull(ref, f.value("platform"), f.bool("quiet"), out);
        out.println(ref);
        return 0;
    }

    /** Pulls {@code ref} (tag or digest given) with the daemon's progress shown on {@code to} unless quiet. */
    void pull(Reference ref, String platform, boolean quiet, PrintStream to) throws IOException {
        String name = ref.domain() + "/" + ref.path();
        String tag = ref.digest() != null ? ref.digest().toString() : ref.tag();
        MessageDisplay display = new MessageDisplay(to, main.terminal(to == out ? 1 : 2), quiet);
        main.client().messages("POST", Query.path("/images/create").add("fromImage", name).add("tag", tag)
                .add("platform", platform).toString(), Api.registryAuth(main.credentials(), ref.toString()), Body.NONE, display);
    }

    private static Reference reference(String given) throws UsageError {
        try {
            return Reference.parse(given);
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
    }

    private int push(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("push", false).bool("quiet", 'q', "no progress").parse(args);
        if (main.help(f, "push [OPTIONS] NAME[:TAG]")) {
            return 0;
        }
        String given = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        Reference ref = reference(given);
        if (ref.tag() == null && ref.digest() == null) {
            ref = ref.withTag(Reference.DEFAULT_TAG);
            if (!f.bool("quiet")) {
                out.println("Using default tag: latest");
            }
        }
        String name = ref.domain() + "/" + ref.path();
        MessageDisplay display = new MessageDisplay(out, main.terminal(1), f.bool("quiet"));
        main.client().messages("POST", Query.path("/images/" + Query.segment(name) + "/push")
                .add("tag", ref.digest() != null ? ref.digest().toString() : ref.tag()).toString(),
                Api.registryAuth(main.credentials(), ref.toString()), Body.NONE, display);
        if (f.bool("quiet")) {
            out.println(ref);
        }
        return 0;
    }

    private int tag(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("tag", false).parse(args);
        if (main.help(f, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")) {
            return 0;
        }
        String src = f.arg(0, "exactly 2 arguments");
        String dst = f.arg(1, "exactly 2 arguments");
        f.atMost(2);
        Reference target = reference(dst);
        if (target.digest() != null) {
            throw new UsageError("refusing to create a tag with a digest reference: " + dst);
        }
        main.client().send("POST", Query.path("/images/" + Query.segment(src) + "/tag")
                .add("repo", target.domain() + "/" + target.path()).add("tag", target.tag() == null ? Reference.DEFAULT_TAG : target.tag())
                .toString(), null);
        return 0;
    }

    int rmi(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("rmi", false).bool("force", 'f', "remove even if used or tagged in several repositories")
                .bool("no-prune", (char) 0, "accepted: untagged parents are kept anyway").parse(args);
        if (main.help(f, "rmi [OPTIONS] IMAGE [IMAGE...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        int status = 0;
        for (String i : f.positional()) {
            try {
                JsonNode r = main.client().send("DELETE", Query.path("/images/" + Query.segment(i)).flag("force", f.bool("force")).toString(), null);
                for (JsonNode d : r.elements()) {
                    out.println(d.get("Untagged").present() ? "Untagged: " + d.get("Untagged").string("")
                            : "Deleted: " + d.get("Deleted").string(""));
                }
            } catch (ApiError e) {
                err.println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    int save(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("save", false).value("output", 'o', "write to a file, not standard output")
                .value("format", (char) 0, "docker (default), oci-archive, or oci (a layout directory given by -o)")
                .parse(args);
        if (main.help(f, "save [OPTIONS] IMAGE [IMAGE...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        String format = f.value("format", "docker");
        if (!format.equals("docker") && !format.equals("docker-archive")) {
            return saveOci(f, format);
        }
        if (!f.has("output") && main.terminal(1)) {
            throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        Query q = Query.path("/images/get");
        f.positional().forEach(n -> q.add("names", n));
        try (Response r = main.client().call("GET", q.toString(), Map.of(), Body.NONE)) {
            r.check();
            if (f.has("output")) {
                Main.writeFile(r.body(), Path.of(f.value("output")));
            } else {
                out.flush();
                OutputStream o = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
                r.body().transferTo(o);
                o.flush();
            }
        }
        return 0;
    }

    /** OCI archives and layouts are not part of the Docker API: written by the engine in this process, reading the same store. */
    private int saveOci(Flags f, String format) throws UsageError, IOException {
        Archives.Format fmt = switch (format) {
            case "oci-archive" -> Archives.Format.OCI_ARCHIVE;
            case "oci", "oci-layout" -> Archives.Format.OCI_LAYOUT;
            default -> throw new UsageError("unknown --format \"" + format + "\": docker, oci-archive or oci");
        };
        if (!f.has("output")) {
            throw new UsageError("--format " + format + " writes a " + (fmt == Archives.Format.OCI_LAYOUT ? "directory" : "file")
                    + ": give it with -o");
        }
        if (fmt == Archives.Format.OCI_LAYOUT) {
            main.engine().archives().save(f.positional(), null, fmt, Path.of(f.value("output")));
            return 0;
        }
        Path target = Path.of(f.value("output")).toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + ".vessel-tmp");
        try {
            try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                main.engine().archives().save(f.positional(), o, fmt, null);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return 0;
    }

    int load(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("load", false).value("input", 'i', "read from a file (or an OCI layout directory)")
                .bool("quiet", 'q', "print less").parse(args);
        if (main.help(f, "load [OPTIONS]")) {
            return 0;
        }
        f.atMost(0);
        if (f.has("input") && Files.isDirectory(Path.of(f.value("input")))) {
            // an OCI layout directory: the API takes archives only, so the engine reads it here
            main.engine().archives().load(null, Path.of(f.value("input"))).forEach(out::println);
            return 0;
        }
        if (!f.has("input") && main.terminal(0)) {
            throw new UsageError("requested load from stdin, but stdin is empty (a terminal): use -i or a pipe");
        }
        Body body = new Body.Streamed(o -> {
            if (f.has("input")) {
                try (InputStream in = Files.newInputStream(Path.of(f.value("input")))) {
                    in.transferTo(o);
                }
            } else {
                System.in.transferTo(o);
            }
        }, "application/x-tar");
        main.client().messages("POST", Query.path("/images/load").flag("quiet", f.bool("quiet")).toString(), Map.of(), body,
                new MessageDisplay(out, false, false));
        return 0;
    }

    int importImage(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("import", false).list("change", 'c', "apply a Dockerfile instruction (ENV, CMD, ENTRYPOINT, WORKDIR, USER)")
                .value("message", 'm', "accepted: a commit message").parse(args);
        if (main.help(f, "import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]")) {
            return 0;
        }
        String source = f.arg(0, "at least 1 argument");
        f.atMost(2);
        Query q = Query.path("/images/create").add("fromSrc", "-");
        if (f.positional().size() > 1) {
            Reference name = reference(f.positional().get(1));
            q.add("repo", name.domain() + "/" + name.path()).add("tag", name.tag());
        }
        f.list("change").forEach(c -> q.add("changes", c));
        Path src = source.equals("-") ? null : Path.of(source);
        if (src != null && !Files.exists(src)) {
            throw new UsageError("import: no such file or directory: " + source);
        }
        Body body = new Body.Streamed(o -> {
            if (src == null) {
                System.in.transferTo(o);
            } else if (Files.isDirectory(src)) {
                ContextArchive.all(src).writeTo(o, List.of());
            } else {
                try (InputStream in = Files.newInputStream(src)) {
                    in.transferTo(o);
                }
            }
        }, "application/x-tar");
        String[] id = new String[1];
        main.client().messages("POST", q.toString(), Map.of(), body, m -> id[0] = m.get("status").string(id[0]));
        out.println(id[0]);
        return 0;
    }

    /** One image's inspect document, or null when there is no such image. */
    JsonNode inspect(DockerClient client, String name) throws IOException {
        try {
            return client.get("/images/" + Query.segment(name) + "/json");
        } catch (ApiError e) {
            if (e.notFound()) {
                return null;
            }
            throw e;
        }
    }
}
