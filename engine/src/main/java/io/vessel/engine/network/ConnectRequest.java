package io.vessel.engine.network;

import java.util.List;

/**
 * Attach {@code containerId} to {@code network} (name or ID). {@code containerName} and
 * {@code aliases} are the names other members resolve it by; {@code hostname} goes in its own
 * hosts file; {@code ip} is a static address or null for the allocator's choice; {@code ports}
 * are published on the host to this address.
 */
public record ConnectRequest(String network, String containerId, String containerName, String hostname,
                             List<String> aliases, String ip, List<PortMapping> ports) {
    public ConnectRequest {
        if (containerName != null && containerName.startsWith("/")) {
            containerName = containerName.substring(1); // Docker's API writes names as "/name"
        }
        aliases = aliases == null ? List.of() : List.copyOf(aliases);
        ports = ports == null ? List.of() : List.copyOf(ports);
    }

    public static ConnectRequest of(String network, String containerId, String containerName) {
        return new ConnectRequest(network, containerId, containerName, null, List.of(), null, List.of());
    }
}
