package io.vessel.vmm.kvm;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Ioctl;
import io.vessel.linux.Mman;
import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.MemoryRegion;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A VM file descriptor: guest memory slots and their dirty logs, the in-kernel interrupt
 * controllers and PIT, interrupt lines, irqfds and ioeventfds, and new vCPUs.
 */
public final class VmFd implements AutoCloseable {
    /** kvm_userspace_memory_region.flags (include/uapi/linux/kvm.h). */
    public static final int MEM_LOG_DIRTY_PAGES = 1, MEM_READONLY = 2;
    /** kvm_ioeventfd.flags bits (include/uapi/linux/kvm.h: kvm_ioeventfd_flag_nr_datamatch 0, _pio 1, _deassign 2). */
    private static final int IOEVENTFD_DATAMATCH = 1, IOEVENTFD_PIO = 2, IOEVENTFD_DEASSIGN = 4;
    /** kvm_irqfd.flags: KVM_IRQFD_FLAG_DEASSIGN. */
    private static final int IRQFD_DEASSIGN = 1;
    /** kvm_pit_config.flags: KVM_PIT_SPEAKER_DUMMY, port 0x61 handled in the kernel. */
    private static final int PIT_SPEAKER_DUMMY = 1;

    private final Fd fd;
    private final int vcpuMmapSize;

    VmFd(Fd fd, int vcpuMmapSize) {
        this.fd = fd;
        this.vcpuMmapSize = vcpuMmapSize;
    }

