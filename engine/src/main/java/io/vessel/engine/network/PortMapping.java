package io.vessel.engine.network;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A published port, {@code -p [HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/udp]}: traffic to
 * {@code hostIp:hostPort} (every local address when {@code hostIp} is 0.0.0.0) goes to the
 * container's {@code containerPort}. A host port of {@link #ANY_PORT} asks for a free one, and a
 * {@code hostPortLast} above {@code hostPort} for a free one in {@code hostPort..hostPortLast};
 * {@link Networks#connect} chooses it (as Docker does for {@code -p 80}, {@code -P} and
 * {@code -p 8000-8010:80}). Once chosen, a mapping has one host port ({@code hostPortLast} 0).
 */
public record PortMapping(String hostIp, int hostPort, int containerPort, String protocol, int hostPortLast) {
    public static final String ANY = "0.0.0.0";
    /** The host port meaning "any free port, chosen when the container is connected". */
    public static final int ANY_PORT = 0;

    public PortMapping {
        Subnet.parseAddress(hostIp, "host IP");
        if (hostPort != ANY_PORT) {
            checkPort(hostPort, "host port");
        }
        checkPort(containerPort, "container port");
        if (!protocol.equals("tcp") && !protocol.equals("udp")) {
            throw new IllegalArgumentException("port protocol must be tcp or udp, not \"" + protocol + "\"");
        }
        if (hostPortLast != 0) {
            checkPort(hostPortLast, "last host port");
            if (hostPort == ANY_PORT || hostPortLast <= hostPort) {
                throw new IllegalArgumentException("host port range " + hostPort + "-" + hostPortLast
                        + " must run from a lower to a higher port");
            }
        }
    }

    /** One host port, or {@link #ANY_PORT}. */
    public PortMapping(String hostIp, int hostPort, int containerPort, String protocol) {
        this(hostIp, hostPort, containerPort, protocol, 0);
    }

    /** Whether the host port is still to be chosen from a range. */
    public boolean isRange() {
        return hostPortLast != 0;
    }

    private static void checkPort(int port, String what) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is not in 1-65535");
        }
    }

    /**
     * Parses docker's {@code -p} syntax as one mapping; a spec that stands for several (a range of
     * container ports) is refused here: see {@link #parseAll}.
     */
    public static PortMapping parse(String spec) {
        List<PortMapping> all = parseAll(spec);
        if (all.size() != 1) {
            throw new IllegalArgumentException("invalid port mapping \"" + spec + "\": it publishes " + all.size()
                    + " ports, one was expected");
        }
        return all.getFirst();
    }

    /**
     * Parses docker's {@code -p} syntax, ranges included: {@code 80-81} publishes both ports on free
     * host ports, {@code 8000-8001:80-81} pairs them in order (the two ranges must be as long), and
     * {@code 8000-8010:80} publishes port 80 on a free host port of the range.
     */
    public static List<PortMapping> parseAll(String spec) {
        String s = spec.strip();
        String protocol = "tcp";
        int slash = s.lastIndexOf('/');
        if (slash >= 0) {
            protocol = s.substring(slash + 1).toLowerCase(Locale.ROOT);
            s = s.substring(0, slash);
        }
        String[] parts = s.split(":", -1);
        String hostIp = ANY;
        String hostPort;
        String containerPort;
        switch (parts.length) {
            case 1 -> {
                hostPort = "";
                containerPort = parts[0];
            }
            case 2 -> {
                hostPort = parts[0];
                containerPort = parts[1];
            }
            case 3 -> {
                hostIp = parts[0].isEmpty() ? ANY : parts[0];
                hostPort = parts[1];
                containerPort = parts[2];
            }
            default -> throw new IllegalArgumentException("invalid port mapping \"" + spec
                    + "\": expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]");
        }
        try {
            int[] container = range(containerPort);
            int[] host = hostPort.isEmpty() ? new int[] {ANY_PORT, ANY_PORT} : range(hostPort);
            int count = container[1] - container[0] + 1;
            List<PortMapping> out = new ArrayList<>();
            if (count == 1) {
                out.add(new PortMapping(hostIp, host[0], container[0], protocol, host[1] > host[0] ? host[1] : 0));
            } else if (host[0] == ANY_PORT) {
                for (int i = 0; i < count; i++) {
                    out.add(new PortMapping(hostIp, ANY_PORT, container[0] + i, protocol));
                }
            } else if (host[1] - host[0] + 1 == count) {
                for (int i = 0; i < count; i++) {
                    out.add(new PortMapping(hostIp, host[0] + i, container[0] + i, protocol));
                }
            } else {
                throw new IllegalArgumentException("the host range " + hostPort + " and the container range "
                        + containerPort + " must hold as many ports");
            }
            return out;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid port mapping \"" + spec + "\": " + e.getMessage());
        }
    }

    /** {@code PORT} or {@code FIRST-LAST}, as {first, last}. */
    private static int[] range(String s) {
        int dash = s.indexOf('-');
        if (dash < 0) {
            int p = number(s);
            return new int[] {p, p};
        }
        int first = number(s.substring(0, dash));
        int last = number(s.substring(dash + 1));
        if (last < first) {
            throw new IllegalArgumentException("port range " + s + " runs backwards");
        }
        return new int[] {first, last};
    }

    private static int number(String s) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("\"" + s + "\" is not a port number");
        }
        return Integer.parseInt(s);
    }

    /** Whether the two would take the same host port (0.0.0.0 takes it on every address). */
    public boolean clashes(PortMapping o) {
        return hostPort != ANY_PORT && hostPort == o.hostPort && protocol.equals(o.protocol)
                && (hostIp.equals(o.hostIp) || hostIp.equals(ANY) || o.hostIp.equals(ANY));
    }

    /** This mapping with the host port chosen. */
    public PortMapping withHostPort(int port) {
        return new PortMapping(hostIp, port, containerPort, protocol);
    }

    @Override
    public String toString() {
        return hostIp + ":" + hostPort + (isRange() ? "-" + hostPortLast : "") + "->" + containerPort + "/" + protocol;
    }
}
