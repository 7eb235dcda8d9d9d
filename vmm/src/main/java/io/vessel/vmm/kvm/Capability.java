package io.vessel.vmm.kvm;

/**
 * The KVM capabilities this VMM relies on, with their {@code KVM_CAP_*} numbers from
 * include/uapi/linux/kvm.h. {@link Kvm#require} turns a missing one into an error that names it.
 */
public enum Capability {
    IRQCHIP(0, "in-kernel interrupt controllers (KVM_CREATE_IRQCHIP)"),
    HLT(1, "HLT handled in the kernel"),
    USER_MEMORY(3, "guest memory in user mappings (KVM_SET_USER_MEMORY_REGION)"),
    SET_TSS_ADDR(4, "KVM_SET_TSS_ADDR"),
    EXT_CPUID(7, "KVM_GET_SUPPORTED_CPUID"),
    NR_VCPUS(9, "recommended vCPU count"),
    IRQ_ROUTING(25, "interrupt routing"),
    IRQFD(32, "interrupts from eventfds (KVM_IRQFD)"),
    PIT2(33, "in-kernel PIT (KVM_CREATE_PIT2)"),
    IOEVENTFD(36, "eventfds signalled by guest writes (KVM_IOEVENTFD)"),
    SET_IDENTITY_MAP_ADDR(37, "KVM_SET_IDENTITY_MAP_ADDR"),
    MAX_VCPUS(66, "maximum vCPU count"),
    IMMEDIATE_EXIT(136, "kvm_run.immediate_exit, to stop a vCPU without races");

    private final int number;
    private final String what;

    Capability(int number, String what) {
        this.number = number;
        this.what = what;
    }

    public int number() {
        return number;
    }

    public String what() {
        return what;
    }
}
