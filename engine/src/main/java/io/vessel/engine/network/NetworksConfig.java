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

    /**
     * The engine's ({@link #of}) with the host-wide names taken from the environment when set:
     * {@code VESSEL_BRIDGE} (the default bridge's link, dockerd's {@code --bridge}),
     * {@code VESSEL_NFT_TABLE} and {@code VESSEL_BIP} (the default subnet, dockerd's {@code --bip}).
     * Two engines on one host with different roots need different names, or their rules would
     * replace each other's: with {@code perRoot} (an engine on a root other than the standard
     * one) the unset names derive from the root ({@code vs} and {@code vessel_} with 10 hex digits
     * of its path's SHA-256).
     */
    public static NetworksConfig fromEnvironment(Path root, Path runDir, boolean perRoot) {
        String bridge = System.getenv("VESSEL_BRIDGE");
        String table = System.getenv("VESSEL_NFT_TABLE");
        String bip = System.getenv("VESSEL_BIP");
        String tag = rootTag(root);
        return new NetworksConfig(root.resolve("networks"), runDir.resolve("netns"),
                bridge != null && !bridge.isEmpty() ? bridge : perRoot ? "vs" + tag : DEFAULT_BRIDGE,
                table != null && !table.isEmpty() ? table : perRoot ? "vessel_" + tag : DEFAULT_TABLE,
                bip == null || bip.isEmpty() ? null : bip);
    }

    /** Bridge names are at most 15 bytes (IFNAMSIZ - 1): "vs" and 10 hex digits of the root's hash. */
    private static final int ROOT_TAG_HEX = 10;

    private static String rootTag(Path root) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(root.toAbsolutePath().normalize().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(h).substring(0, ROOT_TAG_HEX);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The engine's: state under {@code root/networks}, namespaces under {@code runDir/netns}. */
    public static NetworksConfig of(Path root, Path runDir) {
        return new NetworksConfig(root.resolve("networks"), runDir.resolve("netns"), DEFAULT_BRIDGE, DEFAULT_TABLE, null);
    }
}
