package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.Query;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code vessel network create|ls|inspect|rm|prune|connect|disconnect} through the daemon's API. */
final class NetworkCommands {
    private final Main main;
    private final PrintStream out;

    NetworkCommands(Main main) {
        this.main = main;
        this.out = main.out();
    }

    int run(List<String> args) throws UsageError, IOException {
        if (args.isEmpty()) {
            throw new UsageError("\"vessel network\" needs a subcommand: create, ls, inspect, rm, prune, connect, disconnect");
        }
        List<String> rest = args.subList(1, args.size());
        return switch (args.getFirst()) {
            case "create" -> create(rest);
            case "ls", "list" -> list(rest);
            case "inspect" -> inspect(rest);
            case "rm", "remove" -> remove(rest);
            case "prune" -> prune(rest);
            case "connect", "disconnect" -> connect(args.getFirst(), rest);
            default -> throw new UsageError("unknown command \"network " + args.getFirst() + "\"");
        };
    }

    private int create(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("network create", false).value("driver", 'd', "bridge (the only driver)")
                .list("subnet", (char) 0, "the subnet, e.g. 10.89.0.0/24").list("gateway", (char) 0, "the gateway address")
                .list("label", (char) 0, "KEY=VALUE").list("opt", 'o', "driver options")
                .bool("internal", (char) 0, "no outbound access").parse(rest);
        if (main.help(f, "network create [OPTIONS] NETWORK")) {
            return 0;
        }
        String name = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Name", name);
        body.put("Driver", f.value("driver", "bridge"));
        body.put("Internal", f.bool("internal"));
        body.put("Labels", pairs(f.list("label"), "--label"));
        body.put("Options", pairs(f.list("opt"), "--opt"));
        if (!f.list("subnet").isEmpty()) {
            List<Map<String, Object>> config = new ArrayList<>();
            for (int i = 0; i < f.list("subnet").size(); i++) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("Subnet", f.list("subnet").get(i));
                if (i < f.list("gateway").size()) {
                    c.put("Gateway", f.list("gateway").get(i));
                }
                config.add(c);
            }
            body.put("IPAM", Map.of("Driver", "default", "Config", config));
        }
        out.println(main.client().send("POST", "/networks/create", body).get("Id").string(""));
        return 0;
    }

    private int list(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("network ls", false).bool("quiet", 'q', "only IDs").bool("no-trunc", (char) 0, "full IDs")
                .list("filter", 'f', "name=, id=, driver=, label=").value("format", (char) 0, "table, json, or a Go template").parse(rest);
        if (main.help(f, "network ls [OPTIONS]")) {
            return 0;
        }
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        boolean trunc = !f.bool("no-trunc");
        JsonNode list = main.client().get(Query.path("/networks").add("filters", Api.filters(f.list("filter"))).toString());
        Table t = new Table("NETWORK ID", "NAME", "DRIVER", "SCOPE");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (JsonNode n : list.elements()) {
            String id = n.get("Id").string("");
            id = trunc ? id.substring(0, Math.min(12, id.length())) : id;
            if (f.bool("quiet")) {
                out.println(id);
            } else if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                String created = n.get("Created").string("");
                m.put("CreatedAt", created.isEmpty() ? "" : Units.timestamp(Instant.parse(created)));
                m.put("Driver", n.get("Driver").string(""));
                m.put("ID", id);
                m.put("IPv6", String.valueOf(n.get("EnableIPv6").bool(false)));
                m.put("Internal", String.valueOf(n.get("Internal").bool(false)));
                m.put("Labels", VolumeCommands.labels(n.get("Labels")));
                m.put("Name", n.get("Name").string(""));
                m.put("Scope", n.get("Scope").string("local"));
                rows.add(m);
            } else {
                t.row(id, n.get("Name").string(""), n.get("Driver").string(""), n.get("Scope").string("local"));
            }
        }
        if (json) {
            Formats.rows(out, format, rows, Map.of("ID", "NETWORK ID"));
        } else if (!f.bool("quiet")) {
            t.print(out);
        }
        return 0;
    }

    private int inspect(List<String> rest) throws UsageError, IOException {
        return main.inspectEach("network", "/networks/", rest);
    }

    private int remove(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("network rm", false).bool("force", 'f', "no error when absent").parse(rest);
        if (main.help(f, "network rm NETWORK [NETWORK...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        int status = 0;
        for (String n : f.positional()) {
            try {
                main.client().send("DELETE", "/networks/" + Query.segment(n), null);
                out.println(n);
            } catch (ApiError e) {
                if (f.bool("force") && e.notFound()) {
                    continue;
                }
                main.err().println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    private int prune(List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("network prune", false).bool("force", 'f', "do not ask (vessel never asks)")
                .list("filter", (char) 0, "until=, label=").parse(rest);
        if (main.help(f, "network prune [OPTIONS]")) {
            return 0;
        }
        JsonNode r = main.client().send("POST", Query.path("/networks/prune").add("filters", Api.filters(f.list("filter"))).toString(), null);
        List<String> gone = r.get("NetworksDeleted").isArray() ? r.get("NetworksDeleted").stringList() : List.of();
        if (!gone.isEmpty()) {
            out.println("Deleted Networks:");
            gone.forEach(out::println);
        }
        return 0;
    }

    private int connect(String verb, List<String> rest) throws UsageError, IOException {
        Flags f = new Flags("network " + verb, false);
        if (verb.equals("connect")) {
            f.list("alias", (char) 0, "more names for the container on the network").value("ip", (char) 0, "a static IPv4 address");
        } else {
            f.bool("force", 'f', "even if the container is gone");
        }
        f.parse(rest);
        if (main.help(f, "network " + verb + " [OPTIONS] NETWORK CONTAINER")) {
            return 0;
        }
        String network = f.arg(0, "exactly 2 arguments");
        String container = f.arg(1, "exactly 2 arguments");
        f.atMost(2);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Container", container);
        if (verb.equals("connect")) {
            Map<String, Object> endpoint = new LinkedHashMap<>();
            endpoint.put("Aliases", f.list("alias"));
            if (f.has("ip")) {
                endpoint.put("IPAMConfig", Map.of("IPv4Address", f.value("ip")));
            }
            body.put("EndpointConfig", endpoint);
        } else {
            body.put("Force", f.bool("force"));
        }
        main.client().send("POST", "/networks/" + Query.segment(network) + "/" + verb, body);
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
