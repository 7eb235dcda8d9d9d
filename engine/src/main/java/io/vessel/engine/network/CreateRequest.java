package io.vessel.engine.network;

import java.util.Map;

/**
 * {@code network create}: a name, the driver (only {@code bridge} can be created), and optionally
 * the subnet and gateway ({@code --subnet}, {@code --gateway}; else a free default pool and its
 * first address), {@code --internal} (no outbound NAT) and labels.
 */
public record CreateRequest(String name, String driver, String subnet, String gateway, boolean internal,
                            Map<String, String> labels) {
    public CreateRequest {
        driver = driver == null || driver.isEmpty() ? "bridge" : driver;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    public static CreateRequest bridge(String name) {
        return new CreateRequest(name, "bridge", null, null, false, Map.of());
    }
}
