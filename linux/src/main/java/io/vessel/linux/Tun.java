package io.vessel.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static io.vessel.linux.Native.C_INT;

/**
 * TAP devices for virtio-net: {@code /dev/net/tun} opened non-blocking and attached with
 * {@code TUNSETIFF} as {@code IFF_TAP | IFF_NO_PI | IFF_VNET_HDR}, so that every frame read or
 * written starts with a virtio-net header of {@link #setVnetHeaderSize the size set} and the
 * kernel honours its checksum and segmentation fields. The tap lives as long as its descriptor
 * (it is not made persistent): closing the {@link Tap} removes the link.
 *
 * <p>A tap can be made inside another network namespace: the device belongs to the namespace of
 * the thread that opens {@code /dev/net/tun}, and {@code setns(CLONE_NEWNET)} changes only the
 * calling thread, so a short-lived platform thread enters the namespace, opens and attaches the
 * tap, and dies; the descriptor it hands back keeps working from any thread.
 */
public final class Tun {
    private static final String CLONE_DEVICE = "/dev/net/tun";
    /** include/uapi/linux/if_tun.h: _IOW('T', 202, int), _IOW('T', 208, unsigned int), _IOW('T', 216, int). */
    static final long TUNSETIFF = 0x400454caL, TUNSETOFFLOAD = 0x400454d0L, TUNSETVNETHDRSZ = 0x400454d8L;
    /** if_tun.h interface flags. */
    static final int IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    /** if_tun.h offload flags for TUNSETOFFLOAD: what the tap may hand us unfinished. */
    public static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08,
            TUN_F_UFO = 0x10;
    /** if_tun.h: _IOR('T', 210, unsigned int), and the flag a tap made by {@code ip tuntap add} carries. */
    static final long TUNGETIFF = 0x800454d2L;
    static final int IFF_PERSIST = 0x0800;
    /**
     * if_tun.h: with this flag TUNSETIFF fails with EBUSY when any link already has the name,
     * instead of attaching to an existing tap (drivers/net/tun.c, tun_set_iff).
     */
    static final int IFF_TUN_EXCL = 0x8000;
    /** include/uapi/linux/sched.h */
    /** struct ifreq: char ifr_name[IFNAMSIZ]; then a union whose ifr_flags is a short; 40 bytes. */
    private static final int IFNAMSIZ = 16, IFREQ_BYTES = 40, IFR_FLAGS = 16;
    private static final int O_NONBLOCK = 04000;
    /** What the kernel's dev_valid_name accepts, kept to a portable subset; a %d pattern lets it pick. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}|[A-Za-z0-9_.-]{0,13}%d[A-Za-z0-9_.-]*");

    private Tun() {
    }

    /** An attached tap: its descriptor (non-blocking) and the name the kernel gave it. */
    public static final class Tap implements AutoCloseable {
        private final Fd fd;
        private final String name;

        Tap(Fd fd, String name) {
            this.fd = fd;
            this.name = name;
        }

        public int fd() {
            return fd.num();
        }

        public String name() {
            return name;
        }

