package io.vessel.vmm.devices.virtio;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.NonBlockingIo;
import io.vessel.linux.Tun;
import io.vessel.vmm.memory.GuestMemoryException;
import io.vessel.vmm.ratelimit.RateLimiter;
import io.vessel.vmm.ratelimit.RefillTimer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * virtio-net (virtio 1.2, 5.1) over a host TAP device: one receive and one transmit queue, the
 * MAC address and link status in configuration space, mergeable receive buffers, checksum and
 * TSO offloads in both directions, rate limiters (bytes and frames) on each direction.
 *
 * <p>The 12-byte {@code virtio_net_hdr_v1} in front of each frame is the tap's own vnet header
 * ({@code IFF_VNET_HDR}, size 12), so offload metadata passes between guest and host kernel as is;
 * what the guest may receive is told to the tap with {@code TUNSETOFFLOAD} from the negotiated
 * GUEST_* features. Transmit writes the guest's buffers to the tap with one {@code writev}.
 * Receive reads a frame into a host buffer, then copies it into one chain (or, with MRG_RXBUF,
 * as many as it needs, published together); a frame that cannot fit is dropped and counted.
 *
 * <p>Receive is driven by the tap becoming readable — the VM's event loop watches {@link #tapFd()}
 * <em>edge-triggered</em> ({@code EPOLLIN | EPOLLET}) and calls {@link #onTapReadable()} — and by
 * the driver posting receive buffers. The device reads the tap until it would block, or until it
 * holds a frame it has no buffer for; it reads on when buffers come, so an edge is never lost.
 */
public final class NetDevice implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_TYPE = 1;
    public static final int QUEUE_SIZE = 256;
    public static final int RX_QUEUE = 0;
    public static final int TX_QUEUE = 1;

    // Feature bits (5.1.3).
    public static final int F_CSUM = 0;
    public static final int F_GUEST_CSUM = 1;
    public static final int F_MAC = 5;
    public static final int F_GUEST_TSO4 = 7;
    public static final int F_GUEST_TSO6 = 8;
    public static final int F_HOST_TSO4 = 11;
    public static final int F_HOST_TSO6 = 12;
    public static final int F_MRG_RXBUF = 15;
    public static final int F_STATUS = 16;

    /** virtio_net_hdr_v1 (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
    public static final int HEADER_BYTES = 12;
    static final int HDR_FLAGS = 0;
    static final int HDR_GSO_TYPE = 1;
    static final int HDR_NUM_BUFFERS = 10;
    public static final int HDR_F_NEEDS_CSUM = 1;
    public static final int HDR_F_DATA_VALID = 2;
    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_ECN = 0x80;

    /** The largest frame either way: a 64 KiB GSO packet plus its Ethernet header (ETH_HLEN 14). */
    public static final int MAX_FRAME_BYTES = 65536 + 14;
    /** virtio_net_config up to max_virtqueue_pairs: mac[6], le16 status, le16 max_virtqueue_pairs. */
    static final int CONFIG_BYTES = 10;
    public static final int S_LINK_UP = 1;

    /** What the device counted: frames and bytes (headers excluded) each way, and frames dropped. */
    public record Stats(long rxFrames, long rxBytes, long rxDropped, long txFrames, long txBytes, long txDropped) {
    }

    private final Tun.Tap tap;
    private final byte[] mac;
    private final RateLimiter rxLimiter;
    private final RateLimiter txLimiter;
    private final RefillTimer timer;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment rxFrame;

    private DeviceContext context;
    private long generation;
    private boolean rxThrottled;
    private boolean txThrottled;
    /** Length (header included) of the frame read from the tap and not yet delivered, or -1. */
    private int pending = -1;
    /** How many buffers the ring held when the pending frame last found them too few. */
    private int availableWhenShort;
    private long rxFrames, rxBytes, rxDropped, txFrames, txBytes, txDropped;
    /** How many times a rate limiter held a frame back, either direction (for tests and metrics). */
    private long throttles;

    private NetDevice(Tun.Tap tap, byte[] mac, RateLimiter rxLimiter, RateLimiter txLimiter, RefillTimer timer) {
        this.tap = tap;
        this.mac = mac.clone();
        this.rxLimiter = rxLimiter;
        this.txLimiter = txLimiter;
        this.timer = timer;
        this.rxFrame = arena.allocate(HEADER_BYTES + MAX_FRAME_BYTES, 64);
    }

    /**
     * A device on {@code tap}, which it now owns (closed by {@link #close}). Sets the tap's vnet
     * header to 12 bytes and offloads off until a driver negotiates them.
     *
     * @param mac the guest's unicast MAC address, 6 bytes
     */
    public static NetDevice open(Tun.Tap tap, byte[] mac, RateLimiter rxLimiter, RateLimiter txLimiter,
                                 RefillTimer timer) throws ErrnoException {
        if (mac.length != 6) {
            throw new IllegalArgumentException("MAC address has " + mac.length + " bytes, not 6");
        }
        if ((mac[0] & 1) != 0) {
            throw new IllegalArgumentException("MAC address " + formatMac(mac) + " is a multicast address");
        }
        tap.setVnetHeaderSize(HEADER_BYTES);
        tap.setOffload(0);
        return new NetDevice(tap, mac, rxLimiter, txLimiter, timer);
    }

    public static NetDevice open(Tun.Tap tap, byte[] mac) throws ErrnoException {
        return open(tap, mac, RateLimiter.UNLIMITED, RateLimiter.UNLIMITED, RefillTimer.shared());
    }

    /** Parses "52:54:00:12:34:56". */
    public static byte[] parseMac(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("MAC address \"" + text + "\" is not six hex bytes separated by ':'");
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (!parts[i].matches("[0-9A-Fa-f]{2}")) {
                throw new IllegalArgumentException("MAC address \"" + text + "\": \"" + parts[i] + "\" is not a hex byte");
            }
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return mac;
    }

    public static String formatMac(byte[] mac) {
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }

    /** The tap's descriptor, for the VM's event loop (watch it EPOLLIN | EPOLLET). */
    public int tapFd() {
        return tap.fd();
    }

    public String tapName() {
        return tap.name();
    }

    public byte[] mac() {
        return mac.clone();
    }

    /** How many times the rx or tx rate limiter has held a frame back since the device was opened. */
    public synchronized long throttleCount() {
        return throttles;
    }

    public synchronized Stats stats() {
        return new Stats(rxFrames, rxBytes, rxDropped, txFrames, txBytes, txDropped);
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return Features.bit(F_CSUM) | Features.bit(F_GUEST_CSUM) | Features.bit(F_MAC) | Features.bit(F_GUEST_TSO4)
                | Features.bit(F_GUEST_TSO6) | Features.bit(F_HOST_TSO4) | Features.bit(F_HOST_TSO6)
                | Features.bit(F_MRG_RXBUF) | Features.bit(F_STATUS);
    }

    @Override
    public int[] queueMaxSizes() {
        return new int[] {QUEUE_SIZE, QUEUE_SIZE};
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        byte[] config = new byte[CONFIG_BYTES];
        System.arraycopy(mac, 0, config, 0, 6);
        config[6] = S_LINK_UP;
        config[8] = 1; // max_virtqueue_pairs: meaningful only with MQ, which is not offered
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = at >= 0 && at < CONFIG_BYTES ? config[(int) at] : 0;
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // the MAC is writable only for legacy drivers (5.1.4.2); a modern driver writes nothing
    }

    @Override
    public synchronized void activate(DeviceContext context) throws VirtioException {
        context.requireReady("virtio-net", "receive", "transmit");
        int offload = 0;
        if (context.hasFeature(F_GUEST_CSUM)) {
            offload |= Tun.TUN_F_CSUM;
            if (context.hasFeature(F_GUEST_TSO4)) {
                offload |= Tun.TUN_F_TSO4;
            }
            if (context.hasFeature(F_GUEST_TSO6)) {
                offload |= Tun.TUN_F_TSO6;
            }
        }
        try {
            tap.setOffload(offload);
        } catch (ErrnoException e) {
            throw new VirtioException("virtio-net: " + tap + " refuses offloads 0x" + Integer.toHexString(offload)
                    + ": " + e.getMessage());
        }
        this.context = context;
        this.generation++;
        this.rxThrottled = false;
        this.txThrottled = false;
        processRx();
    }

    @Override
    public synchronized void reset() {
        context = null;
        generation++;
        rxThrottled = false;
        txThrottled = false;
        pending = -1;
        try {
            tap.setOffload(0);
        } catch (ErrnoException e) {
            // the tap is going away or closed: nothing to undo
        }
    }

    @Override
    public synchronized void queueNotified(int index) {
        if (index == RX_QUEUE) {
            processRx();
        } else if (index == TX_QUEUE) {
            processTx();
        }
    }

    /** The tap has frames: deliver what the driver has buffers for. Called by the VM's event loop. */
    public synchronized void onTapReadable() {
        processRx();
    }

    private synchronized void resume(long forGeneration, int queue) {
        if (forGeneration != generation) {
            return;
        }
        if (queue == RX_QUEUE) {
            rxThrottled = false;
            processRx();
        } else {
            txThrottled = false;
            processTx();
        }
    }

    private void throttle(RateLimiter limiter, long bytes, int queue) {
        throttles++;
        long delay = limiter.nanosUntil(bytes, 1);
        long forGeneration = generation;
        timer.schedule(Math.max(delay, 1), () -> resume(forGeneration, queue));
    }

    private enum Delivery { DELIVERED, DROPPED, NO_BUFFERS, THROTTLED }

    private void processRx() {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid() || rxThrottled) {
            return;
        }
        Virtqueue queue = ctx.queue(RX_QUEUE);
        boolean delivered = false;
        try {
            while (true) {
                if (pending < 0) {
                    long n = tap.read(rxFrame);
                    if (n == NonBlockingIo.WOULD_BLOCK) {
                        break;
                    }
                    if (n < HEADER_BYTES) {
                        rxDropped++; // a tap with IFF_VNET_HDR always prefixes the header: not a frame
                        continue;
                    }
                    pending = (int) n;
                }
                Delivery d = deliver(ctx, queue);
                if (d == Delivery.DELIVERED) {
                    delivered = true;
                } else if (d == Delivery.THROTTLED) {
                    break;
                } else if (d == Delivery.NO_BUFFERS) {
                    // hold the frame until the driver posts more buffers (it will notify); retry at
                    // once only if it posted some between the last look and enabling notifications
                    queue.enableNotificationForMore();
                    if (queue.availableCount() <= availableWhenShort) {
                        break;
                    }
                }
            }
            if (delivered && queue.needsNotification()) {
                ctx.signalUsed(RX_QUEUE);
            }
        } catch (VirtioException | GuestMemoryException e) {
            ctx.needsReset("virtio-net receive: " + e.getMessage());
        } catch (ErrnoException e) {
            rxDropped++; // the tap failed (its link deleted under us): nothing to deliver
            pending = -1;
        }
    }

    /** Hands the pending frame to the driver, or decides it cannot. */
    private Delivery deliver(DeviceContext ctx, Virtqueue queue) throws VirtioException {
        int length = pending;
        int flags = rxFrame.get(ValueLayout.JAVA_BYTE, HDR_FLAGS) & 0xFF;
        int gso = rxFrame.get(ValueLayout.JAVA_BYTE, HDR_GSO_TYPE) & 0xFF & ~GSO_ECN;
        boolean guestCsum = ctx.hasFeature(F_GUEST_CSUM);
        if (!guestCsum) {
            if ((flags & HDR_F_NEEDS_CSUM) != 0) {
                return drop(); // a partial checksum the driver did not agree to finish
            }
            rxFrame.set(ValueLayout.JAVA_BYTE, HDR_FLAGS, (byte) 0); // DATA_VALID needs GUEST_CSUM (5.1.6.4)
        }
        if ((gso == GSO_TCPV4 && !(guestCsum && ctx.hasFeature(F_GUEST_TSO4)))
                || (gso == GSO_TCPV6 && !(guestCsum && ctx.hasFeature(F_GUEST_TSO6)))
                || (gso != GSO_NONE && gso != GSO_TCPV4 && gso != GSO_TCPV6)) {
            return drop();
        }
        boolean mergeable = ctx.hasFeature(F_MRG_RXBUF);
        List<DescriptorChain> chains = new ArrayList<>();
        long capacity = 0;
        while (capacity < length) {
            if (!mergeable && !chains.isEmpty()) {
                undo(queue, chains);
                return drop(); // one chain per frame without MRG_RXBUF, and this one is too small
            }
            if (chains.size() == queue.size()) {
                undo(queue, chains);
                return drop(); // every buffer of the ring together is too small
            }
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                availableWhenShort = chains.size(); // all there was when the ring ran dry
                undo(queue, chains);
                return Delivery.NO_BUFFERS;
            }
            chains.add(chain);
            capacity += chain.writableBytes();
        }
        if (chains.getFirst().writableBytes() < HEADER_BYTES) {
            undo(queue, chains);
            return drop(); // the header must lie in the first buffer (5.1.6.3.1)
        }
        if (!rxLimiter.consume(length - HEADER_BYTES, 1)) {
            undo(queue, chains);
            rxThrottled = true;
            queue.enableNotification();
            throttle(rxLimiter, length - HEADER_BYTES, RX_QUEUE);
            return Delivery.THROTTLED;
        }
        rxFrame.set(ValueLayout.JAVA_SHORT_UNALIGNED, HDR_NUM_BUFFERS, (short) chains.size());
        int[] heads = new int[chains.size()];
        int[] lengths = new int[chains.size()];
        long at = 0;
        for (int i = 0; i < chains.size(); i++) {
            DescriptorChain chain = chains.get(i);
            long n = Math.min(length - at, chain.writableBytes());
            for (MemorySegment s : chain.writer(ctx.memory(), n).take(n)) {
                MemorySegment.copy(rxFrame, at, s, 0, s.byteSize());
                at += s.byteSize();
            }
            heads[i] = chain.head();
            lengths[i] = (int) n;
        }
        queue.addUsed(heads, lengths);
        pending = -1;
        rxFrames++;
        rxBytes += length - HEADER_BYTES;
        return Delivery.DELIVERED;
    }

    private Delivery drop() {
        pending = -1;
        rxDropped++;
        return Delivery.DROPPED;
    }

    private static void undo(Virtqueue queue, List<DescriptorChain> chains) {
        for (int i = 0; i < chains.size(); i++) {
            queue.undoPop();
        }
        chains.clear();
    }

    private void processTx() {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid() || txThrottled) {
            return;
        }
        Virtqueue queue = ctx.queue(TX_QUEUE);
        boolean completed = false;
        try {
            do {
                queue.disableNotification();
                DescriptorChain chain;
                while ((chain = queue.pop()) != null) {
                    long length = chain.readableBytes();
                    if (length >= HEADER_BYTES && length <= HEADER_BYTES + MAX_FRAME_BYTES
                            && !txLimiter.consume(length - HEADER_BYTES, 1)) {
                        queue.undoPop();
                        txThrottled = true;
                        queue.enableNotification();
                        throttle(txLimiter, length - HEADER_BYTES, TX_QUEUE);
                        break;
                    }
                    transmit(ctx, chain);
                    queue.addUsed(chain.head(), 0);
                    completed = true;
                }
            } while (!txThrottled && queue.enableNotification());
            if (completed && queue.needsNotification()) {
                ctx.signalUsed(TX_QUEUE);
            }
        } catch (VirtioException | GuestMemoryException e) {
            ctx.needsReset("virtio-net transmit: " + e.getMessage());
        }
    }

    /** Writes one frame to the tap, or drops it (counted) if it is malformed or the tap refuses it. */
    private void transmit(DeviceContext ctx, DescriptorChain chain) {
        long length = chain.readableBytes();
        if (length < HEADER_BYTES || length > HEADER_BYTES + MAX_FRAME_BYTES) {
            txDropped++;
            return;
        }
        byte[] header = chain.reader(ctx.memory()).read(HEADER_BYTES);
        int flags = header[HDR_FLAGS] & 0xFF;
        int gso = header[HDR_GSO_TYPE] & 0xFF & ~GSO_ECN;
        boolean csum = ctx.hasFeature(F_CSUM);
        if (((flags & HDR_F_NEEDS_CSUM) != 0 && !csum)
                || (gso == GSO_TCPV4 && !(csum && ctx.hasFeature(F_HOST_TSO4)))
                || (gso == GSO_TCPV6 && !(csum && ctx.hasFeature(F_HOST_TSO6)))
                || (gso != GSO_NONE && gso != GSO_TCPV4 && gso != GSO_TCPV6)) {
            txDropped++; // an offload the driver did not negotiate
            return;
        }
        List<MemorySegment> parts = chain.reader(ctx.memory()).take(length);
        if (parts.size() > NonBlockingIo.IOV_MAX) {
            txDropped++;
            return;
        }
        try {
            long n = tap.write(parts);
            if (n == length) {
                txFrames++;
                txBytes += length - HEADER_BYTES;
            } else {
                txDropped++; // the tap's queue is full (EAGAIN) or it took part of a frame
            }
        } catch (ErrnoException e) {
            txDropped++; // EIO with the link down, EINVAL for a header the kernel rejects
        }
    }

    @Override
    public synchronized void close() {
        if (!arena.scope().isAlive()) {
            return;
        }
        reset();
        tap.close();
        arena.close();
    }
}
