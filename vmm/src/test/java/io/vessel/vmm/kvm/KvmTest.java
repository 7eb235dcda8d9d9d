package io.vessel.vmm.kvm;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.MemoryRegion;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KvmTest {
    @Test
    void ioctlNumbersMatchLinuxHeaders() {
        // values printed by a C program including <linux/kvm.h> (Linux 6.x uapi)
        assertEquals(0xC008AE05L, KvmIoctls.KVM_GET_SUPPORTED_CPUID);
        assertEquals(0x4020AE46L, KvmIoctls.KVM_SET_USER_MEMORY_REGION);
        assertEquals(0x4010AE42L, KvmIoctls.KVM_GET_DIRTY_LOG);
        assertEquals(0x4040AE79L, KvmIoctls.KVM_IOEVENTFD);
        assertEquals(0x8138AE83L, KvmIoctls.KVM_GET_SREGS);
        assertEquals(0x41A0AE8DL, KvmIoctls.KVM_SET_FPU);
        assertEquals(0x8400AE8EL, KvmIoctls.KVM_GET_LAPIC);
        assertEquals(0xAE80L, KvmIoctls.KVM_RUN);
    }

    @Test
    void segmentFromDescriptorDecodesAFlat64BitCodeSegment() {
        Segment s = Segment.fromDescriptor(8, 0x00AF9B000000FFFFL);
        assertEquals(0, s.base());
        assertEquals(0xFFFFFFFF, s.limit());
        assertEquals(11, s.type());
        assertTrue(s.present() && s.l() && s.g() && s.s());
        assertFalse(s.db() || s.unusable());
    }

    @Test
    void dirtyLogReportsPagesTheHostWrote() throws Exception {
        assumeTrue(Files.isWritable(Path.of(Kvm.DEVICE)), "/dev/kvm is not accessible here");
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); GuestMemory mem = GuestMemory.x86(1 << 20)) {
            assertTrue(kvm.supportedCpuid().stream().anyMatch(e -> e.function() == 1));
            assertTrue(kvm.maxVcpus() >= 1);
            MemoryRegion region = mem.regions().getFirst();
            vm.registerMemory(mem, true);
            vm.dirtyLog(region); // clears what registration may have marked
            try (VcpuFd vcpu = vm.createVcpu(0)) {
                Regs regs = vcpu.regs();
                vcpu.setRegs(regs.withRip(0x1234));
                assertEquals(0x1234, vcpu.regs().rip());
            }
            long[] bitmap = vm.dirtyLog(region);
            assertEquals((1 << 20) / 4096 / 64, bitmap.length);
            vm.setDirtyLogging(region, false);
        }
    }

    @Test
    void virtualizationIsDetectedFromLoadedModules() {
        assumeTrue(Files.isDirectory(Path.of("/sys/module/kvm")), "no kvm module loaded");
        assertTrue(Virtualization.detect() != Virtualization.UNKNOWN, "kvm is loaded but its flavour was not recognised");
    }
}