        /**
         * Sets the virtio-net header size the tap reads and writes in front of each frame
         * ({@code TUNSETVNETHDRSZ}; 12 for virtio 1.x's virtio_net_hdr_v1).
         */
        public void setVnetHeaderSize(int bytes) throws ErrnoException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment v = arena.allocate(C_INT);
                v.set(C_INT, 0, bytes);
                Ioctl.ioctl(fd.num(), TUNSETVNETHDRSZ, v);
            }
        }

        /** Which unfinished packets the tap may deliver ({@code TUN_F_*}; 0: finished ones only). */
        public void setOffload(int flags) throws ErrnoException {
            Ioctl.ioctl(fd.num(), TUNSETOFFLOAD, flags);
        }

        /**
         * Whether the tap outlives its descriptors (made with {@code ip tuntap add} or
         * {@code TUNSETPERSIST}), read back with {@code TUNGETIFF}.
         */
        public boolean isPersistent() throws ErrnoException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ifr = arena.allocate(IFREQ_BYTES);
                Ioctl.ioctl(fd.num(), TUNGETIFF, ifr);
                return (ifr.get(ValueLayout.JAVA_SHORT, IFR_FLAGS) & IFF_PERSIST) != 0;
            }
        }

        /** Reads one frame (header included) into {@code buf}: its length, or {@link NonBlockingIo#WOULD_BLOCK}. */
        public long read(MemorySegment buf) throws ErrnoException {
            return NonBlockingIo.read(fd.num(), buf);
        }

        /** Writes one frame (header included) gathered from {@code parts}; returns the bytes taken. */
        public long write(List<MemorySegment> parts) throws ErrnoException {
            return NonBlockingIo.writev(fd.num(), parts);
        }

        @Override
        public void close() {
            fd.close();
        }

        @Override
        public String toString() {
            return "tap " + name + " (" + fd + ")";
        }
    }

    /**
     * Creates (or attaches to) tap {@code name} in this thread's network namespace. The name may
     * hold one {@code %d} for the kernel to number it.
     */
    public static Tap open(String name) throws ErrnoException {
        checkName(name);
        return attach(name);
    }

    /**
     * Creates tap {@code name} inside the network namespace at {@code netns} (a pinned namespace
     * such as {@code /run/netns/NAME}, or {@code /proc/PID/ns/net}).
     */
    public static Tap open(String name, Path netns) throws IOException {
        checkName(name);
        return NetNamespace.call(netns, () -> attach(name));
    }

    /**
     * Attaches to the persistent tap {@code name} that already exists in the network namespace at
     * {@code netns} (null: this thread's), as Firecracker's {@code host_dev_name} expects one made
     * with {@code ip tuntap add}. TUNSETIFF would create a missing one; such a fresh tap is closed
     * at once (which removes it) and refused.
     *
     * @throws IllegalArgumentException naming the tap when it does not exist
     */
    public static Tap openExisting(String name, Path netns) throws IOException {
        checkNetns(netns);
        Tap tap = netns == null ? open(name) : open(name, netns);
        boolean persistent;
        try {
            persistent = tap.isPersistent();
        } catch (IOException | RuntimeException e) {
            tap.close();
            throw e;
        }
        if (!persistent) {
            tap.close();
            throw new IllegalArgumentException("tap device " + name + " does not exist"
                    + (netns == null ? "" : " in network namespace " + netns)
                    + "; create it first (ip tuntap add dev " + name + " mode tap)");
        }
        return tap;
    }

    /**
     * Creates a new tap {@code name} in the network namespace at {@code netns} (null: this
     * thread's), refusing a name any link of that namespace already has ({@code IFF_TUN_EXCL}),
     * so that the tap is certainly Vessel's own. It is not persistent: it disappears with the
     * returned descriptor, also when the process is killed.
     *
     * @throws IllegalArgumentException naming the namespace when it does not exist, or the name
     *         when it is taken or malformed
     */
    public static Tap create(String name, Path netns) throws IOException {
        checkName(name);
        checkNetns(netns);
        try {
            return netns == null ? attach(name, IFF_TUN_EXCL) : NetNamespace.call(netns, () -> attach(name, IFF_TUN_EXCL));
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EBUSY) {
                throw new IllegalArgumentException("a network interface named " + name + " already exists"
                        + (netns == null ? "" : " in network namespace " + netns) + "; choose another tap name", e);
            }
            throw e;
        }
    }

    private static void checkNetns(Path netns) {
        if (netns != null && !java.nio.file.Files.exists(netns)) {
            throw new IllegalArgumentException("network namespace " + netns + " does not exist");
        }
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("tap name \"" + name + "\" is not 1 to 15 of [A-Za-z0-9_.-]"
                    + " (optionally with one %d)");
        }
    }

    private static Tap attach(String name) throws ErrnoException {
        return attach(name, 0);
    }

    private static Tap attach(String name, int extraFlags) throws ErrnoException {
        Fd fd = Files.open(CLONE_DEVICE, Files.O_RDWR | Files.O_CLOEXEC | O_NONBLOCK, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ_BYTES);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            ifr.set(ValueLayout.JAVA_SHORT, IFR_FLAGS, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | extraFlags));
            try {
                Ioctl.ioctl(fd.num(), TUNSETIFF, ifr);
            } catch (ErrnoException e) {
                throw new ErrnoException("TUNSETIFF tap \"" + name + "\"", e.errno());
            }
            byte[] got = ifr.asSlice(0, IFNAMSIZ).toArray(ValueLayout.JAVA_BYTE);
            int len = 0;
            while (len < got.length && got[len] != 0) {
                len++;
            }
            return new Tap(fd, new String(got, 0, len, StandardCharsets.US_ASCII));
        } catch (RuntimeException | ErrnoException e) {
            fd.close();
            throw e;
        }
    }
}
