package io.vessel.engine.network;

import java.util.Locale;

/**
 * A published port, {@code -p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]}: traffic to
 * {@code hostIp:hostPort} (every local address when {@code hostIp} is 0.0.0.0) goes to the
 * container's {@code containerPort}. A host port of {@link #ANY_PORT} asks for a free one, which
 * {@link Networks#connect} chooses (as Docker does for {@code -p 80} and {@code -P}).
 */
public record PortMapping(String hostIp, int hostPort, int containerPort, String protocol) {
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
    }

    private static void checkPort(int port, String what) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is not in 1-65535");
        }
    }

    /** Parses docker's {@code -p} syntax (one port, not a range; no host port: a free one). */
    public static PortMapping parse(String spec) {
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
            return new PortMapping(hostIp, hostPort.isEmpty() ? ANY_PORT : number(hostPort, spec),
                    number(containerPort, spec), protocol);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid port mapping \"" + spec + "\": " + e.getMessage());
        }
    }

    private static int number(String s, String spec) {
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
        return hostIp + ":" + hostPort + "->" + containerPort + "/" + protocol;
    }
}
