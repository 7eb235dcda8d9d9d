package io.vessel.vmm.devices.virtio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header of a virtio-vsock packet (virtio 1.2, 5.10.6, {@code struct virtio_vsock_hdr}):
 * le64 src_cid, le64 dst_cid, le32 src_port, le32 dst_port, le32 len, le16 type, le16 op,
 * le32 flags, le32 buf_alloc, le32 fwd_cnt — 44 bytes, followed by {@code len} bytes of data.
 * Ports, lengths and counters are unsigned 32-bit values held in longs.
 */
public record VsockPacket(long srcCid, long dstCid, long srcPort, long dstPort, long len, int type, int op,
                          long flags, long bufAlloc, long fwdCnt) {
    public static final int HEADER_BYTES = 44;

    public static final int TYPE_STREAM = 1;

    public static final int OP_INVALID = 0;
    public static final int OP_REQUEST = 1;
    public static final int OP_RESPONSE = 2;
    public static final int OP_RST = 3;
    public static final int OP_SHUTDOWN = 4;
    public static final int OP_RW = 5;
    public static final int OP_CREDIT_UPDATE = 6;
    public static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags: the sender will receive no more data; will send no more data. */
    public static final int SHUTDOWN_RCV = 1;
    public static final int SHUTDOWN_SEND = 2;

    public static VsockPacket parse(byte[] header) {
        if (header.length != HEADER_BYTES) {
            throw new IllegalArgumentException("a vsock header is " + HEADER_BYTES + " bytes, not " + header.length);
        }
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        return new VsockPacket(b.getLong(0), b.getLong(8), u32(b.getInt(16)), u32(b.getInt(20)), u32(b.getInt(24)),
                b.getShort(28) & 0xFFFF, b.getShort(30) & 0xFFFF, u32(b.getInt(32)), u32(b.getInt(36)),
                u32(b.getInt(40)));
    }

    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, srcCid).putLong(8, dstCid).putInt(16, (int) srcPort).putInt(20, (int) dstPort)
                .putInt(24, (int) len).putShort(28, (short) type).putShort(30, (short) op).putInt(32, (int) flags)
                .putInt(36, (int) bufAlloc).putInt(40, (int) fwdCnt);
        return b.array();
    }

    private static long u32(int v) {
        return Integer.toUnsignedLong(v);
    }
}
