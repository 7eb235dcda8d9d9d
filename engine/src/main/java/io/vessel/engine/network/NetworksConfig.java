package io.vessel.engine.network;

import java.nio.file.Path;

/**
 * Where networking keeps its state and which host names it uses.
 *
 * @param stateDir      persistent: {@code networks.json} and each container's hosts and resolv.conf
 *                      ({@code <engine root>/networks})
 * @param netnsDir      where containers' network namespaces are pinned ({@code /run/vessel/netns})
 * @param defaultBridge the Linux bridge of the default {@code bridge} network
 * @param nftTable      the nftables table (family {@code ip}) holding all of Vessel's rules
 * @param defaultSubnet the default network's subnet ({@code --bip}), or null for the first free pool
 */
public record NetworksConfig(Path stateDir, Path netnsDir, String defaultBridge, String nftTable, String defaultSubnet) {
    public static final String DEFAULT_BRIDGE = "vessel0";
    public static final String DEFAULT_TABLE = "vessel";

    public NetworksConfig {
        stateDir = stateDir.toAbsolutePath().normalize();
        netnsDir = netnsDir.toAbsolutePath().normalize();
        if (!nftTable.matches("[a-zA-Z][a-zA-Z0-9_]*")) {
            throw new IllegalArgumentException("nftables table name \"" + nftTable + "\" must be letters, digits and _");
        }
    }

    /** The engine's: state under {@code root/networks}, namespaces under {@code runDir/netns}. */
    public static NetworksConfig of(Path root, Path runDir) {
        return new NetworksConfig(root.resolve("networks"), runDir.resolve("netns"), DEFAULT_BRIDGE, DEFAULT_TABLE, null);
    }
}
