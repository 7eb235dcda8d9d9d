package io.vessel.vmm.kvm;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which KVM implementation backs /dev/kvm. On Intel VMX and AMD SVM a guest runs at native speed.
 * Under PVM (the kvm_pvm module: KVM without hardware virtualization, for nested clouds) only a
 * PVM-aware guest kernel runs natively; any other guest has its kernel-mode code emulated
 * instruction by instruction, about 0.5 M instructions/s, so the VMM must say so up front.
 */
public enum Virtualization {
    VMX("Intel VMX (kvm_intel)"),
    SVM("AMD SVM (kvm_amd)"),
    PVM("PVM (kvm_pvm, no hardware virtualization)"),
    UNKNOWN("an unrecognised KVM module");

    /** Where loaded modules appear; the module names are those of arch/x86/kvm/Makefile. */
    private static final Path SYS_MODULE = Path.of("/sys/module");

    private final String description;

    Virtualization(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** Whether guests that are not PVM-aware run emulated here. */
    public boolean emulatesUnawareGuests() {
        return this == PVM;
    }

    /** The host's KVM flavour, read from the loaded modules (PVM first: it may sit beside kvm_intel). */
    public static Virtualization detect() {
        return detect(SYS_MODULE);
    }

    static Virtualization detect(Path sysModule) {
        if (Files.isDirectory(sysModule.resolve("kvm_pvm"))) {
            return PVM;
        }
        if (Files.isDirectory(sysModule.resolve("kvm_intel"))) {
            return VMX;
        }
        if (Files.isDirectory(sysModule.resolve("kvm_amd"))) {
            return SVM;
        }
        return UNKNOWN;
    }
}
