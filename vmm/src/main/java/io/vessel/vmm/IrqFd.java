package io.vessel.vmm;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.EventFd;
import io.vessel.vmm.devices.IrqLine;
import io.vessel.vmm.devices.virtio.Interrupt;
import io.vessel.vmm.kvm.VmFd;

/**
 * An interrupt line wired through KVM_IRQFD: raising it is one eventfd write, from any thread,
 * and KVM injects an edge on the GSI (through the in-kernel IOAPIC and PIC) without the VMM
 * touching the irqchip or stopping a vCPU. Serves both the legacy devices ({@link IrqLine}) and
 * the virtio transports ({@link Interrupt}).
 */
public final class IrqFd implements IrqLine, Interrupt, AutoCloseable {
    private final VmFd vm;
    private final EventFd eventFd;
    private final int gsi;
    private volatile boolean closed;

    private IrqFd(VmFd vm, EventFd eventFd, int gsi) {
        this.vm = vm;
        this.eventFd = eventFd;
        this.gsi = gsi;
    }

    /** A new eventfd registered with {@code vm} as the irqfd of {@code gsi}. */
    public static IrqFd register(VmFd vm, int gsi) throws ErrnoException {
        EventFd e = EventFd.create();
        try {
            vm.registerIrqfd(e.num(), gsi);
        } catch (ErrnoException | RuntimeException x) {
            e.close();
            throw x;
        }
        return new IrqFd(vm, e, gsi);
    }

    public int gsi() {
        return gsi;
    }

    /** Raises the line; once closed (the VM is gone) it does nothing, e.g. for console input still arriving. */
    @Override
    public void trigger() {
        if (closed) {
            return;
        }
        try {
            eventFd.signal();
        } catch (ErrnoException e) {
            throw new IllegalStateException("raising GSI " + gsi + " through its irqfd failed: " + e.getMessage(), e);
        }
    }

    /** Deassigns the irqfd from KVM and closes the eventfd. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            vm.unregisterIrqfd(eventFd.num(), gsi);
        } catch (ErrnoException ignored) {
            // the VM fd is going too: closing it releases every irqfd
        } finally {
            eventFd.close();
        }
    }
}
