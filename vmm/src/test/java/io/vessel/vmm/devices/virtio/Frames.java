package io.vessel.vmm.devices.virtio;

import java.nio.ByteBuffer;

/** Ethernet frames a test guest sends (ARP, IPv4 ICMP and TCP) and the checks on what comes back. */
final class Frames {
    static final int ETH_HLEN = 14;
    static final int ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_ARP = 0x0806;
    static final int PROTO_ICMP = 1, PROTO_TCP = 6;
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    private Frames() {
    }

    static byte[] ip(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    static void ethernet(ByteBuffer f, byte[] dst, byte[] src, int type) {
        f.put(dst).put(src).putShort((short) type);
    }

    /** An ARP request "who has {@code target}? tell {@code senderIp}". */
    static byte[] arpRequest(byte[] mac, byte[] senderIp, byte[] target) {
        ByteBuffer f = ByteBuffer.allocate(ETH_HLEN + 28);
        ethernet(f, BROADCAST, mac, ETHERTYPE_ARP);
        f.putShort((short) 1).putShort((short) ETHERTYPE_IPV4).put((byte) 6).put((byte) 4).putShort((short) 1);
        f.put(mac).put(senderIp).put(new byte[6]).put(target);
        return f.array();
    }

    /** The internet checksum (RFC 1071) of {@code length} bytes at {@code offset}, folded, not inverted. */
    static int sum(byte[] data, int offset, int length, long initial) {
        long s = initial;
        for (int i = 0; i + 1 < length; i += 2) {
            s += ((data[offset + i] & 0xFF) << 8) | (data[offset + i + 1] & 0xFF);
        }
        if ((length & 1) != 0) {
            s += (data[offset + length - 1] & 0xFF) << 8;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) s;
    }

    static int checksum(byte[] data, int offset, int length) {
        return ~sum(data, offset, length, 0) & 0xFFFF;
    }

    /** An IPv4 packet in an Ethernet frame, header checksum filled in; the payload's own checksum is the caller's. */
    static byte[] ipv4(byte[] dstMac, byte[] srcMac, byte[] src, byte[] dst, int protocol, byte[] payload, int id) {
        byte[] f = new byte[ETH_HLEN + 20 + payload.length];
        ByteBuffer b = ByteBuffer.wrap(f);
        ethernet(b, dstMac, srcMac, ETHERTYPE_IPV4);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) id)
                .putShort((short) 0x4000).put((byte) 64).put((byte) protocol).putShort((short) 0).put(src).put(dst);
        b.put(payload);
        int c = checksum(f, ETH_HLEN, 20);
        f[ETH_HLEN + 10] = (byte) (c >>> 8);
        f[ETH_HLEN + 11] = (byte) c;
        return f;
    }

    static byte[] icmpEcho(int type, int id, int seq, byte[] data) {
        byte[] m = new byte[8 + data.length];
        ByteBuffer.wrap(m).put((byte) type).put((byte) 0).putShort((short) 0).putShort((short) id)
                .putShort((short) seq).put(data);
        int c = checksum(m, 0, m.length);
        m[2] = (byte) (c >>> 8);
        m[3] = (byte) c;
        return m;
    }

    /** A TCP segment with its checksum over the IPv4 pseudo-header. */
    static byte[] tcp(byte[] src, byte[] dst, int srcPort, int dstPort, long seq, long ack, int flags, byte[] data) {
        byte[] t = new byte[20 + data.length];
        ByteBuffer.wrap(t).putShort((short) srcPort).putShort((short) dstPort).putInt((int) seq).putInt((int) ack)
                .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0)
                .put(data);
        int c = ~sum(t, 0, t.length, pseudoHeader(src, dst, PROTO_TCP, t.length)) & 0xFFFF;
        t[16] = (byte) (c >>> 8);
        t[17] = (byte) c;
        return t;
    }

    static long pseudoHeader(byte[] src, byte[] dst, int protocol, int length) {
        byte[] p = new byte[12];
        ByteBuffer.wrap(p).put(src).put(dst).put((byte) 0).put((byte) protocol).putShort((short) length);
        return sum(p, 0, 12, 0);
    }

    static int ethertype(byte[] f) {
        return f.length < ETH_HLEN ? -1 : ((f[12] & 0xFF) << 8) | (f[13] & 0xFF);
    }

    /** IPv4 protocol of a frame, or -1 if it is not IPv4. */
    static int ipProtocol(byte[] f) {
        return ethertype(f) == ETHERTYPE_IPV4 && f.length >= ETH_HLEN + 20 ? f[ETH_HLEN + 9] & 0xFF : -1;
    }

    static int ipHeaderLength(byte[] f) {
        return (f[ETH_HLEN] & 0x0F) * 4;
    }

    static int ipTotalLength(byte[] f) {
        return ((f[ETH_HLEN + 2] & 0xFF) << 8) | (f[ETH_HLEN + 3] & 0xFF);
    }

    static byte[] slice(byte[] f, int from, int length) {
        byte[] out = new byte[length];
        System.arraycopy(f, from, out, 0, length);
        return out;
    }
}
