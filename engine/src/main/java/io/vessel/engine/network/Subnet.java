package io.vessel.engine.network;

/**
 * An IPv4 subnet, {@code a.b.c.d/n} with no host bits set; addresses are ints in network order
 * ({@code 10.0.0.1} is {@code 0x0a000001}).
 */
public record Subnet(int network, int prefix) {
    public Subnet {
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("subnet prefix length must be 0 to 32, not " + prefix);
        }
        if ((network & ~mask(prefix)) != 0) {
            throw new IllegalArgumentException("subnet " + format(network) + "/" + prefix + " has host bits set: did you mean "
                    + format(network & mask(prefix)) + "/" + prefix + "?");
        }
    }

    /** Parses {@code a.b.c.d/n}, with an error naming {@code what} (e.g. "--subnet") and the text. */
    public static Subnet parse(String text, String what) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException(what + " " + text + " is not a subnet in CIDR form (like 172.20.0.0/16)");
        }
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " " + text + ": the prefix length is not a number");
        }
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException(what + " " + text + ": the prefix length must be 0 to 32");
        }
        int address = parseAddress(text.substring(0, slash), what);
        try {
            return new Subnet(address, prefix);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " " + e.getMessage());
        }
    }

    static int mask(int prefix) {
        return prefix == 0 ? 0 : (int) (0xffffffffL << (32 - prefix));
    }

    public int broadcast() {
        return network | ~mask(prefix);
    }

    public boolean contains(int address) {
        return (address & mask(prefix)) == network;
    }

    public boolean overlaps(Subnet other) {
        int common = Math.min(prefix, other.prefix);
        return (network & mask(common)) == (other.network & mask(common));
    }

    /** The {@code n}th address of the subnet (1: the first host). */
    public int host(int n) {
        return network + n;
    }

    /** Addresses a host may have: all but the network and broadcast addresses (both kept for /31 and /32). */
    public long usableCount() {
        long all = 1L << (32 - prefix);
        return prefix >= 31 ? all : all - 2;
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefix;
    }

    /** Dotted-quad to int; the error names {@code what} and the text. */
    public static int parseAddress(String text, String what) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException(what + " " + text + " is not an IPv4 address");
        }
        int v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException(what + " " + text + " is not an IPv4 address");
            }
            int b = Integer.parseInt(p);
            if (b > 255) {
                throw new IllegalArgumentException(what + " " + text + " is not an IPv4 address (" + p + " > 255)");
            }
            v = (v << 8) | b;
        }
        return v;
    }

    public static String format(int address) {
        return ((address >>> 24) & 255) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "."
                + (address & 255);
    }

    static java.net.Inet4Address inet(int address) {
        try {
            return (java.net.Inet4Address) java.net.InetAddress.getByAddress(
                    new byte[]{(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static int fromInet(java.net.Inet4Address a) {
        byte[] b = a.getAddress();
        return ((b[0] & 255) << 24) | ((b[1] & 255) << 16) | ((b[2] & 255) << 8) | (b[3] & 255);
    }
}
