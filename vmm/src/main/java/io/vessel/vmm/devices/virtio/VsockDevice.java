package io.vessel.vmm.devices.virtio;

import io.vessel.linux.Epoll;
import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.NonBlockingIo;
import io.vessel.linux.Sockets;
import io.vessel.vmm.memory.GuestMemoryException;
import io.vessel.vmm.ratelimit.RefillTimer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * virtio-vsock (virtio 1.2, 5.10) with its host side on Unix sockets, as Firecracker's hybrid
 * vsock: stream connections between the guest (its CID) and the host (CID 2).
 * <ul>
 * <li>Host-initiated: a host process connects to the Unix socket at {@code udsPath}, writes
 *     {@code CONNECT <port>\n}, and once the guest accepts reads {@code OK <host port>\n}; then the
 *     stream carries the connection's bytes. When the attempt fails, the process reads instead one
 *     line {@code ERROR <why>\n} and the stream closes: a malformed CONNECT line, no driver ready,
 *     the guest refusing (RST: nothing listens on the port), or the guest not answering within the
 *     connect timeout (then the guest also gets RST, so a late accept does not linger).</li>
 * <li>Guest-initiated: a guest connection to host port P becomes a connection to the Unix socket
 *     {@code udsPath_P}; if nothing listens there the guest gets RST.</li>
 * </ul>
 * Each connection keeps virtio-vsock's credit accounting: the device never sends the guest more
 * than the guest's {@code buf_alloc - (rx_cnt - fwd_cnt)}, buffers at most {@link #BUF_ALLOC}
 * bytes of guest data the host stream has not taken yet (a guest that sends beyond its credit is
 * reset), and tells the guest its own {@code fwd_cnt} in every packet and in CREDIT_UPDATEs.
 *
 * <p>The Unix sockets sit in an epoll set of the device's own, registered edge-triggered: the VM's
 * event loop watches {@link #hostFd()} (readable while any socket has an event) and calls
 * {@link #onHostEvents()}. Queue notifications are served synchronously. A malformed packet from
 * the guest gets RST (or is dropped when it has no addresses to answer); nothing the guest sends
 * makes the device throw, and a broken ring sets DEVICE_NEEDS_RESET.
 */
public final class VsockDevice implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_TYPE = 19;
    public static final int QUEUE_SIZE = 256;
    public static final int RX_QUEUE = 0;
    public static final int TX_QUEUE = 1;
    public static final int EVENT_QUEUE = 2;
    /** The host's address (virtio 1.2, 5.10.4: "the host CID is 2"). */
    public static final long HOST_CID = 2;
    /** Per connection: how much guest data the device buffers for a slow host stream (its buf_alloc). */
    public static final int BUF_ALLOC = 256 * 1024;
    /** The most data bytes one packet carries either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
    public static final int MAX_PACKET_DATA = 64 * 1024;
    /** Forwarded bytes after which the device tells the guest its fwd_cnt unprompted. */
    static final int CREDIT_UPDATE_THRESHOLD = BUF_ALLOC / 4;
    /** "CONNECT 4294967295\n" with room to spare. */
    static final int CONNECT_LINE_MAX = 32;
    /** Host ports the device picks for host-initiated connections start here (Firecracker's range). */
    static final long FIRST_LOCAL_PORT = 1L << 30;
    private static final Pattern CONNECT = Pattern.compile("CONNECT ([0-9]{1,10})");
    private static final long LISTENER_TAG = 0;
    private static final int SOCKET_EVENTS = Epoll.EPOLLIN | Epoll.EPOLLOUT | Epoll.EPOLLRDHUP
            | Epoll.EPOLLET;
    private static final int MAX_EVENTS = 64;
    /**
     * How long a host CONNECT waits for the guest's RESPONSE. A guest that listens answers within
     * microseconds; one that is hung, or has nothing bound and does not answer at all, must not
     * leave the host peer waiting forever.
     */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** struct virtio_vsock_event { le32 id; } and its one id (virtio 1.2, 5.10.6.6). */
    static final int EVENT_BYTES = 4, EVENT_TRANSPORT_RESET = 0;

    /** A connection is named by its host port and guest port. */
    private record Key(long hostPort, long guestPort) {
    }

    private enum State { AWAITING_RESPONSE, ESTABLISHED }

    /** A header-only packet waiting for a receive buffer; its credit fields are filled in when sent. */
    private record Control(long hostPort, long guestPort, int op, int flags, Connection connection) {
    }

    /** An accepted host stream that has not finished its CONNECT line. */
    private static final class Handshake {
        final Fd stream;
        final long tag;
        final StringBuilder line = new StringBuilder();

        Handshake(Fd stream, long tag) {
            this.stream = stream;
            this.tag = tag;
        }
    }

    private static final class Connection {
        final Key key;
        final Fd stream;
        final long tag;
        State state;
        long peerBufAlloc;
        long peerFwdCnt;
        long rxCnt; // bytes sent to the guest
        long fwdCnt; // guest bytes the host stream took
        long lastFwdCntSent;
        final ArrayDeque<byte[]> pendingOut = new ArrayDeque<>(); // guest bytes the stream has not taken
        int pendingOutBytes;
        int pendingOutOffset; // into pendingOut's first chunk
        int uncounted; // leading pendingOut bytes that are the device's own (the OK line), not guest data
        boolean hostReadable;
        boolean hostEof;
        boolean guestShutSend;
        boolean guestShutRcv;
        boolean hostWriteShut;

        Connection(Key key, Fd stream, long tag, State state) {
            this.key = key;
            this.stream = stream;
            this.tag = tag;
            this.state = state;
        }

        long peerCredit() {
            return Math.max(0, peerBufAlloc - (rxCnt - peerFwdCnt));
        }
    }

    private final long guestCid;
    private final Path udsPath;
    private final Fd listener;
    private final Epoll epoll;
    private final Duration connectTimeout;
    private final RefillTimer timer;
    private final Map<Long, Handshake> handshakes = new HashMap<>();
    private final Map<Key, Connection> connections = new HashMap<>();
    private final Map<Long, Connection> byTag = new HashMap<>();
    private final ArrayDeque<Control> control = new ArrayDeque<>();
    private final LinkedHashSet<Connection> readable = new LinkedHashSet<>();
    private long nextTag = 1;
    private long nextLocalPort = FIRST_LOCAL_PORT;
    private DeviceContext context;
    private long rstSent;
    /** A TRANSPORT_RESET event not yet placed: the driver had no event buffer posted. */
    private boolean resetEventPending;
    private long resetEventsSent;
    private boolean closed;

    private VsockDevice(long guestCid, Path udsPath, Fd listener, Epoll epoll, Duration connectTimeout, RefillTimer timer) {
        this.guestCid = guestCid;
        this.udsPath = udsPath;
        this.listener = listener;
        this.epoll = epoll;
        this.connectTimeout = connectTimeout;
        this.timer = timer;
    }

    /**
     * A device for guest {@code guestCid} whose host side listens at {@code udsPath} (which must not
     * exist; it is removed by {@link #close}).
     */
    public static VsockDevice open(long guestCid, Path udsPath) throws IOException {
        return open(guestCid, udsPath, DEFAULT_CONNECT_TIMEOUT, RefillTimer.shared());
    }

    /**
     * As {@link #open(long, Path)}, with host CONNECTs the guest has not answered within
     * {@code connectTimeout} (measured on {@code timer}) failed with an ERROR line.
     */
    public static VsockDevice open(long guestCid, Path udsPath, Duration connectTimeout, RefillTimer timer)
            throws IOException {
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("vsock connect timeout " + connectTimeout + " is not positive");
        }
        if (guestCid <= HOST_CID || guestCid >= 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("guest CID " + guestCid
                    + " is reserved or out of range: use 3 to 4294967294");
        }
        String path = udsPath.toString();
        if (path.getBytes(StandardCharsets.UTF_8).length + 11 >= 108) {
            throw new IllegalArgumentException("vsock socket path " + udsPath
                    + " is too long for a Unix socket once \"_<port>\" is added (107 bytes at most)");
        }
        if (Files.exists(udsPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("vsock socket path " + udsPath + " already exists; remove it or choose another");
        }
        Epoll epoll = Epoll.create(MAX_EVENTS);
        Fd listener = null;
        try {
            listener = Sockets.listen(path);
            NonBlockingIo.setNonBlocking(listener.num());
            epoll.add(listener.num(), Epoll.EPOLLIN | Epoll.EPOLLET, LISTENER_TAG);
            return new VsockDevice(guestCid, udsPath, listener, epoll, connectTimeout, timer);
        } catch (IOException | RuntimeException e) {
            if (listener != null) {
                listener.close();
                Files.deleteIfExists(udsPath);
            }
            epoll.close();
            throw e;
        }
    }

    public long guestCid() {
        return guestCid;
    }

    public Path udsPath() {
        return udsPath;
    }

    /** The descriptor the VM's event loop watches (EPOLLIN); when readable, call {@link #onHostEvents()}. */
    public int hostFd() {
        return epoll.fd();
    }

    /** How many connections are open (for tests and metrics). */
    public synchronized int connectionCount() {
        return connections.size();
    }

    /** How many TRANSPORT_RESET events the driver has been given. */
    public synchronized long transportResetsSent() {
        return resetEventsSent;
    }

    /**
     * Interrupts all communication, as after the guest moved to another host or was restored from
     * a snapshot (virtio 1.2, 5.10.6.6): every connection is dropped without a packet (host peers
     * see their stream end; a host CONNECT still waiting gets an ERROR line) and the driver is sent
     * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue, upon which it resets its connected
     * sockets, keeps its listening ones and re-reads its CID. If the driver has no event buffer
     * posted, the event waits for one.
     */
    public synchronized void transportReset() {
        if (closed) {
            return;
        }
        for (Connection c : connections.values()) {
            if (c.state == State.AWAITING_RESPONSE) {
                tellHost(c.stream, "the vsock transport was reset before the guest answered");
            }
        }
        dropAllConnections();
        resetEventPending = true;
        deliverEvents();
    }

    /** Places a pending TRANSPORT_RESET in the driver's next event buffer big enough, if it has posted one. */
    private void deliverEvents() {
        DeviceContext ctx = context;
        if (!resetEventPending || ctx == null || !ctx.isValid() || !ctx.queue(EVENT_QUEUE).isReady()) {
            return;
        }
        Virtqueue queue = ctx.queue(EVENT_QUEUE);
        boolean used = false;
        try {
            while (resetEventPending) {
                DescriptorChain chain = queue.pop();
                if (chain == null && queue.enableNotification()) {
                    continue; // a buffer came as notifications were turned back on
                }
                if (chain == null) {
                    break; // the driver's next posted buffer notifies the queue
                }
                int written = 0;
                if (chain.writableBytes() >= EVENT_BYTES) {
                    byte[] event = new byte[EVENT_BYTES]; // the id, little-endian
                    event[0] = (byte) EVENT_TRANSPORT_RESET;
                    written = chain.writer(ctx.memory(), EVENT_BYTES).write(event);
                    resetEventPending = false;
                    resetEventsSent++;
                }
                queue.addUsed(chain.head(), written); // a buffer too small is handed back unused
                used = true;
            }
            if (used && queue.needsNotification()) {
                ctx.signalUsed(EVENT_QUEUE);
            }
        } catch (VirtioException | GuestMemoryException e) {
            ctx.needsReset("virtio-vsock event queue: " + e.getMessage());
        }
    }

    /** How many RST packets the device sent the guest. */
    public synchronized long resetsSent() {
        return rstSent;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return 0; // stream sockets only: with no feature bit, SOCK_STREAM is what is offered (5.10.3)
    }

    @Override
    public int[] queueMaxSizes() {
        return new int[] {QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE};
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = at >= 0 && at < 8 ? (byte) (guestCid >>> (8 * at)) : 0;
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // guest_cid is read-only
    }

    @Override
    public synchronized void activate(DeviceContext context) throws VirtioException {
        context.requireReady("virtio-vsock", "rx", "tx");
        this.context = context;
    }

    @Override
    public synchronized void reset() {
        context = null;
        resetEventPending = false; // a reset driver starts with no connections to reset
        dropAllConnections();
    }

    private void dropAllConnections() {
        for (Connection c : new ArrayList<>(connections.values())) {
            forget(c);
        }
        for (Handshake h : handshakes.values()) {
            epoll.removeIfPresent(h.stream.num());
            h.stream.close();
        }
        handshakes.clear();
        control.clear();
        readable.clear();
    }

    @Override
    public synchronized void queueNotified(int index) {
        if (index == TX_QUEUE) {
            processTx();
        }
        if (index == RX_QUEUE || index == TX_QUEUE) {
            processRx();
        }
        if (index == EVENT_QUEUE) {
            deliverEvents();
        }
    }

    /** Serves what the host sockets have: new connections, CONNECT lines, data, closed streams. */
    public synchronized void onHostEvents() {
        if (closed) {
            return;
        }
        try {
            Epoll.Event[] events;
            do {
                events = epoll.await(0);
                for (Epoll.Event e : events) {
                    hostEvent(e);
                }
            } while (events.length == MAX_EVENTS);
        } catch (ErrnoException e) {
            throw new IllegalStateException("vsock epoll set: " + e.getMessage(), e);
        }
        processRx();
    }

    private void hostEvent(Epoll.Event e) {
        if (e.tag() == LISTENER_TAG) {
            acceptAll();
            return;
        }
        Handshake h = handshakes.get(e.tag());
        if (h != null) {
            readConnectLine(h);
            return;
        }
        Connection c = byTag.get(e.tag());
        if (c == null) {
            return;
        }
        if (e.writable()) {
            flushToHost(c);
        }
        if (e.readable() && connections.get(c.key) == c) {
            c.hostReadable = true;
            markReadable(c);
        }
    }

    private void acceptAll() {
        while (true) {
            Fd stream;
            try {
                stream = Sockets.accept(listener);
            } catch (ErrnoException e) {
                return; // EAGAIN: all taken; anything else (EMFILE...) leaves the client waiting, not the VMM dead
            }
            long tag = nextTag++;
            try {
                NonBlockingIo.setNonBlocking(stream.num());
                epoll.add(stream.num(), Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLET, tag);
            } catch (ErrnoException e) {
                stream.close();
                continue;
            }
            Handshake h = new Handshake(stream, tag);
            handshakes.put(tag, h);
            readConnectLine(h); // bytes may have come with the connection
        }
    }

    /** Reads the CONNECT line a byte at a time, so that no connection data is read before it is due. */
    private void readConnectLine(Handshake h) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(1);
            while (true) {
                long n = NonBlockingIo.read(h.stream.num(), one);
                if (n == NonBlockingIo.WOULD_BLOCK) {
                    return;
                }
                if (n == 0) {
                    dropHandshake(h);
                    return;
                }
                char ch = (char) (one.get(ValueLayout.JAVA_BYTE, 0) & 0xFF);
                if (ch == '\n') {
                    connectFromHost(h);
                    return;
                }
                if (h.line.length() >= CONNECT_LINE_MAX) {
                    dropHandshake(h);
                    return;
                }
                h.line.append(ch);
            }
        } catch (ErrnoException e) {
            dropHandshake(h);
        }
    }

    private void dropHandshake(Handshake h) {
        handshakes.remove(h.tag);
        epoll.removeIfPresent(h.stream.num());
        h.stream.close();
    }

    private void connectFromHost(Handshake h) {
        handshakes.remove(h.tag);
        Matcher m = CONNECT.matcher(h.line.toString().strip());
        long port = m.matches() ? Long.parseLong(m.group(1)) : -1;
        String refusal = port < 0 || port > 0xFFFF_FFFFL ? "expected CONNECT <port> with a port of 0 to 4294967295"
                : context == null || !context.isValid() ? "the guest has no vsock driver ready" : null;
        if (refusal != null) {
            tellHost(h.stream, refusal);
            epoll.removeIfPresent(h.stream.num());
            h.stream.close();
            return;
        }
        Key key = new Key(allocateLocalPort(port), port);
        Connection c = new Connection(key, h.stream, h.tag, State.AWAITING_RESPONSE);
        connections.put(key, c);
        byTag.put(h.tag, c);
        try {
            epoll.modify(h.stream.num(), SOCKET_EVENTS, h.tag);
        } catch (ErrnoException e) {
            forget(c);
            return;
        }
        control.add(new Control(key.hostPort(), key.guestPort(), VsockPacket.OP_REQUEST, 0, c));
        timer.schedule(connectTimeout.toNanos(), () -> connectTimedOut(c));
    }

    /** The guest let a host CONNECT wait too long: the host peer is told, the guest gets RST. */
    private synchronized void connectTimedOut(Connection c) {
        if (closed || connections.get(c.key) != c || c.state != State.AWAITING_RESPONSE) {
            return; // answered, refused or gone meanwhile
        }
        tellHost(c.stream, "the guest did not accept the connection to vsock port " + c.key.guestPort() + " within "
                + connectTimeout.toMillis() + " ms");
        resetConnection(c);
        processRx();
    }

    /**
     * Tells a host peer why its CONNECT failed: one line, {@code ERROR <why>}, written only if the
     * socket takes it at once (a fresh stream always has room); the caller closes the stream.
     */
    private static void tellHost(Fd stream, String why) {
        byte[] line = ("ERROR " + why + "\n").getBytes(StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(line.length);
            MemorySegment.copy(line, 0, seg, ValueLayout.JAVA_BYTE, 0, line.length);
            NonBlockingIo.writev(stream.num(), List.of(seg));
        } catch (ErrnoException e) {
            // the peer has gone already: there is nobody to tell
        }
    }

    private long allocateLocalPort(long guestPort) {
        while (true) {
            long p = nextLocalPort;
            nextLocalPort = nextLocalPort >= 0xFFFF_FFFEL ? FIRST_LOCAL_PORT : nextLocalPort + 1;
            if (!connections.containsKey(new Key(p, guestPort))) {
                return p;
            }
        }
    }

    private void markReadable(Connection c) {
        if (c.state == State.ESTABLISHED && c.hostReadable && !c.hostEof && !c.guestShutRcv && c.peerCredit() > 0) {
            readable.add(c);
        }
    }

    // ---- guest to host ----

    private void processTx() {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid()) {
            return;
        }
        Virtqueue queue = ctx.queue(TX_QUEUE);
        boolean completed = false;
        try {
            do {
                queue.disableNotification();
                DescriptorChain chain;
                while ((chain = queue.pop()) != null) {
                    fromGuest(ctx, chain);
                    queue.addUsed(chain.head(), 0);
                    completed = true;
                }
            } while (queue.enableNotification());
            if (completed && queue.needsNotification()) {
                ctx.signalUsed(TX_QUEUE);
            }
        } catch (VirtioException | GuestMemoryException e) {
            ctx.needsReset("virtio-vsock tx: " + e.getMessage());
        }
    }

    /** Handles one packet from the guest. */
    private void fromGuest(DeviceContext ctx, DescriptorChain chain) {
        GuestBuffers in = chain.reader(ctx.memory());
        byte[] header = in.read(VsockPacket.HEADER_BYTES);
        if (header == null) {
            return; // not even a header: nobody to answer
        }
        VsockPacket p = VsockPacket.parse(header);
        if (p.srcCid() != guestCid) {
            return; // a forged source: answering it would reach nobody (Firecracker drops these too)
        }
        Key key = new Key(p.dstPort(), p.srcPort());
        Connection c = connections.get(key);
        boolean broken = p.dstCid() != HOST_CID || p.type() != VsockPacket.TYPE_STREAM || p.len() > MAX_PACKET_DATA
                || p.len() > in.remaining() || (p.op() != VsockPacket.OP_RW && p.len() != 0);
        if (broken) {
            if (c != null) {
                forget(c);
            }
            if (p.op() != VsockPacket.OP_RST) {
                reply(key, VsockPacket.OP_RST);
            }
            return;
        }
        if (p.op() == VsockPacket.OP_REQUEST) {
            if (c != null) {
                forget(c);
                reply(key, VsockPacket.OP_RST);
            } else {
                connectFromGuest(key, p);
            }
            return;
        }
        if (c == null) {
            if (p.op() != VsockPacket.OP_RST) {
                reply(key, VsockPacket.OP_RST);
            }
            return;
        }
        c.peerBufAlloc = p.bufAlloc();
        c.peerFwdCnt = p.fwdCnt();
        switch (p.op()) {
            case VsockPacket.OP_RESPONSE -> {
                if (c.state != State.AWAITING_RESPONSE) {
                    resetConnection(c);
                    return;
                }
                c.state = State.ESTABLISHED;
                byte[] ok = ("OK " + c.key.hostPort() + "\n").getBytes(StandardCharsets.US_ASCII);
                queueToHost(c, ok);
                c.uncounted = ok.length;
                flushToHost(c);
                c.hostReadable = true; // data may have been written before the guest answered
            }
            case VsockPacket.OP_RW -> {
                if (c.state != State.ESTABLISHED || c.guestShutSend) {
                    resetConnection(c);
                    return;
                }
                if (c.pendingOutBytes - c.uncounted + p.len() > BUF_ALLOC) {
                    resetConnection(c); // beyond the credit the device gave
                    return;
                }
                toHost(c, in.take(p.len()));
            }
            case VsockPacket.OP_CREDIT_UPDATE -> {
                // the credit fields are all it says
            }
            case VsockPacket.OP_CREDIT_REQUEST -> control.add(new Control(c.key.hostPort(), c.key.guestPort(),
                    VsockPacket.OP_CREDIT_UPDATE, 0, c));
            case VsockPacket.OP_SHUTDOWN -> {
                c.guestShutRcv |= (p.flags() & VsockPacket.SHUTDOWN_RCV) != 0;
                c.guestShutSend |= (p.flags() & VsockPacket.SHUTDOWN_SEND) != 0;
                if (c.guestShutRcv && c.guestShutSend) {
                    flushToHost(c);
                    forget(c); // the guest waits for RST to finish closing
                    reply(key, VsockPacket.OP_RST);
                    return;
                }
                flushToHost(c);
            }
            case VsockPacket.OP_RST -> {
                if (c.state == State.AWAITING_RESPONSE) {
                    tellHost(c.stream, "the guest refused the connection to vsock port " + c.key.guestPort()
                            + " (nothing listens there)");
                }
                forget(c);
                return;
            }
            default -> {
                resetConnection(c);
                return;
            }
        }
        if (connections.get(key) == c) {
            markReadable(c);
        }
    }

    private void connectFromGuest(Key key, VsockPacket p) {
        Fd stream;
        try {
            stream = NonBlockingIo.connectUnix(udsPath + "_" + key.hostPort());
        } catch (ErrnoException e) {
            reply(key, VsockPacket.OP_RST); // nothing listens there (or its backlog is full)
            return;
        }
        long tag = nextTag++;
        try {
            epoll.add(stream.num(), SOCKET_EVENTS, tag);
        } catch (ErrnoException e) {
            stream.close();
            reply(key, VsockPacket.OP_RST);
            return;
        }
        Connection c = new Connection(key, stream, tag, State.ESTABLISHED);
        c.peerBufAlloc = p.bufAlloc();
        c.peerFwdCnt = p.fwdCnt();
        c.hostReadable = true;
        connections.put(key, c);
        byTag.put(tag, c);
        control.add(new Control(key.hostPort(), key.guestPort(), VsockPacket.OP_RESPONSE, 0, c));
    }

    /** Writes guest data to the host stream; what it does not take now waits in the connection's buffer. */
    private void toHost(Connection c, List<MemorySegment> data) {
        long total = 0;
        for (MemorySegment s : data) {
            total += s.byteSize();
        }
        long written = 0;
        if (c.pendingOutBytes == 0 && total > 0) {
            try {
                long n = NonBlockingIo.writev(c.stream.num(), data);
                written = n == NonBlockingIo.WOULD_BLOCK ? 0 : n;
            } catch (ErrnoException e) {
                resetConnection(c); // the host side went away
                return;
            }
        }
        c.fwdCnt += written;
        long skip = written;
        for (MemorySegment s : data) {
            if (skip >= s.byteSize()) {
                skip -= s.byteSize();
                continue;
            }
            queueToHost(c, s.asSlice(skip).toArray(ValueLayout.JAVA_BYTE));
            skip = 0;
        }
        maybeCreditUpdate(c);
    }

    private void queueToHost(Connection c, byte[] bytes) {
        if (bytes.length > 0) {
            c.pendingOut.add(bytes);
            c.pendingOutBytes += bytes.length;
        }
    }

    /** Writes buffered guest data to the host stream until it would block; then honours a guest SHUTDOWN(SEND). */
    private void flushToHost(Connection c) {
        try (Arena arena = Arena.ofConfined()) {
            while (!c.pendingOut.isEmpty()) {
                byte[] chunk = c.pendingOut.peekFirst();
                int left = chunk.length - c.pendingOutOffset;
                MemorySegment seg = arena.allocate(left);
                MemorySegment.copy(chunk, c.pendingOutOffset, seg, ValueLayout.JAVA_BYTE, 0, left);
                long n = NonBlockingIo.writev(c.stream.num(), List.of(seg));
                if (n == NonBlockingIo.WOULD_BLOCK || n == 0) {
                    break;
                }
                c.pendingOutBytes -= (int) n;
                int own = (int) Math.min(n, c.uncounted);
                c.uncounted -= own;
                c.fwdCnt += n - own;
                if (n == left) {
                    c.pendingOut.removeFirst();
                    c.pendingOutOffset = 0;
                } else {
                    c.pendingOutOffset += (int) n;
                }
            }
            if (c.pendingOut.isEmpty() && c.guestShutSend && !c.hostWriteShut) {
                c.hostWriteShut = true;
                NonBlockingIo.shutdown(c.stream.num(), NonBlockingIo.SHUT_WR);
            }
        } catch (ErrnoException e) {
            if (connections.get(c.key) == c) {
                resetConnection(c);
            }
            return;
        }
        maybeCreditUpdate(c);
    }

    private void maybeCreditUpdate(Connection c) {
        if (connections.get(c.key) == c && c.fwdCnt - c.lastFwdCntSent >= CREDIT_UPDATE_THRESHOLD) {
            c.lastFwdCntSent = c.fwdCnt; // claimed now so that one update is queued, not one per write
            control.add(new Control(c.key.hostPort(), c.key.guestPort(), VsockPacket.OP_CREDIT_UPDATE, 0, c));
        }
    }

    private void resetConnection(Connection c) {
        forget(c);
        reply(c.key, VsockPacket.OP_RST);
    }

    private void reply(Key key, int op) {
        control.add(new Control(key.hostPort(), key.guestPort(), op, 0, null));
    }

    /** Closes the host stream and forgets the connection (no packet to the guest). */
    private void forget(Connection c) {
        if (connections.get(c.key) == c) {
            connections.remove(c.key);
        }
        byTag.remove(c.tag);
        readable.remove(c);
        epoll.removeIfPresent(c.stream.num());
        c.stream.close();
    }

    // ---- host to guest ----

    private void processRx() {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid()) {
            return;
        }
        Virtqueue queue = ctx.queue(RX_QUEUE);
        boolean delivered = false;
        try {
            while (!control.isEmpty() || !readable.isEmpty()) {
                DescriptorChain chain = queue.pop();
                if (chain == null) {
                    if (queue.enableNotification()) {
                        continue;
                    }
                    break;
                }
                if (chain.writableBytes() < VsockPacket.HEADER_BYTES
                        || (control.isEmpty() && chain.writableBytes() == VsockPacket.HEADER_BYTES)) {
                    queue.addUsed(chain.head(), 0); // too small for the packet due: handed back unused
                    delivered = true;
                    continue;
                }
                int written = control.isEmpty() ? sendData(ctx, chain) : sendControl(ctx, chain);
                if (written < 0) {
                    queue.undoPop();
                    continue;
                }
                queue.addUsed(chain.head(), written);
                delivered = true;
            }
            if (delivered && queue.needsNotification()) {
                ctx.signalUsed(RX_QUEUE);
            }
        } catch (VirtioException | GuestMemoryException e) {
            ctx.needsReset("virtio-vsock rx: " + e.getMessage());
        }
    }

    private int sendControl(DeviceContext ctx, DescriptorChain chain) {
        Control p = control.removeFirst();
        Connection c = p.connection();
        if (c != null && connections.get(c.key) != c) {
            return -1; // the connection went away since: its packet is moot
        }
        if (p.op() == VsockPacket.OP_RST) {
            rstSent++;
        }
        writeHeader(ctx, chain, p.hostPort(), p.guestPort(), 0, p.op(), p.flags(), c);
        return VsockPacket.HEADER_BYTES;
    }

    /** Moves host stream bytes into {@code chain} for the first readable connection; -1 if it had none after all. */
    private int sendData(DeviceContext ctx, DescriptorChain chain) {
        Connection c = readable.removeFirst();
        long room = Math.min(Math.min(chain.writableBytes() - VsockPacket.HEADER_BYTES, MAX_PACKET_DATA),
                c.peerCredit());
        if (room <= 0) {
            return -1; // no credit left: the guest's next credit update puts it back in line
        }
        GuestBuffers out = chain.writer(ctx.memory(), VsockPacket.HEADER_BYTES + room);
        out.take(VsockPacket.HEADER_BYTES);
        long n;
        try {
            List<MemorySegment> segments = out.take(room);
            n = NonBlockingIo.readv(c.stream.num(), segments.size() > NonBlockingIo.IOV_MAX
                    ? segments.subList(0, NonBlockingIo.IOV_MAX) : segments);
        } catch (ErrnoException e) {
            forget(c);
            rstSent++;
            writeHeader(ctx, chain, c.key.hostPort(), c.key.guestPort(), 0, VsockPacket.OP_RST, 0, null);
            return VsockPacket.HEADER_BYTES;
        }
        if (n == NonBlockingIo.WOULD_BLOCK) {
            c.hostReadable = false; // wait for the next edge
            return -1;
        }
        if (n == 0) {
            c.hostEof = true; // the host will send no more: tell the guest, keep taking its data
            writeHeader(ctx, chain, c.key.hostPort(), c.key.guestPort(), 0, VsockPacket.OP_SHUTDOWN,
                    VsockPacket.SHUTDOWN_SEND, c);
            return VsockPacket.HEADER_BYTES;
        }
        c.rxCnt += n;
        writeHeader(ctx, chain, c.key.hostPort(), c.key.guestPort(), n, VsockPacket.OP_RW, 0, c);
        markReadable(c);
        return (int) (VsockPacket.HEADER_BYTES + n);
    }

    private void writeHeader(DeviceContext ctx, DescriptorChain chain, long hostPort, long guestPort, long len, int op,
                             int flags, Connection c) {
        long fwd = c == null ? 0 : c.fwdCnt;
        if (c != null) {
            c.lastFwdCntSent = Math.max(c.lastFwdCntSent, fwd);
        }
        VsockPacket h = new VsockPacket(HOST_CID, guestCid, hostPort, guestPort, len, VsockPacket.TYPE_STREAM, op,
                flags, c == null ? 0 : BUF_ALLOC, fwd);
        chain.writer(ctx.memory(), VsockPacket.HEADER_BYTES).write(h.toBytes());
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        reset();
        epoll.close();
        listener.close();
        Files.deleteIfExists(udsPath);
    }
}
