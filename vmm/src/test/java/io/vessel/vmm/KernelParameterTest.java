package io.vessel.vmm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Where the VMM adds its own kernel parameters (virtio_mmio.device=): never among init's arguments. */
class KernelParameterTest {
    @Test
    void goesBeforeTheArgumentsOfInit() {
        assertEquals("console=ttyS0 p=1 -- sh -c x", Vm.addKernelParameter("console=ttyS0 -- sh -c x", "p=1"));
        assertEquals("p=1 -- a", Vm.addKernelParameter("-- a", "p=1"));
        assertEquals("a \"b -- c\" p=1 -- d", Vm.addKernelParameter("a \"b -- c\" -- d", "p=1"));
    }

    @Test
    void goesAtTheEndWithoutThem() {
        assertEquals("console=ttyS0 --x p=1", Vm.addKernelParameter("console=ttyS0 --x", "p=1"));
        assertEquals("p=1", Vm.addKernelParameter("", "p=1"));
        assertEquals("a p=1", Vm.addKernelParameter("  a  ", "p=1"));
    }
}
