package io.vessel.engine.network;

import java.nio.file.Path;
import java.util.List;

/**
 * What a container needs from {@link Networks#connect}: the network namespace to join (its
 * OCI {@code linux.namespaces} path), its address on the network, and the {@code /etc/hosts} and
 * {@code /etc/resolv.conf} to bind-mount (the engine rewrites the hosts file in place as members
 * come and go, so a bind mount sees the change), and the ports published to this address.
 */
public record Attachment(String networkId, String networkName, Path netnsPath, String iface, String ip, int prefix,
                         String gateway, String mac, Path hostsPath, Path resolvConfPath, List<PortMapping> ports) {
    public Attachment {
        ports = List.copyOf(ports);
    }
}
