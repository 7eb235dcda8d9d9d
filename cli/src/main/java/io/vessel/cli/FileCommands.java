package io.vessel.cli;

import io.vessel.cli.client.Body;
import io.vessel.cli.client.Query;
import io.vessel.cli.client.Response;
import io.vessel.engine.container.Sizes;
import io.vessel.image.Reference;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The verbs over images' history and containers' files and limits, as docker's: {@code history},
 * {@code diff}, {@code commit}, {@code export} and {@code update}, each one request to the daemon.
 */
final class FileCommands {
    /** docker diff's letters by the API's Kind: 0 changed, 1 added, 2 deleted. */
    private static final String[] KIND_LETTERS = {"C", "A", "D"};
    /** How much of CREATED BY docker's history shows without --no-trunc. */
    private static final int CREATED_BY_WIDTH = 45;
    private static final long NANOS_PER_CPU = 1_000_000_000L;

    private final Main main;
    private final PrintStream out;

    FileCommands(Main main) {
        this.main = main;
        this.out = main.out();
    }

    int history(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("history", false).bool("human", 'H', "sizes and dates in human-readable form (default)")
                .bool("no-trunc", (char) 0, "full IDs and commands").bool("quiet", 'q', "only IDs")
                .value("format", (char) 0, "table, json, or a Go template").parse(args);
        if (main.help(f, "history [OPTIONS] IMAGE")) {
            return 0;
        }
        String image = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        boolean trunc = !f.bool("no-trunc");
        JsonNode steps = main.client().get("/images/" + Query.segment(image) + "/history");
        Table t = new Table("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (JsonNode s : steps.elements()) {
            String id = s.get("Id").string("");
            String shown = id.startsWith("sha256:") && trunc ? id.substring(7, Math.min(id.length(), 19)) : id;
            if (f.bool("quiet")) {
                out.println(shown);
                continue;
            }
            Instant created = Instant.ofEpochSecond(s.get("Created").longValue(0));
            String by = s.get("CreatedBy").string("");
            if (trunc && by.length() > CREATED_BY_WIDTH) {
                by = by.substring(0, CREATED_BY_WIDTH - 1) + "…";
            }
            String size = Units.size(s.get("Size").longValue(0));
            String comment = s.get("Comment").string("");
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("Comment", comment);
                m.put("CreatedAt", Units.timestamp(created));
                m.put("CreatedBy", by);
                m.put("CreatedSince", Units.ago(created));
                m.put("ID", shown);
                m.put("Size", size);
                rows.add(m);
            } else {
                t.row(shown, Units.ago(created), by, size, comment);
            }
        }
        if (json) {
            Formats.rows(out, format, rows, Map.of("ID", "IMAGE"));
        } else if (!f.bool("quiet")) {
            t.print(out);
        }
        return 0;
    }

    int diff(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("diff", false).parse(args);
        if (main.help(f, "diff CONTAINER")) {
            return 0;
        }
        String container = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        JsonNode changes = main.client().get("/containers/" + Query.segment(container) + "/changes");
        for (JsonNode c : changes.elements()) {
            int kind = c.get("Kind").intValue();
            if (kind < 0 || kind >= KIND_LETTERS.length) {
                throw new IOException("the daemon answered an unknown change kind " + kind + " for " + c.get("Path").string(""));
            }
            out.println(KIND_LETTERS[kind] + " " + c.get("Path").string(""));
        }
        return 0;
    }

    int commit(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("commit", false).value("author", 'a', "author (e.g. \"Jane <jane@example.com>\")")
                .list("change", 'c', "a Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                        + "ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)")
                .value("message", 'm', "commit message").bool("pause", 'p', "pause the container while committing "
                        + "(default true)").parse(args);
        if (main.help(f, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")) {
            return 0;
        }
        String container = f.arg(0, "1 or 2 arguments");
        f.atMost(2);
        Query q = Query.path("/commit").add("container", container);
        if (f.positional().size() > 1) {
            Reference ref;
            try {
                ref = Reference.parse(f.positional().get(1));
            } catch (IllegalArgumentException e) {
                throw new UsageError("invalid reference format: " + e.getMessage());
            }
            if (ref.digest() != null) {
                throw new UsageError("refusing to create a tag with a digest reference: " + f.positional().get(1));
            }
            q.add("repo", ref.domain() + "/" + ref.path()).add("tag", ref.tag() == null ? Reference.DEFAULT_TAG : ref.tag());
        }
        q.add("comment", f.value("message")).add("author", f.value("author"));
        f.list("change").forEach(c -> q.add("changes", c));
        q.add("pause", !f.has("pause") || f.bool("pause") ? "1" : "0");
        JsonNode r = main.client().send("POST", q.toString(), null);
        out.println(r.get("Id").string(""));
        return 0;
    }

    int export(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("export", false).value("output", 'o', "write to a file, not standard output").parse(args);
        if (main.help(f, "export [OPTIONS] CONTAINER")) {
            return 0;
        }
        String container = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        if (!f.has("output") && main.terminal(1)) {
            throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        try (Response r = main.client().call("GET", "/containers/" + Query.segment(container) + "/export", Map.of(),
                Body.NONE)) {
            r.check();
            if (f.has("output")) {
                Main.writeFile(r.body(), Path.of(f.value("output")));
            } else {
                r.body().transferTo(out);
                out.flush();
            }
        }
        return 0;
    }

    int update(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("update", false).value("memory", 'm', "memory limit (e.g. 64m)")
                .value("cpus", (char) 0, "number of CPUs (e.g. 0.5)").value("cpu-shares", 'c', "relative CPU weight")
                .value("pids-limit", (char) 0, "process limit (-1: unlimited)")
                .value("restart", (char) 0, "no, always, unless-stopped, on-failure[:N]").parse(args);
        if (main.help(f, "update [OPTIONS] CONTAINER [CONTAINER...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        Map<String, Object> body = new LinkedHashMap<>();
        try {
            if (f.has("memory")) {
                body.put("Memory", Sizes.parse("--memory", f.value("memory")));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        if (f.has("cpus")) {
            try {
                body.put("NanoCpus", Math.round(Double.parseDouble(f.value("cpus")) * NANOS_PER_CPU));
            } catch (NumberFormatException e) {
                throw new UsageError("invalid --cpus \"" + f.value("cpus") + "\": a number such as 0.5");
            }
        }
        if (f.has("cpu-shares")) {
            body.put("CpuShares", integer("--cpu-shares", f.value("cpu-shares")));
        }
        if (f.has("pids-limit")) {
            body.put("PidsLimit", integer("--pids-limit", f.value("pids-limit")));
        }
        if (f.has("restart")) {
            body.put("RestartPolicy", RunBody.restart(f.value("restart")));
        }
        if (body.isEmpty()) {
            throw new UsageError("you must provide one or more flags when using this command");
        }
        int status = 0;
        for (String c : f.positional()) {
            try {
                JsonNode r = main.client().send("POST", "/containers/" + Query.segment(c) + "/update", body);
                for (JsonNode w : r.get("Warnings").elements()) {
                    main.err().println("WARNING: " + w.string(""));
                }
                out.println(c);
            } catch (io.vessel.cli.client.ApiError e) {
                main.err().println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    private static long integer(String flag, String v) throws UsageError {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageError("invalid " + flag + " \"" + v + "\": an integer");
        }
    }
}
