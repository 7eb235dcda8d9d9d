package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.events.Event;
import io.vessel.engine.network.CreateRequest;
import io.vessel.engine.network.Network;
import io.vessel.engine.network.NetworkException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code /networks}: list, inspect, create, remove, connect, disconnect and prune over the
 * engine's {@link io.vessel.engine.network.Networks}; connect and disconnect go through the
 * container lifecycle, which records them with the container.
 */
final class NetworkRoutes {
    private static final Set<String> LIST_FILTERS = Set.of("name", "id", "driver", "label", "dangling", "type", "scope");
    private static final Set<String> PRUNE_FILTERS = Set.of("label", "until");

    private final Engine engine;

    NetworkRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.get("/networks", this::list);
        r.post("/networks/create", this::create);
        r.post("/networks/prune", this::prune);
        r.get("/networks/{id}", this::inspect);
        r.delete("/networks/{id}", this::remove);
        r.post("/networks/{id}/connect", this::connect);
        r.post("/networks/{id}/disconnect", this::disconnect);
    }

    /** NetworkException's kind as Docker's status: 404, 409, 400. */
    static ApiException error(NetworkException e) {
        return new ApiException(switch (e.kind()) {
            case NOT_FOUND -> Status.NOT_FOUND;
            case CONFLICT -> Status.CONFLICT;
            case INVALID -> Status.BAD_REQUEST;
        }, e.getMessage(), e);
    }

    private void list(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), LIST_FILTERS);
        Boolean dangling = f.bool("dangling");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Network n : engine.networks().list()) {
            if (matches(f, n, dangling)) {
                out.add(NetworkJson.network(n, false));
            }
        }
        ex.json(Status.OK, out);
    }

    private static boolean matches(Filters f, Network n, Boolean dangling) {
        if (f.has("name") && f.get("name").stream().noneMatch(v -> n.name().contains(v))) {
            return false; // Docker matches names by substring
        }
        if (f.has("id") && f.get("id").stream().noneMatch(v -> n.id().startsWith(v))) {
            return false;
        }
        if (f.has("driver") && !f.get("driver").contains(n.driver())) {
            return false;
        }
        if (f.has("scope") && !f.get("scope").contains("local")) {
            return false;
        }
        if (f.has("type")) {
            for (String t : f.get("type")) {
                if (!t.equals("custom") && !t.equals("builtin")) {
                    throw ApiException.badRequest("invalid filter: 'type' must be 'custom' or 'builtin', not '" + t + "'");
                }
            }
            if (!f.get("type").contains(n.predefined() ? "builtin" : "custom")) {
                return false;
            }
        }
        if (!f.labelsMatch("label", n.labels())) {
            return false;
        }
        // dangling: user networks without containers (the predefined ones are never dangling)
        return dangling == null || dangling == (!n.predefined() && n.endpoints().isEmpty());
    }

    private void inspect(HttpRequest req, HttpExchange ex) throws IOException {
        try {
            ex.json(Status.OK, NetworkJson.network(engine.networks().inspect(req.param("id")), true));
        } catch (NetworkException e) {
            throw error(e);
        }
    }

    private void create(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("network create", false).goStruct("Name", "CheckDuplicate", "Driver", "Scope",
                "Internal", "Attachable", "Ingress", "ConfigOnly", "ConfigFrom", "IPAM", "EnableIPv4", "EnableIPv6",
                "Options", "Labels");
        String name = body.get("Name").string("");
        if (name.isEmpty()) {
            throw ApiException.badRequest("network create: Name is required");
        }
        if (body.get("EnableIPv6").bool(false)) {
            throw ApiException.badRequest("network create: IPv6 is not supported by Vessel's networks");
        }
        if (body.get("EnableIPv4").present() && !body.get("EnableIPv4").bool(true)) {
            throw ApiException.badRequest("network create: a bridge network without IPv4 is not supported");
        }
        for (String flag : List.of("Attachable", "Ingress", "ConfigOnly")) {
            if (body.get(flag).bool(false)) {
                throw ApiException.badRequest("network create: " + flag + " networks need swarm mode, which Vessel does not have");
            }
        }
        if (body.get("ConfigFrom").present() && !body.get("ConfigFrom").get("Network").string("").isEmpty()) {
            throw ApiException.badRequest("network create: ConfigFrom needs config-only networks, which Vessel does not have");
        }
        String scope = body.get("Scope").string("");
        if (!scope.isEmpty() && !scope.equals("local")) {
            throw ApiException.badRequest("network create: scope \"" + scope + "\" is not supported; only local is");
        }
        if (body.get("Options").present() && !body.get("Options").stringMap().isEmpty()) {
            throw ApiException.badRequest("network create: driver options are not supported: "
                    + String.join(", ", body.get("Options").stringMap().keySet()));
        }
        String subnet = null;
        String gateway = null;
        JsonNode ipam = body.get("IPAM");
        if (ipam.present()) {
            ipam = ipam.goStruct("Driver", "Config", "Options");
            String driver = ipam.get("Driver").string("");
            if (!driver.isEmpty() && !driver.equals("default")) {
                throw ApiException.badRequest("network create: IPAM driver \"" + driver + "\" is not supported; only default is");
            }
            List<JsonNode> configs = ipam.get("Config").present() ? ipam.get("Config").elements() : List.of();
            if (configs.size() > 1) {
                throw ApiException.badRequest("network create: only one IPAM config (one --subnet) is supported");
            }
            if (!configs.isEmpty()) {
                JsonNode c = configs.getFirst().goStruct("Subnet", "IPRange", "Gateway", "AuxiliaryAddresses");
                if (!c.get("IPRange").string("").isEmpty()) {
                    throw ApiException.badRequest("network create: --ip-range is not supported");
                }
                if (c.get("AuxiliaryAddresses").present() && !c.get("AuxiliaryAddresses").stringMap().isEmpty()) {
                    throw ApiException.badRequest("network create: --aux-address is not supported");
                }
                subnet = c.get("Subnet").string("");
                gateway = c.get("Gateway").string("");
            }
        }
        Map<String, String> labels = body.get("Labels").present() ? body.get("Labels").stringMap() : Map.of();
        Network n;
        try {
            n = engine.networks().create(new CreateRequest(name, body.get("Driver").string(""), subnet, gateway,
                    body.get("Internal").bool(false), labels));
        } catch (NetworkException e) {
            throw error(e);
        }
        engine.events().publish(Event.now(Event.NETWORK, "create", n.id(), Map.of("name", n.name(), "type", n.driver())));
        ex.json(Status.CREATED, Map.of("Id", n.id(), "Warning", ""));
    }

    private void remove(HttpRequest req, HttpExchange ex) throws IOException {
        try {
            Network n = engine.networks().inspect(req.param("id"));
            engine.networks().remove(n.id());
            engine.events().publish(Event.now(Event.NETWORK, "destroy", n.id(), Map.of("name", n.name(), "type", n.driver())));
        } catch (NetworkException e) {
            throw error(e);
        }
        ex.empty(Status.NO_CONTENT);
    }

    private void prune(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), PRUNE_FILTERS);
        if (f.has("until")) {
            throw ApiException.badRequest("network prune: the until filter is not supported");
        }
        List<String> deleted = new ArrayList<>();
        for (Network n : engine.networks().list()) {
            if (!n.predefined() && n.endpoints().isEmpty() && f.labelsMatch("label", n.labels())) {
                try {
                    engine.networks().remove(n.id());
                    deleted.add(n.name());
                    engine.events().publish(Event.now(Event.NETWORK, "destroy", n.id(),
                            Map.of("name", n.name(), "type", n.driver())));
                } catch (NetworkException inUse) {
                    // a container joined it meanwhile: kept, as Docker does
                }
            }
        }
        ex.json(Status.OK, Map.of("NetworksDeleted", deleted));
    }

    private void connect(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("network connect", false).goStruct("Container", "EndpointConfig");
        String container = body.get("Container").string("");
        if (container.isEmpty()) {
            throw ApiException.badRequest("network connect: Container is required");
        }
        List<String> aliases = List.of();
        String ip = null;
        JsonNode ec = body.get("EndpointConfig").goStruct("IPAMConfig", "Links", "Aliases", "MacAddress", "DriverOpts",
                "GwPriority", "NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway",
                "GlobalIPv6Address", "GlobalIPv6PrefixLen", "DNSNames");
        if (ec.present()) {
            if (ec.get("Aliases").present() && ec.get("Aliases").value() != null) {
                aliases = ec.get("Aliases").stringList();
            }
            JsonNode ipam = ec.get("IPAMConfig").goStruct("IPv4Address", "IPv6Address", "LinkLocalIPs");
            if (ipam.present()) {
                ip = ipam.get("IPv4Address").string("");
                if (!ipam.get("IPv6Address").string("").isEmpty()) {
                    throw ApiException.badRequest("network connect: IPv6 addresses are not supported");
                }
            }
            if (ec.get("Links").present() && ec.get("Links").value() != null && !ec.get("Links").stringList().isEmpty()) {
                throw ApiException.badRequest("network connect: legacy links are not supported; use aliases");
            }
        }
        try {
            Network n = engine.networks().inspect(req.param("id"));
            engine.containers().connectNetwork(container, n.id(), aliases, ip == null || ip.isEmpty() ? null : ip);
            engine.events().publish(Event.now(Event.NETWORK, "connect", n.id(),
                    Map.of("name", n.name(), "type", n.driver(), "container", container)));
        } catch (NetworkException e) {
            throw error(e);
        }
        ex.empty(Status.OK);
    }

    private void disconnect(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("network disconnect", false).goStruct("Container", "Force");
        String container = body.get("Container").string("");
        if (container.isEmpty()) {
            throw ApiException.badRequest("network disconnect: Container is required");
        }
        try {
            Network n = engine.networks().inspect(req.param("id"));
            engine.containers().disconnectNetwork(container, n.id());
            engine.events().publish(Event.now(Event.NETWORK, "disconnect", n.id(),
                    Map.of("name", n.name(), "type", n.driver(), "container", container)));
        } catch (NetworkException e) {
            throw error(e);
        }
        ex.empty(Status.OK);
    }
}
