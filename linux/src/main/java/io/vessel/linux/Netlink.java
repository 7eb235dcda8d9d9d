package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.vessel.linux.Native.C_INT;

/**
 * A netlink socket speaking to the kernel: request/acknowledge and request/dump exchanges, with
 * the kernel's error replies (NLMSGERR, and the extended-ack text when the kernel sends one)
 * turned into {@link NetlinkException}s that name the request. The socket belongs to the network
 * namespace of the thread that opened it, whatever thread uses it afterwards.
 *
 * <p>Messages are built with {@link Message}: a header, a fixed family struct, then attributes
 * (nested ones too), all in the host's byte order and 4-byte alignment, as in
 * {@code include/uapi/linux/netlink.h}.
 */
public final class Netlink implements AutoCloseable {
    // include/linux/socket.h and include/uapi/linux/netlink.h
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOL_NETLINK = 270;
    public static final int NETLINK_ROUTE = 0;
    private static final int NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11;
    public static final int NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_DUMP = 0x300,
            NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    /** In an NLMSG_ERROR reply's flags: extended-ack attributes follow the echoed header. */
    private static final int NLM_F_ACK_TLVS = 0x200;
    private static final int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    private static final int NLMSGERR_ATTR_MSG = 1;
    /** struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32. */
    public static final int HEADER = 16;
    /** Receive buffer: large enough for any single rtnetlink message of a dump (the kernel fills up to it). */
    private static final int RECEIVE_BUFFER = 64 * 1024;

    private final Fd fd;
    private final int protocol;
    private int seq;

    private Netlink(Fd fd, int protocol) {
        this.fd = fd;
        this.protocol = protocol;
    }

    private static final Native.Function SOCKET = Native.function("socket");
    private static final Native.Function SETSOCKOPT = Native.function("setsockopt");
    private static final Native.Function SEND = Native.function("send");
    private static final Native.Function RECV = Native.function("recv");

