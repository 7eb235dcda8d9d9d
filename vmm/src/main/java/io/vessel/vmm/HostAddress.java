package io.vessel.vmm;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The IPv4 address and prefix length the host end of a tap Vessel creates is given
 * ({@code addr=10.0.0.1/24}), so that the kernel answers the guest and routes its subnet
 * without a separate {@code ip addr add}. It goes away with the tap.
 */
public record HostAddress(Inet4Address address, int prefix) {
    /** Dotted quad, a slash, a prefix length: no host names are looked up. */
    private static final Pattern CIDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");
    private static final int MAX_PREFIX = 32;

    public HostAddress {
        Objects.requireNonNull(address, "address");
        if (prefix < 1 || prefix > MAX_PREFIX) {
            throw new IllegalArgumentException("prefix length " + prefix + " of " + address.getHostAddress()
                    + " is not 1 to " + MAX_PREFIX);
        }
    }

    /** {@code A.B.C.D/N}, e.g. {@code 10.77.0.1/24}. */
    public static HostAddress parse(String cidr) {
        var m = CIDR.matcher(cidr == null ? "" : cidr);
        if (!m.matches()) {
            throw new IllegalArgumentException("\"" + cidr + "\" is not an IPv4 address with a prefix length (A.B.C.D/N)");
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            int octet = Integer.parseInt(m.group(i + 1));
            if (octet > 255) {
                throw new IllegalArgumentException("\"" + cidr + "\": " + octet + " is not an address byte (0 to 255)");
            }
            bytes[i] = (byte) octet;
        }
        try {
            return new HostAddress((Inet4Address) InetAddress.getByAddress(bytes), Integer.parseInt(m.group(5)));
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are always an IPv4 address", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + cidr + "\": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return address.getHostAddress() + "/" + prefix;
    }
}
