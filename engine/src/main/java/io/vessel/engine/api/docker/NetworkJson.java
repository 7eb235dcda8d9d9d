package io.vessel.engine.api.docker;

import io.vessel.engine.network.Attachment;
import io.vessel.engine.network.Endpoint;
import io.vessel.engine.network.Network;
import io.vessel.engine.network.Networks;
import io.vessel.engine.network.PortMapping;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Networks in the Docker Engine API's shapes: a network as {@code GET /networks} lists it, and a
 * container's {@code NetworkSettings} as {@code docker inspect} shows it (tools read
 * {@code .NetworkSettings.Networks.<name>.IPAddress} and {@code .NetworkSettings.Ports}).
 */
public final class NetworkJson {
    /** Docker's own network scope: every Vessel network is local to this host. */
    private static final String SCOPE = "local";

    private NetworkJson() {
    }

    /** A network as {@code GET /networks/{id}} shows it; {@code containers} adds the members (list omits them). */
    public static Map<String, Object> network(Network n, boolean containers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Name", n.name());
        m.put("Id", n.id());
        m.put("Created", n.created().toString());
        m.put("Scope", SCOPE);
        m.put("Driver", n.driver());
        m.put("EnableIPv4", n.isBridge());
        m.put("EnableIPv6", false);
        List<Object> config = new ArrayList<>();
        if (n.subnet() != null) {
            config.add(Map.of("Subnet", n.subnet().toString(), "Gateway", n.gatewayAddress()));
        }
        Map<String, Object> ipam = new LinkedHashMap<>();
        ipam.put("Driver", "default");
        ipam.put("Options", null);
        ipam.put("Config", config);
        m.put("IPAM", ipam);
        m.put("Internal", n.internal());
        m.put("Attachable", false);
        m.put("Ingress", false);
        m.put("ConfigFrom", Map.of("Network", ""));
        m.put("ConfigOnly", false);
        Map<String, Object> members = new LinkedHashMap<>();
        if (containers) {
            for (Endpoint e : n.endpoints()) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("Name", e.containerName());
                c.put("EndpointID", endpointId(n.id(), e.containerId()));
                c.put("MacAddress", e.mac());
                c.put("IPv4Address", e.ipAddress() + "/" + n.subnet().prefix());
                c.put("IPv6Address", "");
                members.put(e.containerId(), c);
            }
        }
        m.put("Containers", members);
        Map<String, Object> options = new LinkedHashMap<>();
        if (n.bridge() != null) {
            options.put("com.docker.network.bridge.name", n.bridge());
        }
        m.put("Options", options);
        m.put("Labels", n.labels());
        return m;
    }

    /**
     * A container's NetworkSettings from its attachments: {@code Networks} by network name,
     * {@code Ports} ({@code "80/tcp": [{"HostIp", "HostPort"}]}), and for a container on the
     * default bridge the legacy top-level address fields.
     */
    public static Map<String, Object> settings(List<Attachment> attachments) {
        return settings(attachments, null, List.of(), Map.of());
    }

    /**
     * NetworkSettings in full: {@code sandboxKey} is the container's network namespace (null: none
     * of its own), {@code exposed} the image's EXPOSEd ports ({@code 80/tcp}; listed in
     * {@code Ports} with null when not published, as Docker does), {@code aliases} the
     * per-network aliases by network name.
     */
    public static Map<String, Object> settings(List<Attachment> attachments, Path sandboxKey,
                                               Collection<String> exposed, Map<String, List<String>> aliases) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("Bridge", "");
        s.put("SandboxID", sandboxKey == null ? "" : sha256(sandboxKey.toString()));
        s.put("SandboxKey", sandboxKey == null ? "" : sandboxKey.toString());
        Map<String, Object> ports = new LinkedHashMap<>();
        for (String e : exposed) {
            ports.put(e.contains("/") ? e : e + "/tcp", null);
        }
        for (Attachment a : attachments) {
            for (PortMapping p : a.ports()) {
                String key = p.containerPort() + "/" + p.protocol();
                @SuppressWarnings("unchecked")
                List<Object> bindings = ports.get(key) instanceof List<?> l ? (List<Object>) l : new ArrayList<>();
                bindings.add(Map.of("HostIp", p.hostIp(), "HostPort", Integer.toString(p.hostPort())));
                ports.put(key, bindings);
            }
        }
        s.put("Ports", ports);
        Attachment bridge = null;
        Map<String, Object> networks = new LinkedHashMap<>();
        for (Attachment a : attachments) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("IPAMConfig", null);
            n.put("Links", null);
            n.put("Aliases", aliases.getOrDefault(a.networkName(), List.of()));
            n.put("MacAddress", a.mac());
            n.put("DriverOpts", null);
            n.put("NetworkID", a.networkId());
            n.put("EndpointID", endpointId(a.networkId(), containerOf(a)));
            n.put("Gateway", a.gateway());
            n.put("IPAddress", a.ip());
            n.put("IPPrefixLen", a.prefix());
            n.put("IPv6Gateway", "");
            n.put("GlobalIPv6Address", "");
            n.put("GlobalIPv6PrefixLen", 0);
            n.put("DNSNames", null);
            networks.put(a.networkName(), n);
            if (a.networkName().equals(Networks.DEFAULT_NETWORK)) {
                bridge = a;
            }
        }
        // the legacy fields describe the default bridge only (empty on user networks), as in Docker
        s.put("EndpointID", bridge == null ? "" : endpointId(bridge.networkId(), containerOf(bridge)));
        s.put("Gateway", bridge == null ? "" : bridge.gateway());
        s.put("GlobalIPv6Address", "");
        s.put("GlobalIPv6PrefixLen", 0);
        s.put("IPAddress", bridge == null ? "" : bridge.ip());
        s.put("IPPrefixLen", bridge == null ? 0 : bridge.prefix());
        s.put("IPv6Gateway", "");
        s.put("MacAddress", bridge == null ? "" : bridge.mac());
        s.put("Networks", networks);
        return s;
    }

    /** The container ID an attachment belongs to: its namespace is pinned under that name. */
    private static String containerOf(Attachment a) {
        return a.netnsPath().getFileName().toString();
    }

    /** A stable endpoint ID (Docker's are random): derived from the network and the container. */
    static String endpointId(String networkId, String containerId) {
        return sha256(networkId + "/" + containerId);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
