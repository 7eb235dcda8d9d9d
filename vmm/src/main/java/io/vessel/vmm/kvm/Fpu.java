package io.vessel.vmm.kvm;

/**
 * The control part of {@code struct kvm_fpu}: x87 control/status/tag words and SSE's MXCSR. The
 * register contents are not modelled: a VMM only sets the reset values before boot.
 */
public record Fpu(int fcw, int fsw, int ftwx, int mxcsr) {
    /** x87 FNINIT control word and MXCSR's power-on value (Intel SDM vol. 1, 8.1.5 and 10.2.3.1). */
    public static final Fpu INITIAL = new Fpu(0x37F, 0, 0, 0x1F80);
}
