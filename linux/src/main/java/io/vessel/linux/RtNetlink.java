package io.vessel.linux;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Links, IPv4 addresses and routes of one network namespace over rtnetlink ({@code NETLINK_ROUTE}):
 * what {@code ip link/addr/route} do, without forking {@code ip}. Every error names the operation
 * and the link ({@code RTM_NEWLINK veth "vh1" peer "eth0": EEXIST...}).
 *
 * <p>The namespace is the one the socket was opened in: {@link #open()} for the calling thread's,
 * {@link #openIn(Path)} for a pinned one ({@link NetNamespace}).
 */
public final class RtNetlink implements AutoCloseable {
    // include/uapi/linux/rtnetlink.h
    private static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_NEWADDR = 20,
            RTM_DELADDR = 21, RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
    // include/linux/socket.h
    private static final int AF_UNSPEC = 0, AF_INET = 2;
    // include/uapi/linux/if_link.h
    private static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_MASTER = 10, IFLA_LINKINFO = 18,
            IFLA_NET_NS_FD = 28;
    private static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    // include/uapi/linux/veth.h
    private static final int VETH_INFO_PEER = 1;
    // include/uapi/linux/if.h
    public static final int IFF_UP = 0x1;
    // include/uapi/linux/if_addr.h
    private static final int IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;
    // rtmsg fields and attributes
    private static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_TABLE = 15;
    public static final int RT_TABLE_MAIN = 254;
    private static final int RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;
    /** sizeof(struct ifinfomsg), sizeof(struct ifaddrmsg), sizeof(struct rtmsg). */
    private static final int IFINFOMSG = 16, IFADDRMSG = 8, RTMSG = 12;
    /** IFNAMSIZ less the NUL: the longest interface name. */
    public static final int MAX_NAME = 15;

    private final Netlink nl;

    private RtNetlink(Netlink nl) {
        this.nl = nl;
    }

    /** rtnetlink in the calling thread's network namespace. */
    public static RtNetlink open() throws ErrnoException {
        return new RtNetlink(Netlink.open(Netlink.NETLINK_ROUTE));
    }

    /** rtnetlink in the network namespace pinned at {@code netns}, usable from any thread. */
    public static RtNetlink openIn(Path netns) throws java.io.IOException {
        return NetNamespace.call(netns, RtNetlink::open);
    }

    /** A link as the kernel lists it. {@code kind} is the driver ("bridge", "veth") or "" for a physical one. */
    public record Link(int index, String name, int flags, int mtu, String mac, int master, String kind) {
        public boolean up() {
            return (flags & IFF_UP) != 0;
        }
    }

    /** An IPv4 address on a link. */
    public record Address(int index, Inet4Address address, int prefix) {
    }

    /** An IPv4 route; {@code gateway} null for a directly connected one, {@code oif} 0 when none. */
    public record Route(Inet4Address destination, int prefix, Inet4Address gateway, int oif, int table) {
    }

    private static Netlink.Message ifinfo(int type, int flags, int family, int index, int ifFlags, int change) {
        return new Netlink.Message(type, flags).u8(family).u8(0).u16(0).u32(index).u32(ifFlags).u32(change);
    }

    private static String q(String name) {
        return "\"" + name + "\"";
    }

    private static void checkName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME || name.contains("/") || name.contains(" ")
                || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("invalid interface name " + q(name)
                    + ": 1 to " + MAX_NAME + " characters, no '/' or space");
        }
    }

    // ---- links

    /** Every link of the namespace. */
    public List<Link> links() throws ErrnoException {
        List<Link> out = new ArrayList<>();
        for (ByteBuffer m : nl.dump(ifinfo(RTM_GETLINK, 0, AF_UNSPEC, 0, 0, 0), "RTM_GETLINK dump")) {
            out.add(parseLink(m));
        }
        return out;
    }

    /** The link named {@code name}, if there is one. */
    public Optional<Link> link(String name) throws ErrnoException {
        checkName(name);
        try {
            List<ByteBuffer> r = nl.get(ifinfo(RTM_GETLINK, 0, AF_UNSPEC, 0, 0, 0).attrString(IFLA_IFNAME, name),
                    "RTM_GETLINK " + q(name));
            return r.isEmpty() ? Optional.empty() : Optional.of(parseLink(r.getFirst()));
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The index of link {@code name}; ENODEV naming it when there is none. */
    public int index(String name) throws ErrnoException {
        return link(name).orElseThrow(() -> new ErrnoException("link " + q(name), Errno.ENODEV)).index();
    }

    private static Link parseLink(ByteBuffer m) {
        int index = m.getInt(4);
        int flags = m.getInt(8);
        String name = "";
        String mac = "";
        String kind = "";
        int mtu = 0;
        int master = 0;
        for (Netlink.Attribute a : Netlink.attributes(m, IFINFOMSG)) {
            switch (a.type()) {
                case IFLA_IFNAME -> name = a.string();
                case IFLA_MTU -> mtu = a.u32();
                case IFLA_MASTER -> master = a.u32();
                case IFLA_ADDRESS -> mac = HexFormat.ofDelimiter(":").formatHex(a.bytes());
                case IFLA_LINKINFO -> {
                    for (Netlink.Attribute i : Netlink.attributes(a.value(), 0)) {
                        if (i.type() == IFLA_INFO_KIND) {
                            kind = i.string();
                        }
                    }
                }
                default -> {
                }
            }
        }
        return new Link(index, name, flags, mtu, mac, master, kind);
    }

    /** A Linux bridge named {@code name} (down, no address); EEXIST if the name is taken. */
    public void createBridge(String name) throws ErrnoException {
        checkName(name);
        Netlink.Message m = ifinfo(RTM_NEWLINK, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, AF_UNSPEC, 0, 0, 0)
                .attrString(IFLA_IFNAME, name)
                .nest(IFLA_LINKINFO).attrString(IFLA_INFO_KIND, "bridge").end();
        nl.ack(m, "RTM_NEWLINK bridge " + q(name));
    }

    /**
     * A veth pair: {@code name} here and {@code peer} created directly in the network namespace open
     * at {@code peerNetns} (null: here too), with {@code peerMac} (null: random) — both ends down.
     */
    public void createVeth(String name, String peer, Fd peerNetns, byte[] peerMac) throws ErrnoException {
        checkName(name);
        checkName(peer);
        if (peerMac != null && peerMac.length != 6) {
            throw new IllegalArgumentException("MAC address of " + q(peer) + " must have 6 bytes, not " + peerMac.length);
        }
        Netlink.Message m = ifinfo(RTM_NEWLINK, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, AF_UNSPEC, 0, 0, 0)
                .attrString(IFLA_IFNAME, name)
                .nest(IFLA_LINKINFO).attrString(IFLA_INFO_KIND, "veth")
                .nest(IFLA_INFO_DATA).nest(VETH_INFO_PEER)
                .u8(AF_UNSPEC).u8(0).u16(0).u32(0).u32(0).u32(0) // the peer's own ifinfomsg
                .attrString(IFLA_IFNAME, peer);
        if (peerNetns != null) {
            m.attrU32(IFLA_NET_NS_FD, peerNetns.num());
        }
        if (peerMac != null) {
            m.attr(IFLA_ADDRESS, peerMac);
        }
        m.end().end().end();
        nl.ack(m, "RTM_NEWLINK veth " + q(name) + " peer " + q(peer) + (peerNetns != null ? " in another netns" : ""));
    }

    private void change(String name, String what, Netlink.Message m) throws ErrnoException {
        nl.ack(m, "RTM_NEWLINK " + q(name) + " " + what);
    }

    /** Sets the link up or down. */
    public void setUp(String name, boolean up) throws ErrnoException {
        change(name, up ? "up" : "down",
                ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), up ? IFF_UP : 0, IFF_UP));
    }

    public void setMtu(String name, int mtu) throws ErrnoException {
        change(name, "mtu " + mtu, ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), 0, 0).attrU32(IFLA_MTU, mtu));
    }

    public void setMac(String name, byte[] mac) throws ErrnoException {
        change(name, "address " + HexFormat.ofDelimiter(":").formatHex(mac),
                ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), 0, 0).attr(IFLA_ADDRESS, mac));
    }

    /** Enslaves the link to {@code bridge}; null releases it from its master. */
    public void setMaster(String name, String bridge) throws ErrnoException {
        int master = bridge == null ? 0 : index(bridge);
        change(name, "master " + (bridge == null ? "none" : q(bridge)),
                ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), 0, 0).attrU32(IFLA_MASTER, master));
    }

    public void rename(String name, String newName) throws ErrnoException {
        checkName(newName);
        change(name, "name " + q(newName),
                ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), 0, 0).attrString(IFLA_IFNAME, newName));
    }

    /** Moves the link into the network namespace open at {@code netns}. */
    public void moveToNetns(String name, Fd netns) throws ErrnoException {
        change(name, "netns " + netns,
                ifinfo(RTM_NEWLINK, 0, AF_UNSPEC, index(name), 0, 0).attrU32(IFLA_NET_NS_FD, netns.num()));
    }

    /** Deletes the link (a veth's peer goes with it); ENODEV naming it if there is none. */
    public void deleteLink(String name) throws ErrnoException {
        checkName(name);
        nl.ack(ifinfo(RTM_DELLINK, 0, AF_UNSPEC, 0, 0, 0).attrString(IFLA_IFNAME, name), "RTM_DELLINK " + q(name));
    }

    /** Deletes the link if it exists; says whether it did. */
    public boolean deleteLinkIfExists(String name) throws ErrnoException {
        try {
            deleteLink(name);
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) {
                return false;
            }
            throw e;
        }
    }

    // ---- addresses

    private static Netlink.Message ifaddr(int type, int flags, int prefix, int scope, int index) {
        return new Netlink.Message(type, flags).u8(AF_INET).u8(prefix).u8(0).u8(scope).u32(index);
    }

    /** Adds {@code address/prefix} (with its broadcast address) to the link; EEXIST if it has it. */
    public void addAddress(String name, Inet4Address address, int prefix) throws ErrnoException {
        checkPrefix(prefix);
        byte[] a = address.getAddress();
        Netlink.Message m = ifaddr(RTM_NEWADDR, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, prefix, RT_SCOPE_UNIVERSE,
                index(name)).attr(IFA_LOCAL, a).attr(IFA_ADDRESS, a);
        if (prefix < 31) {
            m.attr(IFA_BROADCAST, broadcast(a, prefix));
        }
        nl.ack(m, "RTM_NEWADDR " + address.getHostAddress() + "/" + prefix + " on " + q(name));
    }

    public void deleteAddress(String name, Inet4Address address, int prefix) throws ErrnoException {
        checkPrefix(prefix);
        byte[] a = address.getAddress();
        nl.ack(ifaddr(RTM_DELADDR, 0, prefix, RT_SCOPE_UNIVERSE, index(name)).attr(IFA_LOCAL, a).attr(IFA_ADDRESS, a),
                "RTM_DELADDR " + address.getHostAddress() + "/" + prefix + " on " + q(name));
    }

    /** Every IPv4 address of the namespace. */
    public List<Address> addresses() throws ErrnoException {
        List<Address> out = new ArrayList<>();
        for (ByteBuffer m : nl.dump(ifaddr(RTM_GETADDR, 0, 0, 0, 0), "RTM_GETADDR dump")) {
            if (Byte.toUnsignedInt(m.get(0)) != AF_INET) {
                continue;
            }
            int prefix = Byte.toUnsignedInt(m.get(1));
            int index = m.getInt(4);
            Inet4Address local = null;
            for (Netlink.Attribute a : Netlink.attributes(m, IFADDRMSG)) {
                if (a.type() == IFA_LOCAL || (a.type() == IFA_ADDRESS && local == null)) {
                    local = inet4(a.bytes());
                }
            }
            if (local != null) {
                out.add(new Address(index, local, prefix));
            }
        }
        return out;
    }

    // ---- routes

    private static Netlink.Message rtmsg(int type, int flags, int dstLen, int protocol, int scope, int rtType) {
        return new Netlink.Message(type, flags).u8(AF_INET).u8(dstLen).u8(0).u8(0).u8(RT_TABLE_MAIN)
                .u8(protocol).u8(scope).u8(rtType).u32(0);
    }

    /**
     * Adds a route to {@code destination/prefix} (0.0.0.0/0: the default route) in the main table,
     * through {@code gateway} (null: directly on the link) out of link {@code dev}.
     */
    public void addRoute(Inet4Address destination, int prefix, Inet4Address gateway, String dev) throws ErrnoException {
        nl.ack(route(RTM_NEWROUTE, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, destination, prefix, gateway, dev),
                "RTM_NEWROUTE " + describe(destination, prefix, gateway, dev));
    }

    public void deleteRoute(Inet4Address destination, int prefix, Inet4Address gateway, String dev)
            throws ErrnoException {
        nl.ack(route(RTM_DELROUTE, 0, destination, prefix, gateway, dev),
                "RTM_DELROUTE " + describe(destination, prefix, gateway, dev));
    }

    private Netlink.Message route(int type, int flags, Inet4Address destination, int prefix, Inet4Address gateway,
                                  String dev) throws ErrnoException {
        checkPrefix(prefix);
        Netlink.Message m = rtmsg(type, flags, prefix, RTPROT_BOOT, gateway == null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
                RTN_UNICAST);
        if (prefix > 0) {
            m.attr(RTA_DST, destination.getAddress());
        }
        if (gateway != null) {
            m.attr(RTA_GATEWAY, gateway.getAddress());
        }
        if (dev != null) {
            m.attrU32(RTA_OIF, index(dev));
        }
        return m;
    }

    private static String describe(Inet4Address destination, int prefix, Inet4Address gateway, String dev) {
        return (prefix == 0 ? "default" : destination.getHostAddress() + "/" + prefix)
                + (gateway != null ? " via " + gateway.getHostAddress() : "") + (dev != null ? " dev " + q(dev) : "");
    }

    /** Every IPv4 unicast route of every table. */
    public List<Route> routes() throws ErrnoException {
        List<Route> out = new ArrayList<>();
        for (ByteBuffer m : nl.dump(rtmsg(RTM_GETROUTE, 0, 0, 0, 0, 0), "RTM_GETROUTE dump")) {
            if (Byte.toUnsignedInt(m.get(0)) != AF_INET || Byte.toUnsignedInt(m.get(7)) != RTN_UNICAST) {
                continue;
            }
            int prefix = Byte.toUnsignedInt(m.get(1));
            int table = Byte.toUnsignedInt(m.get(4));
            Inet4Address dst = inet4(new byte[4]);
            Inet4Address gw = null;
            int oif = 0;
            for (Netlink.Attribute a : Netlink.attributes(m, RTMSG)) {
                switch (a.type()) {
                    case RTA_DST -> dst = inet4(a.bytes());
                    case RTA_GATEWAY -> gw = inet4(a.bytes());
                    case RTA_OIF -> oif = a.u32();
                    case RTA_TABLE -> table = a.u32();
                    default -> {
                    }
                }
            }
            out.add(new Route(dst, prefix, gw, oif, table));
        }
        return out;
    }

    private static void checkPrefix(int prefix) {
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 0 to 32, not " + prefix);
        }
    }

    private static byte[] broadcast(byte[] a, int prefix) {
        int v = ByteBuffer.wrap(a).getInt() | (int) (0xffffffffL >>> prefix);
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    private static Inet4Address inet4(byte[] b) {
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + b.length + " bytes", e);
        }
    }

    @Override
    public void close() {
        nl.close();
    }
}