    /** KVM_SET_USER_MEMORY_REGION: guest-physical {@code [gpa, gpa+host.size)} backed by {@code host}; size 0 deletes the slot. */
    public void setMemoryRegion(int slot, long gpa, MemorySegment host, int flags) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(KvmIoctls.SIZEOF_USER_MEMORY_REGION);
            r.set(ValueLayout.JAVA_INT, 0, slot);
            r.set(ValueLayout.JAVA_INT, 4, flags);
            r.set(ValueLayout.JAVA_LONG, 8, gpa);
            r.set(ValueLayout.JAVA_LONG, 16, host.byteSize());
            r.set(ValueLayout.JAVA_LONG, 24, host.address());
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_USER_MEMORY_REGION, r);
        }
    }

    /** Every region of {@code memory} as the slot it names, dirty logging as requested. */
    public void registerMemory(GuestMemory memory, boolean logDirtyPages) throws ErrnoException {
        for (MemoryRegion region : memory.regions()) {
            setDirtyLogging(region, logDirtyPages);
        }
    }

    /** Turns dirty-page logging on or off for one region (re-registers its slot with the flag). */
    public void setDirtyLogging(MemoryRegion region, boolean on) throws ErrnoException {
        setMemoryRegion(region.slot(), region.start().value(), region.host(), on ? MEM_LOG_DIRTY_PAGES : 0);
    }

    /**
     * KVM_GET_DIRTY_LOG: one bit per 4 KiB page of the region written since the last call (the
     * kernel clears the log as it returns it). The slot must have logging on.
     */
    public long[] dirtyLog(MemoryRegion region) throws ErrnoException {
        long pages = (region.size() + GuestMemory.PAGE_SIZE - 1) / GuestMemory.PAGE_SIZE;
        int words = (int) ((pages + 63) / 64);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment bitmap = a.allocate((long) words * Long.BYTES, Long.BYTES);
            MemorySegment log = a.allocate(KvmIoctls.SIZEOF_DIRTY_LOG);
            log.set(ValueLayout.JAVA_INT, 0, region.slot());
            log.set(ValueLayout.JAVA_LONG, 8, bitmap.address());
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_DIRTY_LOG, log);
            return bitmap.toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** KVM_SET_TSS_ADDR: three pages of guest-physical space KVM may use for VMX real-mode emulation. */
    public void setTssAddress(long gpa) throws ErrnoException {
        Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_TSS_ADDR, gpa);
    }

    /** KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map of real mode (VMX without unrestricted guest). */
    public void setIdentityMapAddress(long gpa) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, a.allocateFrom(ValueLayout.JAVA_LONG, gpa));
        }
    }

    /** KVM_CREATE_IRQCHIP: the in-kernel PIC pair, IOAPIC and a LAPIC per vCPU created afterwards. */
    public void createIrqchip() throws ErrnoException {
        Ioctl.ioctl(fd.num(), KvmIoctls.KVM_CREATE_IRQCHIP, 0L);
    }

    /** KVM_CREATE_PIT2: the in-kernel i8254 timer (after the irqchip), with a dummy speaker port. */
    public void createPit2() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment config = a.allocate(KvmIoctls.SIZEOF_PIT_CONFIG);
            config.set(ValueLayout.JAVA_INT, 0, PIT_SPEAKER_DUMMY);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_CREATE_PIT2, config);
        }
    }

    /** KVM_IRQ_LINE: raises or lowers GSI {@code irq} of the in-kernel irqchip. */
    public void irqLine(int irq, boolean level) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_IRQ_LEVEL);
            s.set(ValueLayout.JAVA_INT, 0, irq);
            s.set(ValueLayout.JAVA_INT, 4, level ? 1 : 0);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_IRQ_LINE, s);
        }
    }

    /** KVM_IRQFD: a write to eventfd {@code eventFd} injects GSI {@code gsi} (edge). */
    public void registerIrqfd(int eventFd, int gsi) throws ErrnoException {
        irqfd(eventFd, gsi, 0);
    }

    public void unregisterIrqfd(int eventFd, int gsi) throws ErrnoException {
        irqfd(eventFd, gsi, IRQFD_DEASSIGN);
    }

    private void irqfd(int eventFd, int gsi, int flags) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_IRQFD);
            s.set(ValueLayout.JAVA_INT, 0, eventFd);
            s.set(ValueLayout.JAVA_INT, 4, gsi);
            s.set(ValueLayout.JAVA_INT, 8, flags);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_IRQFD, s);
        }
    }

    /**
     * KVM_IOEVENTFD: a guest write of {@code length} bytes to MMIO address (or I/O port, {@code pio})
     * {@code address} signals {@code eventFd} in the kernel, without an exit to user space; with a
     * non-null {@code datamatch} only writes of that value do.
     */
    public void registerIoeventfd(int eventFd, long address, int length, boolean pio, Long datamatch) throws ErrnoException {
        ioeventfd(eventFd, address, length, pio, datamatch, 0);
    }

    public void unregisterIoeventfd(int eventFd, long address, int length, boolean pio, Long datamatch) throws ErrnoException {
        ioeventfd(eventFd, address, length, pio, datamatch, IOEVENTFD_DEASSIGN);
    }

    private void ioeventfd(int eventFd, long address, int length, boolean pio, Long datamatch, int extra)
            throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(KvmIoctls.SIZEOF_IOEVENTFD);
            s.set(ValueLayout.JAVA_LONG, 0, datamatch == null ? 0 : datamatch);
            s.set(ValueLayout.JAVA_LONG, 8, address);
            s.set(ValueLayout.JAVA_INT, 16, length);
            s.set(ValueLayout.JAVA_INT, 20, eventFd);
            s.set(ValueLayout.JAVA_INT, 24, extra | (pio ? IOEVENTFD_PIO : 0) | (datamatch != null ? IOEVENTFD_DATAMATCH : 0));
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_IOEVENTFD, s);
        }
    }

    /** KVM_CREATE_VCPU with APIC id {@code id}, its {@code kvm_run} area mapped. */
    public VcpuFd createVcpu(int id) throws ErrnoException {
        Fd vcpu = Fd.adopt(Ioctl.ioctl(fd.num(), KvmIoctls.KVM_CREATE_VCPU, id));
        try {
            MemorySegment run = Mman.mmap(vcpuMmapSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, vcpu.num(), 0);
            return new VcpuFd(id, vcpu, run);
        } catch (ErrnoException | RuntimeException e) {
            vcpu.close();
            throw e;
        }
    }

    @Override
    public void close() {
        fd.close();
    }
}
