package io.vessel.vmm;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.EventFd;
import io.vessel.linux.Epoll;
import io.vessel.linux.Threads;
import io.vessel.linux.Tun;
import io.vessel.vmm.acpi.AcpiSleepControl;
import io.vessel.vmm.acpi.AcpiTables;
import io.vessel.vmm.acpi.MmioDeviceInfo;
import io.vessel.vmm.acpi.Placement;
import io.vessel.vmm.acpi.Platform;
import io.vessel.vmm.boot.BootPlan;
import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.E820Entry;
import io.vessel.vmm.boot.Layout;
import io.vessel.vmm.boot.LinuxBoot;
import io.vessel.vmm.boot.X86Cpu;
import io.vessel.vmm.devices.IoBus;
import io.vessel.vmm.devices.MmioDevice;
import io.vessel.vmm.devices.PioDevice;
import io.vessel.vmm.devices.legacy.AcpiPowerOff;
import io.vessel.vmm.devices.legacy.BootTimer;
import io.vessel.vmm.devices.legacy.DebugExit;
import io.vessel.vmm.devices.legacy.I8042;
import io.vessel.vmm.devices.legacy.Serial8250;
import io.vessel.vmm.devices.virtio.BlockDevice;
import io.vessel.vmm.devices.virtio.MmioTransport;
import io.vessel.vmm.devices.virtio.NetDevice;
import io.vessel.vmm.devices.virtio.RngDevice;
import io.vessel.vmm.devices.virtio.VirtioDevice;
import io.vessel.vmm.devices.virtio.VsockDevice;
import io.vessel.vmm.kvm.Capability;
import io.vessel.vmm.kvm.CpuidEntry;
import io.vessel.vmm.kvm.Kvm;
import io.vessel.vmm.kvm.VmFd;
import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.ratelimit.RefillTimer;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An x86-64 virtual machine: guest RAM, the in-kernel irqchip and PIT, the legacy devices (COM1,
 * i8042, debug exit, boot timer) on the port bus, virtio-mmio transports on the MMIO bus, one
 * {@link Vcpu} per vCPU, and one {@link EventLoop} for device work. Interrupts leave the devices
 * through irqfds ({@link IrqFd}); queue notifications reach them through ioeventfds watched by
 * the loop, so a notifying vCPU never waits for the device. Lifecycle: {@link #create} builds and loads the guest, {@link #start}
 * starts the vCPUs, {@link #pause}/{@link #resume}, {@link #awaitExit} or {@link #run} wait for the
 * end; {@link #close} releases threads, fds and mappings, whatever state the VM is in.
 */
public final class Vm implements AutoCloseable {
    /** How long pause/stop wait for the vCPUs to acknowledge. */
    private static final long ACK_TIMEOUT_MILLIS = 5_000;
    /**
     * Guest CIDs of this process's live VMs with vsock: two guests with one CID would make the
     * host's view of "CID n" ambiguous, so the second is refused.
     */
    private static final Set<Long> CIDS_IN_USE = ConcurrentHashMap.newKeySet();

    private final Kvm kvm;
    private final VmFd vmFd;
    private final GuestMemory memory;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final IoBus<PioDevice> pioBus = new IoBus<>();
    private final IoBus<MmioDevice> mmioBus = new IoBus<>();
    private final CompletableFuture<VmExit> exit = new CompletableFuture<>();
    private final Serial8250 serial;
    private final BootTimer bootTimer = new BootTimer();
    /** Closed in reverse order of creation by {@link #close}, after the vCPUs and the loop have stopped. */
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<AttachedDevice> devices = new ArrayList<>();
    private EventLoop loop;
    private IrqFd serialIrq;
    private IrqFd keyboardIrq;
    private final I8042 i8042 = new I8042(this::requestExit, () -> keyboardIrq.trigger());
    private BootPlan plan;
    private Placement acpi;
    private boolean started;
    private boolean closed;

    private Vm(Kvm kvm, VmFd vmFd, GuestMemory memory, VmConfig config) {
        this.kvm = kvm;
        this.vmFd = vmFd;
        this.memory = memory;
        this.serial = new Serial8250(config.serialOut(), () -> serialIrq.trigger());
    }

    /**
     * Builds the machine of {@code config} and loads its guest; the vCPUs are not running yet.
     * On failure nothing is left: no fds, mappings or threads.
     */
    public static Vm create(VmConfig config) throws IOException {
        Trace.mark("configuration read, creating the VM");
        Kvm kvm = Kvm.open();
        Trace.mark("/dev/kvm opened");
        Vm vm = null;
        try {
            kvm.require(Capability.PIT2);
            int max = kvm.maxVcpus();
            if (config.vcpus() > max) {
                throw new IllegalArgumentException(config.vcpus() + " vCPUs asked for; KVM here allows at most " + max);
            }
            if (kvm.virtualization().emulatesUnawareGuests() && !config.guestPvmAware()) {
                config.warnings().println("vessel: warning: this host's KVM is " + kvm.virtualization().description()
                        + "; a guest kernel that is not PVM-aware runs with its kernel code emulated"
                        + " (about 0.5 M instructions/s), so expect minutes where a hardware host takes milliseconds");
            }
            VmFd vmFd = kvm.createVm();
            Trace.mark("VM created");
            GuestMemory memory;
            try {
                memory = GuestMemory.x86(config.memoryBytes());
            } catch (ErrnoException | RuntimeException e) {
                vmFd.close();
                throw e;
            }
            Trace.mark("guest RAM mapped");
            vm = new Vm(kvm, vmFd, memory, config);
            vm.build(config);
            Trace.mark("vCPUs created and configured");
            return vm;
        } catch (IOException | RuntimeException e) {
            if (vm != null) {
                vm.close();
            } else {
                kvm.close();
            }
            throw e;
        }
    }

    private void build(VmConfig config) throws IOException {
        for (DeviceConfig d : config.devices()) {
            if (d instanceof DeviceConfig.Net n && n.tap() != null) {
                keep(n.tap()); // the VM owns taps handed to it, attached or not (closing twice is harmless)
            }
        }
        Threads.installNoOpHandler(Vcpu.KICK_SIGNAL);
        vmFd.setTssAddress(Layout.KVM_TSS);
        vmFd.setIdentityMapAddress(Layout.KVM_IDENTITY_MAP);
        vmFd.createIrqchip();
        vmFd.createPit2();
        vmFd.registerMemory(memory, false);
        Trace.mark("irqchip, PIT and memory slots set up");
        loop = EventLoop.start("vm-events", e -> requestExit(new VmExit.Crashed("device event loop: " + e)));
        serialIrq = keep(IrqFd.register(vmFd, Serial8250.COM1_IRQ));
        keyboardIrq = keep(IrqFd.register(vmFd, I8042.KEYBOARD_IRQ));
        pioBus.register(Serial8250.COM1_BASE, Serial8250.PORT_COUNT, serial);
        pioBus.register(I8042.BASE, I8042.PORT_COUNT, i8042);
        pioBus.register(DebugExit.PORT, 1, new DebugExit(this::requestExit));
        pioBus.register(BootTimer.PORT, 1, bootTimer);
        pioBus.register(AcpiSleepControl.PORT, 1, new AcpiPowerOff(this::requestExit));
        BootSource boot = config.boot();
        List<MmioDeviceInfo> virtio = new ArrayList<>();
        for (int i = 0; i < config.devices().size(); i++) {
            AttachedDevice d = attach(config.devices().get(i), Layout.VIRTIO_MMIO_BASE + i * Layout.VIRTIO_MMIO_STRIDE,
                    Layout.VIRTIO_FIRST_GSI + i);
            virtio.add(new MmioDeviceInfo(d.mmioBase(), MmioTransport.WINDOW_SIZE, d.gsi()));
            boot = new BootSource(boot.kernel(), boot.initrd(), addKernelParameter(boot.cmdline(), d.cmdlineFragment()),
                    boot.preferPvh(), boot.rsdp());
        }
        Trace.mark("devices attached");
        plan = bootWithAcpi(boot, config.vcpus(), virtio);
        Trace.mark("kernel and ACPI tables loaded");
        List<CpuidEntry> supported = kvm.supportedCpuid();
        for (int i = 0; i < config.vcpus(); i++) {
            var fd = vmFd.createVcpu(i);
            vcpus.add(new Vcpu(fd, this));
            X86Cpu.configure(fd, X86Cpu.cpuid(supported, i, config.vcpus(), config.hiddenFeatures()));
            if (i == 0) {
                X86Cpu.configureBoot(fd, plan);
            }
        }
        if (config.serialIn() != null) {
            serial.pump(config.serialIn());
        }
    }

    /**
     * {@code cmdline} with {@code parameter} added among the kernel's parameters: before a
     * standalone {@code --} (what follows it is init's arguments, lib/cmdline.c and
     * init/main.c), else at the end. Double-quoted words are skipped whole, as the kernel does.
     */
    static String addKernelParameter(String cmdline, String parameter) {
        int i = 0;
        int n = cmdline.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(cmdline.charAt(i))) {
                i++;
            }
            int start = i;
            boolean quoted = false;
            while (i < n && (quoted || !Character.isWhitespace(cmdline.charAt(i)))) {
                if (cmdline.charAt(i) == '"') {
                    quoted = !quoted;
                }
                i++;
            }
            if (i - start == 2 && cmdline.startsWith("--", start)) {
                return (cmdline.substring(0, start) + parameter + " " + cmdline.substring(start)).strip();
            }
        }
        return (cmdline.strip() + " " + parameter).strip();
    }

    /**
     * Places {@code config}'s device: a transport on the MMIO bus at {@code base}, an irqfd on
     * {@code gsi}, and an ioeventfd per queue on QueueNotify (datamatch: the queue index) that
     * the device waits on itself ({@link VirtioDevice#notificationFd}) or the event loop watches
     * for it. The irqfd is made first so that it is closed after the device (resources close in
     * reverse order): a device's worker may still complete a request, and interrupt, while it stops.
     */
    private AttachedDevice attach(DeviceConfig config, long base, int gsi) throws IOException {
        IrqFd irq = keep(IrqFd.register(vmFd, gsi));
        VirtioDevice device = switch (config) {
            case DeviceConfig.Block b -> keep(BlockDevice.open(b.path(), b.readOnly(), b.id(), b.limiter(),
                    RefillTimer.shared()));
            case DeviceConfig.Rng r -> new RngDevice();
            case DeviceConfig.Net n -> openNet(n);
            case DeviceConfig.Vsock v -> openVsock(v);
        };
        MmioTransport transport = new MmioTransport(device, memory, irq);
        mmioBus.register(base, MmioTransport.WINDOW_SIZE, transport);
        for (int q = 0; q < device.queueMaxSizes().length; q++) {
            int queue = q;
            EventFd own = device.notificationFd(q);
            if (own != null) {
                signalOnGuestWrite(own, base + MmioTransport.QUEUE_NOTIFY, 4, (long) q);
            } else {
                watchGuestWrite(base + MmioTransport.QUEUE_NOTIFY, 4, (long) q, () -> transport.notifyQueue(queue));
            }
        }
        AttachedDevice d = new AttachedDevice(config, base, gsi, transport);
        devices.add(d);
        return d;
    }

    /**
     * The tap (handed over, created for this VM, or the existing one named) behind a virtio-net device, watched by the
     * loop edge-triggered: the device reads until EAGAIN, or stops with a frame the ring has no
     * room for and must not be woken for it until the driver posts buffers.
     */
    private NetDevice openNet(DeviceConfig.Net n) throws IOException {
        Tun.Tap tap;
        if (n.tap() != null) {
            tap = n.tap();
        } else if (n.create()) {
            tap = keep(HostTaps.create(n));
        } else {
            tap = keep(Tun.openExisting(n.tapName(), n.netns()));
        }
        NetDevice net = keep(NetDevice.open(tap, NetDevice.parseMac(n.mac()), n.rx(), n.tx(), RefillTimer.shared()));
        loop.register(net.tapFd(), Epoll.EPOLLIN | Epoll.EPOLLET, events -> net.onTapReadable());
        return net;
    }

    /** A vsock device whose host side (its Unix sockets' epoll set) the loop watches. */
    private VsockDevice openVsock(DeviceConfig.Vsock v) throws IOException {
        if (!CIDS_IN_USE.add(v.guestCid())) {
            throw new IllegalArgumentException("guest CID " + v.guestCid() + " is already used by another VM of this VMM");
        }
        keep(() -> CIDS_IN_USE.remove(v.guestCid()));
        VsockDevice vsock = keep(VsockDevice.open(v.guestCid(), v.udsPath()));
        loop.register(vsock.hostFd(), events -> vsock.onHostEvents());
        return vsock;
    }

    /**
     * Runs {@code handler} on the event loop whenever the guest writes {@code length} bytes to MMIO
     * address {@code address} (only the value {@code datamatch}, unless null). KVM completes such
     * writes itself (KVM_IOEVENTFD), so the writing vCPU does not leave the kernel; the access never
     * reaches the MMIO bus.
     */
    public void watchGuestWrite(long address, int length, Long datamatch, Runnable handler) throws ErrnoException {
        EventFd efd = keep(EventFd.create());
        signalOnGuestWrite(efd, address, length, datamatch);
        loop.register(efd.num(), events -> {
            if (efd.drain() != 0) {
                handler.run();
            }
        });
    }

    /**
     * Has KVM signal {@code efd} when the guest writes {@code length} bytes to MMIO {@code address}
     * (only the value {@code datamatch}, unless null), until the VM closes. The caller keeps
     * {@code efd} open at least as long as the VM: the registration is undone first, by its number.
     */
    private void signalOnGuestWrite(EventFd efd, long address, int length, Long datamatch) throws ErrnoException {
        vmFd.registerIoeventfd(efd.num(), address, length, false, datamatch);
        keep(() -> vmFd.unregisterIoeventfd(efd.num(), address, length, false, datamatch));
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    /** The virtio devices in the order of {@link VmConfig#devices()}, with where they were placed. */
    public List<AttachedDevice> devices() {
        return List.copyOf(devices);
    }

    public EventLoop eventLoop() {
        return loop;
    }

    /**
     * Loads the guest with its ACPI tables: tables for the VM's vCPUs, COM1, the i8042 and
     * {@code virtio} at {@link AcpiTables#RSDP_ADDRESS}, their range reserved in the e820 map, the
     * RSDP's address handed over by the boot protocol. The tables are written after the loader's
     * structures, so they are what the guest finds there.
     */
    private BootPlan bootWithAcpi(BootSource boot, int vcpus, List<MmioDeviceInfo> virtio) throws IOException {
        AcpiTables tables = AcpiTables.build(Platform.standard(vcpus, virtio));
        Placement placed = tables.place(AcpiTables.RSDP_ADDRESS);
        BootPlan loaded = LinuxBoot.prepare(memory, boot.withRsdp(placed.rsdpAddress()),
                List.of(new E820Entry(placed.start(), placed.end() - placed.start(), E820Entry.RESERVED)));
        acpi = tables.writeTo(memory, placed.rsdpAddress());
        return loaded;
    }

    /** Where this VM's ACPI tables are in guest memory. */
    public Placement acpiTables() {
        return acpi;
    }

    public GuestMemory memory() {
        return memory;
    }

    public VmFd vmFd() {
        return vmFd;
    }

    public IoBus<PioDevice> pioBus() {
        return pioBus;
    }

    public IoBus<MmioDevice> mmioBus() {
        return mmioBus;
    }

    public Serial8250 serial() {
        return serial;
    }

    public BootTimer bootTimer() {
        return bootTimer;
    }

    public BootPlan bootPlan() {
        return plan;
    }

    public List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    /** An edge on GSI {@code gsi} of the in-kernel irqchip. */
    public void pulse(int gsi) {
        try {
            vmFd.irqLine(gsi, true);
            vmFd.irqLine(gsi, false);
        } catch (ErrnoException e) {
            requestExit(new VmExit.Crashed("interrupt " + gsi + " could not be injected: " + e.getMessage()));
        }
    }

    /** Starts every vCPU thread. */
    public synchronized void start() {
        if (closed || started) {
            throw new IllegalStateException(closed ? "the VM is closed" : "the VM has already been started");
        }
        started = true;
        for (Vcpu v : vcpus) {
            v.start();
        }
        Trace.mark("vCPU threads started");
    }

    /** Pauses every vCPU and waits until all are out of the guest. */
    public void pause() throws InterruptedException, TimeoutException {
        for (Vcpu v : vcpus) {
            v.request(Vcpu.State.PAUSED);
        }
        for (Vcpu v : vcpus) {
            if (!v.awaitState(Vcpu.State.PAUSED, ACK_TIMEOUT_MILLIS)) {
                throw new TimeoutException("vCPU " + v.id() + " did not pause within " + ACK_TIMEOUT_MILLIS + " ms");
            }
        }
    }

    public void resume() {
        for (Vcpu v : vcpus) {
            v.request(Vcpu.State.RUNNING);
        }
    }

    /**
     * Types Ctrl-Alt-Del on the VM's keyboard (Firecracker's SendCtrlAltDel): a guest with an
     * i8042 keyboard driver reboots in order, which ends the VM through the i8042 reset.
     *
     * @throws IllegalStateException if the keyboard's buffer is full (the guest is not reading it)
     */
    public void sendCtrlAltDel() {
        if (!i8042.sendCtrlAltDel()) {
            throw new IllegalStateException("the guest has not read the keyboard's previous keys; Ctrl-Alt-Del not sent");
        }
    }

    /** Ends the VM from outside: {@link VmExit.Stopped}, unless it had already ended otherwise. */
    public void stop() {
        requestExit(new VmExit.Stopped());
    }

    /** Records how the VM ended (the first report wins) and stops every vCPU. */
    void requestExit(VmExit why) {
        if (exit.complete(why) && Trace.on()) {
            if (bootTimer.firstWriteNanos() != 0) {
                Trace.at("guest's first instruction (boot timer)", bootTimer.firstWriteNanos());
            }
            Trace.mark("guest ended: " + why);
        }
        for (Vcpu v : vcpus) {
            v.request(Vcpu.State.STOPPED);
        }
    }

    /** Waits for the VM to end and for its vCPU threads to leave; null on timeout. */
    public VmExit awaitExit(Duration timeout) throws InterruptedException {
        try {
            VmExit why = exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            for (Vcpu v : vcpus) {
                v.join();
            }
            return why;
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Starts the VM and runs it to completion. */
    public VmExit run() throws InterruptedException {
        start();
        return awaitExit(Duration.ofDays(365));
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        requestExit(new VmExit.Stopped());
        boolean interrupted = false;
        for (Vcpu v : vcpus) {
            while (true) {
                try {
                    v.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            v.fd().close();
        }
        if (loop != null) {
            loop.close();
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception ignored) {
                // closing the VM fd below releases what KVM still holds
            }
        }
        vmFd.close();
        memory.close();
        kvm.close();
        Trace.mark("VM closed (threads joined, fds and guest RAM released)");
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
