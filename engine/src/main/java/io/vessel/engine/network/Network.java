package io.vessel.engine.network;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A network as stored and inspected. {@code driver} is {@code bridge}, {@code host} or
 * {@code null} (Docker's name for {@code none}); only bridge networks have a {@code bridge}
 * link, a subnet, a gateway and endpoints. {@code nextHost} is the allocator's cursor: addresses
 * are handed out in turn, so a released one is not reused at once.
 */
public record Network(String id, String name, String driver, String bridge, Subnet subnet, int gateway, boolean internal,
                      Map<String, String> labels, Instant created, List<Endpoint> endpoints, int nextHost) {
    public Network {
        labels = Map.copyOf(labels);
        endpoints = List.copyOf(endpoints);
    }

    public boolean isBridge() {
        return driver.equals("bridge");
    }

    /** The predefined networks (bridge, host, none) cannot be removed. */
    public boolean predefined() {
        return name.equals(Networks.DEFAULT_NETWORK) || name.equals("host") || name.equals("none");
    }

    /** Names resolve on user-defined bridge networks only, as in Docker. */
    public boolean resolvesNames() {
        return isBridge() && !name.equals(Networks.DEFAULT_NETWORK);
    }

    public String gatewayAddress() {
        return gateway == 0 ? "" : Subnet.format(gateway);
    }

    Network withEndpoints(List<Endpoint> e, int next) {
        return new Network(id, name, driver, bridge, subnet, gateway, internal, labels, created, e, next);
    }
}
