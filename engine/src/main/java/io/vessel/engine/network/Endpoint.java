package io.vessel.engine.network;

import java.util.List;

/**
 * A container's membership of a bridge network, as stored: its address (from the network's
 * allocator), MAC, the interface in its namespace ({@code eth0}, {@code eth1}...), the host end
 * of its veth pair, the names others resolve it by, and its published ports.
 */
public record Endpoint(String containerId, String containerName, String hostname, List<String> aliases, int ip,
                       String mac, String iface, String hostVeth, List<PortMapping> ports) {
    public Endpoint {
        aliases = List.copyOf(aliases);
        ports = List.copyOf(ports);
    }

    public String ipAddress() {
        return Subnet.format(ip);
    }

    /** The names other members resolve this one by: the container name, then the aliases. */
    List<String> names() {
        List<String> n = new java.util.ArrayList<>();
        if (containerName != null && !containerName.isEmpty()) {
            n.add(containerName);
        }
        for (String a : aliases) {
            if (!n.contains(a)) {
                n.add(a);
            }
        }
        return n;
    }
}
