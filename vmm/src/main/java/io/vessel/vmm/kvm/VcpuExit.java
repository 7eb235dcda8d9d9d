package io.vessel.vmm.kvm;

import java.nio.ByteBuffer;

/**
 * Why {@code KVM_RUN} returned: the {@code exit_reason} of the vCPU's {@code kvm_run} area with the
 * fields that go with it (include/uapi/linux/kvm.h). Reads ({@link IoIn}, {@link MmioRead}) carry
 * the slice of {@code kvm_run} where the VMM puts the value the guest will receive on the next run,
 * as a little-endian {@link ByteBuffer}: the interpreter runs a buffer's absolute puts several
 * times faster than a memory segment's, and a vCPU exit is short Java on a hot path.
 */
public sealed interface VcpuExit {
    /** {@code in}/{@code ins} from {@code port}: fill {@code data} ({@code size * count} bytes). */
    record IoIn(int port, int size, int count, ByteBuffer data) implements VcpuExit {
    }

    /** {@code out}/{@code outs} to {@code port}: {@code count} items of {@code size} bytes. */
    record IoOut(int port, int size, int count, byte[] data) implements VcpuExit {
    }

    /** A load from guest-physical {@code address} that no RAM backs: fill {@code data}. */
    record MmioRead(long address, ByteBuffer data) implements VcpuExit {
    }

    /** A store to guest-physical {@code address} that no RAM backs. */
    record MmioWrite(long address, byte[] data) implements VcpuExit {
    }

    /** HLT, when the kernel does not handle it (no in-kernel LAPIC). */
    record Hlt() implements VcpuExit {
    }

    /** A triple fault: the CPU would reset. */
    record Shutdown() implements VcpuExit {
    }

    /** KVM_EXIT_SYSTEM_EVENT: {@link #SHUTDOWN}, {@link #RESET} or {@link #CRASH}. */
    record SystemEvent(int type, long[] data) implements VcpuExit {
        public static final int SHUTDOWN = 1, RESET = 2, CRASH = 3;
    }

    /** KVM could not go on, e.g. an instruction its emulator does not know ({@link #EMULATION}). */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        public static final int EMULATION = 1, SIMUL_EX = 2, DELIVERY_EV = 3, UNEXPECTED_EXIT_REASON = 4;

        public String describe() {
            String what = switch (suberror) {
                case EMULATION -> "emulation failure";
                case SIMUL_EX -> "exception while handling an exception";
                case DELIVERY_EV -> "exit while delivering an event";
                case UNEXPECTED_EXIT_REASON -> "unexpected exit reason";
                default -> "suberror " + suberror;
            };
            StringBuilder b = new StringBuilder("KVM internal error: ").append(what);
            for (long d : data) {
                b.append(" 0x").append(Long.toHexString(d));
            }
            return b.toString();
        }
    }

    /** The hardware refused to enter the guest (invalid guest state). */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {
    }

    /** KVM_RUN returned EINTR: a signal or {@code immediate_exit}, i.e. the VMM asked the vCPU to stop. */
    record Interrupted() implements VcpuExit {
    }

    /** KVM_EXIT_UNKNOWN with the hardware's exit reason. */
    record Unknown(long hardwareReason) implements VcpuExit {
    }

    /** An exit reason this VMM does not request and does not model. */
    record Other(int exitReason) implements VcpuExit {
    }
}
