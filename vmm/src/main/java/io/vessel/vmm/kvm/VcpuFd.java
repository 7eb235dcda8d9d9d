package io.vessel.vmm.kvm;

import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Ioctl;
import io.vessel.linux.Mman;
import io.vessel.linux.Native;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A vCPU file descriptor and its mmap'ed {@code kvm_run} area: registers, CPUID, MSRs, the local
 * APIC, and {@link #run}. Everything but {@link #setImmediateExit} must be called from the one
 * thread that runs this vCPU.
 */
public final class VcpuFd implements AutoCloseable {
    // struct kvm_run offsets (include/uapi/linux/kvm.h, x86-64)
    private static final int RUN_IMMEDIATE_EXIT = 1, RUN_EXIT_REASON = 8, RUN_UNION = 32;
    private static final int IO_DIRECTION = 32, IO_SIZE = 33, IO_PORT = 34, IO_COUNT = 36, IO_DATA_OFFSET = 40;
    private static final int MMIO_ADDRESS = 32, MMIO_DATA = 40, MMIO_LEN = 48, MMIO_IS_WRITE = 52;
    private static final int EVENT_NDATA = 36, EVENT_DATA = 40;
    private static final int EVENT_MAX_DATA = 16;
    private static final int IO_DIRECTION_OUT = 1;
    // KVM_EXIT_* reasons
    private static final int EXIT_UNKNOWN = 0, EXIT_IO = 2, EXIT_HLT = 5, EXIT_MMIO = 6, EXIT_SHUTDOWN = 8,
            EXIT_FAIL_ENTRY = 9, EXIT_INTR = 10, EXIT_INTERNAL_ERROR = 17, EXIT_SYSTEM_EVENT = 24;
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();

    /** struct kvm_mp_state values (include/uapi/linux/kvm.h). */
    public static final int MP_STATE_RUNNABLE = 0, MP_STATE_UNINITIALIZED = 1, MP_STATE_INIT_RECEIVED = 2,
            MP_STATE_HALTED = 3, MP_STATE_SIPI_RECEIVED = 4;

    private final int id;
    private final Fd fd;
    private final MemorySegment run;
    /**
     * {@code kvm_run} as a little-endian buffer, read on every exit: in the interpreter a buffer's
     * absolute get is about twice as fast as a segment's, and an exit is a few such reads.
     */
    private final ByteBuffer view;
    /** KVM_RUN's errno capture, reused by every run (only the vCPU's thread runs it). */
    private final Arena arena = Arena.ofShared();
    private final MemorySegment errno = Native.errnoSegment(arena);

    VcpuFd(int id, Fd fd, MemorySegment run) {
        this.id = id;
        this.fd = fd;
        this.run = run;
        this.view = run.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    public int id() {
        return id;
    }

    public Regs regs() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_REGS);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_REGS, s);
            return Regs.read(s);
        }
    }

    public void setRegs(Regs regs) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_REGS);
            regs.write(s);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_REGS, s);
        }
    }

    public Sregs sregs() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_SREGS);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_SREGS, s);
            return Sregs.read(s);
        }
    }

    public void setSregs(Sregs sregs) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_SREGS);
            sregs.write(s);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_SREGS, s);
        }
    }

    // struct kvm_fpu: fpr[8][16] then fcw u16 at 128, fsw u16 at 130, ftwx u8 at 132, mxcsr u32 at 408
    private static final long FPU_FCW = 128, FPU_FSW = 130, FPU_FTWX = 132, FPU_MXCSR = 408;

    public Fpu fpu() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_FPU);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_FPU, s);
            return new Fpu(Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT, FPU_FCW)),
                    Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT, FPU_FSW)),
                    Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, FPU_FTWX)), s.get(ValueLayout.JAVA_INT, FPU_MXCSR));
        }
    }

    /** Sets the FPU's control state; the x87 and XMM registers are zeroed. */
    public void setFpu(Fpu fpu) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_FPU);
            s.set(ValueLayout.JAVA_SHORT, FPU_FCW, (short) fpu.fcw());
            s.set(ValueLayout.JAVA_SHORT, FPU_FSW, (short) fpu.fsw());
            s.set(ValueLayout.JAVA_BYTE, FPU_FTWX, (byte) fpu.ftwx());
            s.set(ValueLayout.JAVA_INT, FPU_MXCSR, fpu.mxcsr());
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_FPU, s);
        }
    }

    /** KVM_SET_CPUID2: what CPUID returns inside the guest. */
    public void setCpuid(List<CpuidEntry> entries) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_CPUID2, Kvm.writeCpuid(a, entries));
        }
    }

    /** KVM_GET_CPUID2: what was set (at most {@code max} entries). */
    public List<CpuidEntry> cpuid(int max) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(KvmIoctls.SIZEOF_CPUID2_HEADER + (long) max * KvmIoctls.SIZEOF_CPUID_ENTRY2);
            buf.set(ValueLayout.JAVA_INT, 0, max);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_CPUID2, buf);
            return Kvm.readCpuid(buf);
        }
    }

    /** KVM_SET_MSRS; fails naming the first MSR the kernel did not accept. */
    public void setMsrs(List<MsrEntry> msrs) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = msrBuffer(a, msrs.size());
            for (int i = 0; i < msrs.size(); i++) {
                long o = KvmIoctls.SIZEOF_MSRS_HEADER + (long) i * KvmIoctls.SIZEOF_MSR_ENTRY;
                buf.set(ValueLayout.JAVA_INT, o, msrs.get(i).index());
                buf.set(ValueLayout.JAVA_LONG, o + 8, msrs.get(i).data());
            }
            int done = Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_MSRS, buf);
            if (done != msrs.size()) {
                throw new ErrnoException("KVM_SET_MSRS(vcpu " + id + "): MSR 0x" + Integer.toHexString(msrs.get(done).index())
                        + " refused", Errno.EINVAL);
            }
        }
    }

    /** KVM_GET_MSRS for {@code indexes}. */
    public List<MsrEntry> msrs(int... indexes) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = msrBuffer(a, indexes.length);
            for (int i = 0; i < indexes.length; i++) {
                buf.set(ValueLayout.JAVA_INT, KvmIoctls.SIZEOF_MSRS_HEADER + (long) i * KvmIoctls.SIZEOF_MSR_ENTRY, indexes[i]);
            }
            int done = Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_MSRS, buf);
            List<MsrEntry> out = new ArrayList<>(done);
            for (int i = 0; i < done; i++) {
                long o = KvmIoctls.SIZEOF_MSRS_HEADER + (long) i * KvmIoctls.SIZEOF_MSR_ENTRY;
                out.add(new MsrEntry(buf.get(ValueLayout.JAVA_INT, o), buf.get(ValueLayout.JAVA_LONG, o + 8)));
            }
            return out;
        }
    }

    private static MemorySegment msrBuffer(Arena a, int n) {
        MemorySegment buf = a.allocate(KvmIoctls.SIZEOF_MSRS_HEADER + (long) n * KvmIoctls.SIZEOF_MSR_ENTRY);
        buf.set(ValueLayout.JAVA_INT, 0, n);
        return buf;
    }

    /** KVM_GET_LAPIC: the in-kernel local APIC's 1 KiB register page. */
    public byte[] lapic() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_LAPIC_STATE);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_LAPIC, s);
            return s.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public void setLapic(byte[] registers) throws ErrnoException {
        if (registers.length != KvmIoctls.SIZEOF_LAPIC_STATE) {
            throw new IllegalArgumentException("a LAPIC state is " + KvmIoctls.SIZEOF_LAPIC_STATE + " bytes, not " + registers.length);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(ValueLayout.JAVA_BYTE, registers);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_LAPIC, s);
        }
    }

    public int mpState() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_MP_STATE);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_MP_STATE, s);
            return s.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public void setMpState(int state) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_MP_STATE);
            s.set(ValueLayout.JAVA_INT, 0, state);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_MP_STATE, s);
        }
    }

    /**
     * Sets {@code kvm_run.immediate_exit}: while set, KVM_RUN returns EINTR at once instead of
     * entering the guest. Safe from any thread; pair it with a signal to interrupt a running vCPU.
     */
    public void setImmediateExit(boolean exit) {
        BYTE.setVolatile(run, (long) RUN_IMMEDIATE_EXIT, (byte) (exit ? 1 : 0));
    }

    /**
     * KVM_RUN: enters the guest until the next exit to user space. The hot path of a VM with port
     * or MMIO traffic (every byte of a serial console is two exits), so it allocates only the exit
     * and its data (the bytes written, or a slice of kvm_run for the value read).
     */
    public VcpuExit run() throws ErrnoException {
        if (Ioctl.call(errno, fd.num(), KvmIoctls.KVM_RUN, 0L) < 0) {
            int e = Native.errno(errno);
            if (e == Errno.EINTR || e == Errno.EAGAIN) {
                return new VcpuExit.Interrupted();
            }
            throw new ErrnoException("ioctl(vCPU " + id + ", KVM_RUN)", e);
        }
        int reason = view.getInt(RUN_EXIT_REASON);
        return switch (reason) {
            case EXIT_IO -> {
                int size = Byte.toUnsignedInt(view.get(IO_SIZE));
                int port = Short.toUnsignedInt(view.getShort(IO_PORT));
                int count = view.getInt(IO_COUNT);
                // the kernel's offset into this mapping (the page after kvm_run), checked by slice
                ByteBuffer data = view.slice((int) view.getLong(IO_DATA_OFFSET), size * count).order(ByteOrder.LITTLE_ENDIAN);
                if (view.get(IO_DIRECTION) == IO_DIRECTION_OUT) {
                    byte[] bytes = new byte[size * count];
                    data.get(0, bytes);
                    yield new VcpuExit.IoOut(port, size, count, bytes);
                }
                yield new VcpuExit.IoIn(port, size, count, data);
            }
            case EXIT_MMIO -> {
                long address = view.getLong(MMIO_ADDRESS);
                int len = Math.min(view.getInt(MMIO_LEN), 8);
                if (view.get(MMIO_IS_WRITE) != 0) {
                    byte[] bytes = new byte[len];
                    view.get(MMIO_DATA, bytes);
                    yield new VcpuExit.MmioWrite(address, bytes);
                }
                yield new VcpuExit.MmioRead(address, view.slice(MMIO_DATA, len).order(ByteOrder.LITTLE_ENDIAN));
            }
            case EXIT_HLT -> new VcpuExit.Hlt();
            case EXIT_SHUTDOWN -> new VcpuExit.Shutdown();
            case EXIT_INTR -> new VcpuExit.Interrupted();
            case EXIT_SYSTEM_EVENT -> new VcpuExit.SystemEvent(view.getInt(RUN_UNION), eventData());
            case EXIT_INTERNAL_ERROR -> new VcpuExit.InternalError(view.getInt(RUN_UNION), eventData());
            case EXIT_FAIL_ENTRY -> new VcpuExit.FailEntry(view.getLong(RUN_UNION), view.getInt(RUN_UNION + 8));
            case EXIT_UNKNOWN -> new VcpuExit.Unknown(view.getLong(RUN_UNION));
            default -> new VcpuExit.Other(reason);
        };
    }

    private long[] eventData() {
        int n = Math.min(Math.max(view.getInt(EVENT_NDATA), 0), EVENT_MAX_DATA);
        long[] data = new long[n];
        for (int i = 0; i < n; i++) {
            data[i] = view.getLong(EVENT_DATA + i * 8);
        }
        return data;
    }

    @Override
    public void close() {
        try {
            if (fd.isOpen()) {
                Mman.munmap(run);
                arena.close();
            }
        } catch (ErrnoException ignored) {
            // the mapping goes with the process
        }
        fd.close();
    }
}