    /** A netlink socket of {@code protocol} (e.g. {@link #NETLINK_ROUTE}) in the calling thread's network namespace. */
    public static Netlink open(int protocol) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int s = (int) SOCKET.call(errno, AF_NETLINK, SOCK_RAW | Sockets.SOCK_CLOEXEC, protocol);
            Native.check(s, errno, () -> "socket(AF_NETLINK, SOCK_RAW, " + protocol + ")");
            Fd fd = Fd.adopt(s);
            MemorySegment one = arena.allocateFrom(C_INT, 1);
            // Optional refinements: error replies without the echoed request, and with the kernel's text.
            int ignored = (int) SETSOCKOPT.call(errno, s, SOL_NETLINK, NETLINK_CAP_ACK, Native.ptr(one), 4);
            ignored = (int) SETSOCKOPT.call(errno, s, SOL_NETLINK, NETLINK_EXT_ACK, Native.ptr(one), 4);
            return new Netlink(fd, protocol);
        }
    }

    /** Sends a request asking for an acknowledgement and waits for it; a kernel error becomes an exception naming {@code what}. */
    public synchronized void ack(Message request, String what) throws ErrnoException {
        int s = send(request, NLM_F_REQUEST | NLM_F_ACK, what);
        receiveUntil(s, what, false);
    }

    /** Sends a dump request and returns each reply message's payload (after the netlink header). */
    public synchronized List<ByteBuffer> dump(Message request, String what) throws ErrnoException {
        int s = send(request, NLM_F_REQUEST | NLM_F_DUMP, what);
        return receiveUntil(s, what, true);
    }

    /** Sends a request (no dump) and returns the reply messages' payloads, e.g. a GET for one object. */
    public synchronized List<ByteBuffer> get(Message request, String what) throws ErrnoException {
        int s = send(request, NLM_F_REQUEST, what);
        return receiveUntil(s, what, false);
    }

    private int send(Message request, int flags, String what) throws ErrnoException {
        int s = ++seq;
        byte[] bytes = request.finish(flags, s);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
            long r;
            do {
                r = SEND.call(errno, fd.num(), Native.ptr(buf), (long) bytes.length, 0);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(r, errno, () -> "netlink send (" + what + ")");
        }
        return s;
    }

    private List<ByteBuffer> receiveUntil(int s, String what, boolean multi) throws ErrnoException {
        List<ByteBuffer> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocate(RECEIVE_BUFFER);
            while (true) {
                long n;
                do {
                    n = RECV.call(errno, fd.num(), Native.ptr(buf), (long) RECEIVE_BUFFER, 0);
                } while (n < 0 && Native.errno(errno) == Errno.EINTR);
                Native.check(n, errno, () -> "netlink receive (" + what + ")");
                ByteBuffer b = ByteBuffer.wrap(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE))
                        .order(ByteOrder.nativeOrder());
                while (b.remaining() >= HEADER) {
                    int start = b.position();
                    int len = b.getInt(start);
                    int type = Short.toUnsignedInt(b.getShort(start + 4));
                    int flags = Short.toUnsignedInt(b.getShort(start + 6));
                    int mseq = b.getInt(start + 8);
                    if (len < HEADER || start + len > b.limit()) {
                        throw new ErrnoException("netlink reply to " + what + ": malformed message length " + len,
                                Errno.EIO);
                    }
                    b.position(Math.min(b.limit(), start + align(len)));
                    if (mseq != s) {
                        continue; // a late reply to an earlier request
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        int error = b.getInt(start + HEADER);
                        if (error == 0) {
                            return out; // the acknowledgement
                        }
                        throw new NetlinkException(what, -error, extendedAck(b, start, len, flags));
                    }
                    out.add(b.slice(start + HEADER, len - HEADER).order(ByteOrder.nativeOrder()));
                    if (!multi && (flags & NLM_F_MULTI) == 0) {
                        return out;
                    }
                }
            }
        }
    }

    /** The NLMSGERR_ATTR_MSG text of an error reply, or null. */
    private static String extendedAck(ByteBuffer b, int start, int len, int flags) {
        if ((flags & NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        // error i32, then the echoed request header (only the header: NETLINK_CAP_ACK), then attributes
        int p = start + HEADER + 4 + HEADER;
        int end = start + len;
        while (p + 4 <= end) {
            int alen = Short.toUnsignedInt(b.getShort(p));
            int atype = Short.toUnsignedInt(b.getShort(p + 2));
            if (alen < 4 || p + alen > end) {
                break;
            }
            if (atype == NLMSGERR_ATTR_MSG) {
                byte[] text = new byte[alen - 4];
                b.get(p + 4, text);
                int nul = 0;
                while (nul < text.length && text[nul] != 0) {
                    nul++;
                }
                return new String(text, 0, nul, StandardCharsets.UTF_8);
            }
            p += align(alen);
        }
        return null;
    }

    static int align(int n) {
        return (n + 3) & ~3;
    }

    public int protocol() {
        return protocol;
    }

    @Override
    public void close() {
        fd.close();
    }

    /**
     * A netlink message under construction: type and extra flags, a family header written by the
     * caller, then attributes. {@link #nest}/{@link #end} bracket nested attributes.
     */
    public static final class Message {
        private final int type;
        private final int extraFlags;
        private final ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
        private final int[] nests = new int[8];
        private int depth;

        public Message(int type, int extraFlags) {
            this.type = type;
            this.extraFlags = extraFlags;
            buf.position(HEADER);
        }

        /** The family header's bytes (ifinfomsg, ifaddrmsg, rtmsg...), written with these putters. */
        public Message u8(int v) {
            buf.put((byte) v);
            return this;
        }

        public Message u16(int v) {
            buf.putShort((short) v);
            return this;
        }

        public Message u32(int v) {
            buf.putInt(v);
            return this;
        }

        public Message attr(int attrType, byte[] value) {
            buf.putShort((short) (4 + value.length)).putShort((short) attrType).put(value);
            pad();
            return this;
        }

        public Message attrU32(int attrType, int value) {
            return attr(attrType, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array());
        }

        /** A NUL-terminated string attribute. */
        public Message attrString(int attrType, String value) {
            byte[] s = value.getBytes(StandardCharsets.UTF_8);
            return attr(attrType, Arrays.copyOf(s, s.length + 1));
        }

        public Message nest(int attrType) {
            nests[depth++] = buf.position();
            buf.putShort((short) 0).putShort((short) attrType);
            return this;
        }

        public Message end() {
            int at = nests[--depth];
            buf.putShort(at, (short) (buf.position() - at));
            return this;
        }

        private void pad() {
            while ((buf.position() & 3) != 0) {
                buf.put((byte) 0);
            }
        }

        byte[] finish(int flags, int seq) {
            if (depth != 0) {
                throw new IllegalStateException("netlink message has " + depth + " unclosed nested attributes");
            }
            pad();
            int len = buf.position();
            buf.putInt(0, len).putShort(4, (short) type).putShort(6, (short) (flags | extraFlags)).putInt(8, seq)
                    .putInt(12, 0);
            return Arrays.copyOf(buf.array(), len);
        }
    }

    /** Walks the attributes of a reply from {@code offset} (after the family header) to the end of {@code payload}. */
    public static List<Attribute> attributes(ByteBuffer payload, int offset) {
        List<Attribute> out = new ArrayList<>();
        int p = offset;
        while (p + 4 <= payload.limit()) {
            int len = Short.toUnsignedInt(payload.getShort(p));
            int type = Short.toUnsignedInt(payload.getShort(p + 2)) & 0x3fff; // without NLA_F_NESTED / NET_BYTEORDER
            if (len < 4 || p + len > payload.limit()) {
                break;
            }
            out.add(new Attribute(type, payload.slice(p + 4, len - 4).order(ByteOrder.nativeOrder())));
            p += align(len);
        }
        return out;
    }

    /** One attribute of a reply: its type and value bytes. */
    public record Attribute(int type, ByteBuffer value) {
        public int u32() {
            return value.getInt(0);
        }

        public byte[] bytes() {
            byte[] b = new byte[value.limit()];
            value.get(0, b);
            return b;
        }

        /** A NUL-terminated string value. */
        public String string() {
            byte[] b = bytes();
            int n = 0;
            while (n < b.length && b[n] != 0) {
                n++;
            }
            return new String(b, 0, n, StandardCharsets.UTF_8);
        }
    }
}
