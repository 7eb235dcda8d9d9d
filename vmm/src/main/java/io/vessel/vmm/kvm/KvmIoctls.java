package io.vessel.vmm.kvm;

/**
 * The KVM ioctl request numbers and capability numbers this VMM uses, each computed once from the
 * {@code _IO/_IOR/_IOW/_IOWR} encoding of include/uapi/asm-generic/ioctl.h with the type, number
 * and argument size of include/uapi/linux/kvm.h (x86-64 struct sizes).
 */
final class KvmIoctls {
    /** include/uapi/linux/kvm.h: {@code #define KVMIO 0xAE}. */
    private static final int KVMIO = 0xAE;
    // asm-generic/ioctl.h: direction bits at 30, size at 16, type at 8, number at 0
    private static final int IOC_NONE = 0, IOC_WRITE = 1, IOC_READ = 2;
    private static final int DIR_SHIFT = 30, SIZE_SHIFT = 16, TYPE_SHIFT = 8;

    static long io(int nr) {
        return ioc(IOC_NONE, nr, 0);
    }

    static long ior(int nr, int size) {
        return ioc(IOC_READ, nr, size);
    }

    static long iow(int nr, int size) {
        return ioc(IOC_WRITE, nr, size);
    }

    static long iowr(int nr, int size) {
        return ioc(IOC_READ | IOC_WRITE, nr, size);
    }

    private static long ioc(int dir, int nr, int size) {
        return ((long) dir << DIR_SHIFT) | ((long) size << SIZE_SHIFT) | ((long) KVMIO << TYPE_SHIFT) | nr;
    }

    // struct sizes on x86-64 (arch/x86/include/uapi/asm/kvm.h, include/uapi/linux/kvm.h)
    static final int SIZEOF_CPUID2_HEADER = 8;          // struct kvm_cpuid2 without entries
    static final int SIZEOF_CPUID_ENTRY2 = 40;          // struct kvm_cpuid_entry2
    static final int SIZEOF_MSRS_HEADER = 8;            // struct kvm_msrs without entries
    static final int SIZEOF_MSR_ENTRY = 16;             // struct kvm_msr_entry
    static final int SIZEOF_DIRTY_LOG = 16;             // struct kvm_dirty_log
    static final int SIZEOF_USER_MEMORY_REGION = 32;    // struct kvm_userspace_memory_region
    static final int SIZEOF_IRQ_LEVEL = 8;              // struct kvm_irq_level
    static final int SIZEOF_IRQFD = 32;                 // struct kvm_irqfd
    static final int SIZEOF_PIT_CONFIG = 64;            // struct kvm_pit_config
    static final int SIZEOF_IOEVENTFD = 64;             // struct kvm_ioeventfd
    static final int SIZEOF_REGS = 144;                 // struct kvm_regs: 18 u64
    static final int SIZEOF_SREGS = 312;                // struct kvm_sregs
    static final int SIZEOF_FPU = 416;                  // struct kvm_fpu
    static final int SIZEOF_LAPIC_STATE = 1024;         // struct kvm_lapic_state
    static final int SIZEOF_MP_STATE = 4;               // struct kvm_mp_state

    // system fd
    static final long KVM_GET_API_VERSION = io(0x00);
    static final long KVM_CREATE_VM = io(0x01);
    static final long KVM_CHECK_EXTENSION = io(0x03);
    static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, SIZEOF_CPUID2_HEADER);
    // VM fd
    static final long KVM_CREATE_VCPU = io(0x41);
    static final long KVM_GET_DIRTY_LOG = iow(0x42, SIZEOF_DIRTY_LOG);
    static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, SIZEOF_USER_MEMORY_REGION);
    static final long KVM_SET_TSS_ADDR = io(0x47);
    static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, Long.BYTES);
    static final long KVM_CREATE_IRQCHIP = io(0x60);
    static final long KVM_IRQ_LINE = iow(0x61, SIZEOF_IRQ_LEVEL);
    static final long KVM_IRQFD = iow(0x76, SIZEOF_IRQFD);
    static final long KVM_CREATE_PIT2 = iow(0x77, SIZEOF_PIT_CONFIG);
    static final long KVM_IOEVENTFD = iow(0x79, SIZEOF_IOEVENTFD);
    // vCPU fd
    static final long KVM_RUN = io(0x80);
    static final long KVM_GET_REGS = ior(0x81, SIZEOF_REGS);
    static final long KVM_SET_REGS = iow(0x82, SIZEOF_REGS);
    static final long KVM_GET_SREGS = ior(0x83, SIZEOF_SREGS);
    static final long KVM_SET_SREGS = iow(0x84, SIZEOF_SREGS);
    static final long KVM_GET_MSRS = iowr(0x88, SIZEOF_MSRS_HEADER);
    static final long KVM_SET_MSRS = iow(0x89, SIZEOF_MSRS_HEADER);
    static final long KVM_GET_FPU = ior(0x8c, SIZEOF_FPU);
    static final long KVM_SET_FPU = iow(0x8d, SIZEOF_FPU);
    static final long KVM_GET_LAPIC = ior(0x8e, SIZEOF_LAPIC_STATE);
    static final long KVM_SET_LAPIC = iow(0x8f, SIZEOF_LAPIC_STATE);
    static final long KVM_SET_CPUID2 = iow(0x90, SIZEOF_CPUID2_HEADER);
    static final long KVM_GET_CPUID2 = iowr(0x91, SIZEOF_CPUID2_HEADER);
    static final long KVM_GET_MP_STATE = ior(0x98, SIZEOF_MP_STATE);
    static final long KVM_SET_MP_STATE = iow(0x99, SIZEOF_MP_STATE);

    /** The one API version there has ever been (include/uapi/linux/kvm.h, KVM_API_VERSION). */
    static final int KVM_API_VERSION = 12;

    private KvmIoctls() {
    }
}
