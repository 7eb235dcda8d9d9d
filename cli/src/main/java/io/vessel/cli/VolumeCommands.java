package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.Query;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code vessel volume create|ls|inspect|rm|prune} through the daemon's API. */
final class VolumeCommands {
    private final Main main;
    private final PrintStream out;

    VolumeCommands(Main main) {
        this.main = main;
        this.out = main.out();
    }

    int run(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel volume\" needs a subcommand: create, ls, inspect, rm, prune");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "create" -> create(rest);
            case "ls", "list" -> list(rest);
            case "inspect" -> inspect(rest);
            case "rm", "remove" -> remove(rest);
            case "prune" -> prune(rest);
            default -> throw new UsageError("unknown command \"volume " + args.getFirst() + "\"");
        };
    }

    private int create(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("volume create", false).list("label", (char) 0, "KEY=VALUE")
                .list("opt", 'o', "driver options (type=tmpfs, device=, o=)")
                .value("driver", 'd', "only \"local\"").value("name", (char) 0, "the volume's name").parse(rest);
        if (main.help(f, "volume create [OPTIONS] [VOLUME]")) {
            return 0;
        }
        f.atMost(1);
        Map<String, Object> body = new LinkedHashMap<>();
        String name = f.positional().isEmpty() ? f.value("name", "") : f.positional().getFirst();
        body.put("Name", name);
        body.put("Driver", f.value("driver", "local"));
        body.put("DriverOpts", pairs(f.list("opt"), "--opt"));
        body.put("Labels", pairs(f.list("label"), "--label"));
        out.println(main.client().send("POST", "/volumes/create", body).get("Name").string(""));
        return 0;
    }

    private int list(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("volume ls", false).bool("quiet", 'q', "only names")
                .list("filter", 'f', "name=, label=, dangling=true|false, driver=").value("format", (char) 0, "table, json, or a Go template")
                .parse(rest);
        if (main.help(f, "volume ls [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        JsonNode r = main.client().get(Query.path("/volumes").add("filters", Api.filters(f.list("filter"))).toString());
        List<JsonNode> vols = r.get("Volumes").present() ? r.get("Volumes").elements() : List.of();
        if (f.bool("quiet")) {
            vols.forEach(v -> out.println(v.get("Name").string("")));
        } else if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (JsonNode v : vols) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("Availability", "N/A");
                m.put("Driver", v.get("Driver").string(""));
                m.put("Group", "N/A");
                m.put("Labels", labels(v.get("Labels")));
                m.put("Links", "N/A");
                m.put("Mountpoint", v.get("Mountpoint").string(""));
                m.put("Name", v.get("Name").string(""));
                m.put("Scope", v.get("Scope").string("local"));
                m.put("Size", "N/A");
                m.put("Status", "N/A");
                rows.add(m);
            }
            Formats.rows(out, format, rows, Map.of("Name", "VOLUME NAME"));
        } else {
            Table t = new Table("DRIVER", "VOLUME NAME");
            vols.forEach(v -> t.row(v.get("Driver").string(""), v.get("Name").string("")));
            t.print(out);
        }
        return 0;
    }

    /** Labels as docker's templates print them: {@code k=v,k2=v2}. */
    static String labels(JsonNode labels) {
        if (!labels.isObject()) {
            return "";
        }
        List<String> l = new ArrayList<>();
        labels.stringMap().forEach((k, v) -> l.add(k + "=" + v));
        return String.join(",", l);
    }

    private int inspect(List<String> rest) throws UsageError, IOException {
        return main.inspectEach("volume", "/volumes/", rest);
    }

    private int remove(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("volume rm", false).bool("force", 'f', "even if a container uses it").parse(rest);
        if (main.help(f, "volume rm [OPTIONS] VOLUME [VOLUME...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        int status = 0;
        for (String n : f.positional()) {
            try {
                main.client().send("DELETE", Query.path("/volumes/" + Query.segment(n)).flag("force", f.bool("force")).toString(), null);
                out.println(n);
            } catch (ApiError e) {
                main.err().println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    private int prune(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("volume prune", false).bool("all", 'a', "also named volumes")
                .bool("force", 'f', "do not ask (vessel never asks)").list("filter", (char) 0, "label=").parse(rest);
        if (main.help(f, "volume prune [OPTIONS]")) {
            return 0;
        }
        List<String> filters = new ArrayList<>(f.list("filter"));
        if (f.bool("all")) {
            filters.add("all=true");
        }
        JsonNode r = main.client().send("POST", Query.path("/volumes/prune").add("filters", Api.filters(filters)).toString(), null);
        List<String> removed = r.get("VolumesDeleted").present() ? r.get("VolumesDeleted").stringList() : List.of();
        if (!removed.isEmpty()) {
            out.println("Deleted Volumes:");
            removed.forEach(out::println);
            out.println();
        }
        out.println("Total reclaimed space: " + Units.size(r.get("SpaceReclaimed").longValue(0)));
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
}
