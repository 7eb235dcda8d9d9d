package io.vessel.engine.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Vessel's packet rules: one nftables table (family {@code ip}) of its own, rendered whole from
 * the stored networks and replaced in one {@code nft -f} transaction, so it always matches
 * {@code networks.json} and never touches another table. Rules live in the kernel: published
 * ports keep working while the engine is down or restarting.
 *
 * <ul>
 *   <li>{@code postrouting}: masquerade what a non-internal network sends out of any other link
 *       (outbound NAT); masquerade connections from the host's loopback that a published port
 *       sends into a bridge (with {@code route_localnet} on the bridge), so the container can answer.</li>
 *   <li>{@code prerouting}/{@code output}: published ports, DNAT to the container's address, for
 *       packets to a local address (from outside and from the host itself).</li>
 *   <li>{@code forward}: no traffic between two Vessel bridges (networks are isolated).</li>
 * </ul>
 */
final class Nftables {
    private static final String NFT = "nft";
    /** The nat hook of the output path takes a number (nft 1.0 names only prerouting's dstnat): NF_IP_PRI_NAT_DST. */
    private static final int NAT_DST_PRIORITY = -100;
    private static final long TIMEOUT_SECONDS = 30;

    private final String table;

    Nftables(String table) {
        this.table = table;
    }

    String table() {
        return table;
    }

    /** Replaces the table with rules for the bridge networks whose bridge exists; deletes it when there are none. */
    void apply(List<Network> networks, Set<String> liveBridges) throws IOException {
        run(render(networks, liveBridges), "replacing table ip " + table);
    }

    /** Deletes the table, if there is one. */
    void delete() throws IOException {
        run("table ip " + table + "\ndelete table ip " + table + "\n", "deleting table ip " + table);
    }

    String render(List<Network> networks, Set<String> liveBridges) {
        List<Network> live = new ArrayList<>();
        for (Network n : networks) {
            if (n.isBridge() && liveBridges.contains(n.bridge())) {
                live.add(n);
            }
        }
        StringBuilder s = new StringBuilder();
        s.append("table ip ").append(table).append('\n');
        s.append("delete table ip ").append(table).append('\n');
        if (live.isEmpty()) {
            return s.toString();
        }
        s.append("table ip ").append(table).append(" {\n");
        s.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n")
                .append("    fib daddr type local jump published\n  }\n");
        s.append("  chain output {\n    type nat hook output priority ").append(NAT_DST_PRIORITY)
                .append("; policy accept;\n    fib daddr type local jump published\n  }\n");
        s.append("  chain published {\n");
        for (Network n : live) {
            for (Endpoint e : n.endpoints()) {
                for (PortMapping p : e.ports()) {
                    s.append("    ");
                    if (!p.hostIp().equals(PortMapping.ANY)) {
                        s.append("ip daddr ").append(p.hostIp()).append(' ');
                    }
                    s.append(p.protocol()).append(" dport ").append(p.hostPort()).append(" dnat to ")
                            .append(e.ipAddress()).append(':').append(p.containerPort())
                            .append(" comment \"").append(e.containerId(), 0, Math.min(12, e.containerId().length()))
                            .append("\"\n");
                }
            }
        }
        s.append("  }\n");
        s.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
        for (Network n : live) {
            String br = quote(n.bridge());
            if (!n.internal()) {
                s.append("    ip saddr ").append(n.subnet()).append(" oifname != ").append(br).append(" masquerade\n");
            }
            s.append("    oifname ").append(br).append(" ip saddr 127.0.0.0/8 masquerade\n");
        }
        s.append("  }\n");
        s.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
        for (Network n : live) {
            List<String> others = new ArrayList<>();
            for (Network o : live) {
                if (o != n) {
                    others.add(quote(o.bridge()));
                }
            }
            if (!others.isEmpty()) {
                s.append("    iifname ").append(quote(n.bridge())).append(" oifname { ")
                        .append(String.join(", ", others)).append(" } drop\n");
            }
            if (n.internal()) {
                s.append("    iifname ").append(quote(n.bridge())).append(" oifname != ").append(quote(n.bridge()))
                        .append(" drop\n");
            }
        }
        s.append("  }\n}\n");
        return s.toString();
    }

    private static String quote(String name) {
        return "\"" + name + "\"";
    }

    private static void run(String script, String what) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(NFT, "-f", "-").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(what + ": cannot run " + NFT + " (install nftables): " + e.getMessage(), e);
        }
        try (OutputStream in = p.getOutputStream()) {
            in.write(script.getBytes(StandardCharsets.UTF_8));
        }
        String out;
        try (InputStream o = p.getInputStream()) {
            out = new String(o.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(what + ": nft did not finish in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(what + ": nft exited with " + p.exitValue() + ": " + out);
        }
    }
}
