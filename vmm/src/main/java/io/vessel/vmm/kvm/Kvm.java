package io.vessel.vmm.kvm;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Errno;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Ioctl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The KVM system file descriptor, /dev/kvm: the API version, capabilities, the CPUID features the
 * host can give a guest, the size of a vCPU's shared {@code kvm_run} area, and new VMs.
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** Enough for any host's KVM_GET_SUPPORTED_CPUID (arch/x86/kvm/cpuid.c caps it at 256). */
    private static final int MAX_CPUID_ENTRIES = 256;
    private static final int O_CLOEXEC = 02000000;

    private final Fd fd;
    private final Virtualization virtualization;

    private Kvm(Fd fd, Virtualization virtualization) {
        this.fd = fd;
        this.virtualization = virtualization;
    }

    /** Opens /dev/kvm and checks its API version and the capabilities every VM here needs. */
    public static Kvm open() throws KvmException {
        Fd fd;
        try {
            fd = Files.open(DEVICE, Files.O_RDWR | O_CLOEXEC, 0);
        } catch (ErrnoException e) {
            throw new KvmException(DEVICE + " cannot be opened (" + Errno.name(e.errno())
                    + "): load kvm_intel, kvm_amd or kvm_pvm and run as a user with access to it", e);
        }
        Kvm kvm = new Kvm(fd, Virtualization.detect());
        try {
            int version = Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_API_VERSION, 0L);
            if (version != KvmIoctls.KVM_API_VERSION) {
                throw new KvmException(DEVICE + " speaks KVM API version " + version + ", this VMM needs "
                        + KvmIoctls.KVM_API_VERSION);
            }
            for (Capability c : List.of(Capability.USER_MEMORY, Capability.IRQCHIP, Capability.EXT_CPUID,
                    Capability.IMMEDIATE_EXIT, Capability.SET_TSS_ADDR)) {
                kvm.require(c);
            }
        } catch (KvmException e) {
            kvm.close();
            throw e;
        } catch (ErrnoException e) {
            kvm.close();
            throw new KvmException(DEVICE + ": " + e.getMessage(), e);
        }
        return kvm;
    }

    public Virtualization virtualization() {
        return virtualization;
    }

    /** KVM_CHECK_EXTENSION: 0 when absent, otherwise 1 or a capability-specific value. */
    public int check(Capability capability) throws ErrnoException {
        return Ioctl.ioctl(fd.num(), KvmIoctls.KVM_CHECK_EXTENSION, capability.number());
    }

    /** Fails with a message naming the capability when the host lacks it. */
    public void require(Capability capability) throws KvmException {
        try {
            if (check(capability) <= 0) {
                throw new KvmException("KVM on this host lacks KVM_CAP_" + capability.name() + " ("
                        + capability.what() + "); a newer kernel is needed");
            }
        } catch (ErrnoException e) {
            throw new KvmException("KVM_CHECK_EXTENSION(KVM_CAP_" + capability.name() + "): " + e.getMessage(), e);
        }
    }

    /** The most vCPUs a VM may have here. */
    public int maxVcpus() throws ErrnoException {
        int max = check(Capability.MAX_VCPUS);
        return max > 0 ? max : check(Capability.NR_VCPUS);
    }

    /** Size of each vCPU's {@code kvm_run} mapping. */
    public int vcpuMmapSize() throws ErrnoException {
        return Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_VCPU_MMAP_SIZE, 0L);
    }

    /** KVM_GET_SUPPORTED_CPUID: every leaf the host can expose, already filtered by KVM. */
    public List<CpuidEntry> supportedCpuid() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(KvmIoctls.SIZEOF_CPUID2_HEADER
                    + (long) MAX_CPUID_ENTRIES * KvmIoctls.SIZEOF_CPUID_ENTRY2);
            buf.set(ValueLayout.JAVA_INT, 0, MAX_CPUID_ENTRIES);
            Ioctl.ioctl(fd.num(), KvmIoctls.KVM_GET_SUPPORTED_CPUID, buf);
            return readCpuid(buf);
        }
    }

    static List<CpuidEntry> readCpuid(MemorySegment cpuid2) {
        int n = cpuid2.get(ValueLayout.JAVA_INT, 0);
        List<CpuidEntry> entries = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long o = KvmIoctls.SIZEOF_CPUID2_HEADER + (long) i * KvmIoctls.SIZEOF_CPUID_ENTRY2;
            entries.add(new CpuidEntry(cpuid2.get(ValueLayout.JAVA_INT, o), cpuid2.get(ValueLayout.JAVA_INT, o + 4),
                    cpuid2.get(ValueLayout.JAVA_INT, o + 8), cpuid2.get(ValueLayout.JAVA_INT, o + 12),
                    cpuid2.get(ValueLayout.JAVA_INT, o + 16), cpuid2.get(ValueLayout.JAVA_INT, o + 20),
                    cpuid2.get(ValueLayout.JAVA_INT, o + 24)));
        }
        return entries;
    }

    static MemorySegment writeCpuid(Arena arena, List<CpuidEntry> entries) {
        MemorySegment buf = arena.allocate(KvmIoctls.SIZEOF_CPUID2_HEADER
                + (long) entries.size() * KvmIoctls.SIZEOF_CPUID_ENTRY2);
        buf.set(ValueLayout.JAVA_INT, 0, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            long o = KvmIoctls.SIZEOF_CPUID2_HEADER + (long) i * KvmIoctls.SIZEOF_CPUID_ENTRY2;
            buf.set(ValueLayout.JAVA_INT, o, e.function());
            buf.set(ValueLayout.JAVA_INT, o + 4, e.index());
            buf.set(ValueLayout.JAVA_INT, o + 8, e.flags());
            buf.set(ValueLayout.JAVA_INT, o + 12, e.eax());
            buf.set(ValueLayout.JAVA_INT, o + 16, e.ebx());
            buf.set(ValueLayout.JAVA_INT, o + 20, e.ecx());
            buf.set(ValueLayout.JAVA_INT, o + 24, e.edx());
        }
        return buf;
    }

    /** KVM_CREATE_VM: a new, empty VM (no memory, no vCPUs). */
    public VmFd createVm() throws ErrnoException {
        int vm = Ioctl.ioctl(fd.num(), KvmIoctls.KVM_CREATE_VM, 0L);
        return new VmFd(Fd.adopt(vm), vcpuMmapSize());
    }

    @Override
    public void close() {
        fd.close();
    }
}
