package io.vessel.engine.api.docker;

import io.vessel.engine.container.RunOptions;
import io.vessel.engine.network.PortMapping;
import io.vessel.json.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * The networking part of {@code POST /containers/create}: HostConfig's {@code PortBindings},
 * {@code PublishAllPorts} and {@code Dns}, and NetworkingConfig's endpoint of the container's
 * network ({@code Aliases}, {@code IPAMConfig.IPv4Address}), read into {@link RunOptions}.
 */
final class NetworkCreateOptions {
    private NetworkCreateOptions() {
    }

    /** Reads them into {@code b}; {@code network} is HostConfig.NetworkMode as given. */
    static void read(JsonNode body, JsonNode host, String network, RunOptions.Builder b) {
        JsonNode bindings = host.get("PortBindings");
        if (CreateBody.has(bindings)) {
            if (!bindings.isObject()) {
                throw bindings.fail("must be an object of \"PORT/PROTO\": [bindings]");
            }
            for (String key : bindings.keys()) {
                JsonNode list = bindings.get(key);
                if (!CreateBody.has(list)) {
                    continue;
                }
                for (JsonNode one : list.elements()) {
                    b.publish(mapping(key, CreateBody.str(one.get("HostIp"), ""), CreateBody.str(one.get("HostPort"), "")));
                }
            }
        }
        b.publishAll(CreateBody.bool(host.get("PublishAllPorts")));
        if (CreateBody.has(host.get("Dns"))) {
            CreateBody.strings(host.get("Dns")).forEach(b::dns);
        }
        JsonNode endpoints = body.get("NetworkingConfig").get("EndpointsConfig");
        if (!CreateBody.has(endpoints)) {
            return;
        }
        List<String> names = endpoints.keys();
        if (names.size() > 1) {
            throw new IllegalArgumentException("NetworkingConfig.EndpointsConfig: a container is created on one network ("
                    + String.join(", ", names) + " given); connect it to more with docker network connect");
        }
        for (String name : names) {
            String mode = defaulted(network);
            if (!defaulted(name).equals(mode)) {
                throw new IllegalArgumentException("NetworkingConfig.EndpointsConfig names network " + name
                        + " but HostConfig.NetworkMode is " + mode);
            }
            JsonNode ep = endpoints.get(name);
            if (CreateBody.has(ep.get("Aliases"))) {
                CreateBody.strings(ep.get("Aliases")).forEach(b::networkAlias);
            }
            JsonNode ipam = ep.get("IPAMConfig");
            if (CreateBody.has(ipam)) {
                String ip = CreateBody.str(ipam.get("IPv4Address"), "");
                if (!ip.isEmpty()) {
                    b.ip(ip);
                }
                if (!CreateBody.str(ipam.get("IPv6Address"), "").isEmpty()) {
                    throw new IllegalArgumentException("IPv6 addresses (--ip6) are not supported");
                }
            }
        }
    }

    /** The CLI names the default network "default" (or nothing): it is the {@code bridge} network. */
    private static String defaulted(String network) {
        return network == null || network.isEmpty() || network.equals("default") ? "bridge" : network;
    }

    /** One binding of {@code "80/tcp": {"HostIp", "HostPort"}}; an empty host port means a free one. */
    private static PortMapping mapping(String key, String hostIp, String hostPort) {
        int slash = key.indexOf('/');
        String port = slash < 0 ? key : key.substring(0, slash);
        String proto = slash < 0 ? "tcp" : key.substring(slash + 1);
        if (port.contains("-")) {
            // the docker CLI sends one key per container port; a range here is not a port
            throw new IllegalArgumentException("PortBindings: \"" + key + "\" is not PORT/PROTOCOL");
        }
        String spec = (hostIp.isEmpty() ? "" : (hostIp.contains(":") ? "[" + hostIp + "]" : hostIp) + ":")
                + hostPort + (hostIp.isEmpty() && hostPort.isEmpty() ? "" : ":") + port + "/" + proto;
        if (hostIp.contains(":")) {
            throw new IllegalArgumentException("IPv6 host addresses are not supported for published ports: " + hostIp);
        }
        return PortMapping.parse(spec);
    }

    /** Docker's {@code Ports} of {@code GET /containers/json}: one entry per published port. */
    static List<Map<String, Object>> summary(List<io.vessel.engine.network.Attachment> attachments) {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (io.vessel.engine.network.Attachment a : attachments) {
            for (PortMapping p : a.ports()) {
                out.add(Map.of("IP", p.hostIp(), "PrivatePort", p.containerPort(), "PublicPort", p.hostPort(),
                        "Type", p.protocol()));
            }
        }
        return out;
    }
}
