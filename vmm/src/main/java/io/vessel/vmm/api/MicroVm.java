package io.vessel.vmm.api;

import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.ratelimit.RateLimiter;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The one microVM a control socket configures and runs, with Firecracker's rules: devices and
 * machine settings are taken before InstanceStart and refused after it; the guest's console is
 * {@code console}; when the VM ends, {@code onExit} hears how. Methods are serialised, as the
 * API's requests are in Firecracker.
 */
public final class MicroVm implements AutoCloseable {
    /** Firecracker's InstanceInfo states. */
    public enum State {
        NOT_STARTED("Not started"), RUNNING("Running"), PAUSED("Paused");

        final String wire;

        State(String wire) {
            this.wire = wire;
        }
    }

    public static final String APP_NAME = "Vessel";
    static final String AFTER_START = "The requested operation is not supported after starting the microVM.";
    static final String BEFORE_START = "The requested operation is not supported before starting the microVM.";

    private final String id;
    private final OutputStream console;
    private final InputStream consoleIn;
    private final PrintStream warnings;
    private final Consumer<VmExit> onExit;
    private Requests.BootSource bootSource;
    private Requests.MachineConfig machine = Requests.MachineConfig.DEFAULT;
    private final Map<String, Requests.Drive> drives = new LinkedHashMap<>();
    private final Map<String, Requests.NetworkInterface> interfaces = new LinkedHashMap<>();
    private Requests.Vsock vsock;
    private Vm vm;
    private State state = State.NOT_STARTED;
    private volatile VmExit exit;

    public MicroVm(String id, OutputStream console, PrintStream warnings, Consumer<VmExit> onExit) {
        this(id, console, null, warnings, onExit);
    }

    /** A microVM whose serial console writes to {@code console} and reads {@code consoleIn} (null: no input). */
    public MicroVm(String id, OutputStream console, InputStream consoleIn, PrintStream warnings, Consumer<VmExit> onExit) {
        this.id = id;
        this.console = console;
        this.consoleIn = consoleIn;
        this.warnings = warnings;
        this.onExit = onExit;
    }

    public synchronized State state() {
        return state;
    }

    /** How the VM ended, null while it has not. */
    public VmExit exit() {
        return exit;
    }

    /** GET /: Firecracker's InstanceInfo. */
    public synchronized Map<String, Object> info() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("state", state.wire);
        m.put("vmm_version", version());
        m.put("app_name", APP_NAME);
        return m;
    }

    static String version() {
        String v = MicroVm.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }

    public synchronized void setBootSource(Requests.BootSource b) {
        requireNotStarted();
        bootSource = b;
    }

    public synchronized void setMachineConfig(Requests.MachineConfig m) {
        requireNotStarted();
        machine = m;
    }

    public synchronized Requests.MachineConfig machineConfig() {
        return machine;
    }

    /** Adds or replaces a drive; at most one may be the root device. */
    public synchronized void putDrive(Requests.Drive d) {
        requireNotStarted();
        if (d.isRootDevice()) {
            for (Requests.Drive other : drives.values()) {
                if (other.isRootDevice() && !other.driveId().equals(d.driveId())) {
                    throw new ApiException("drive " + other.driveId() + " is already the root device; a VM has only one");
                }
            }
        }
        drives.put(d.driveId(), d);
    }

    public synchronized Map<String, Requests.Drive> drives() {
        return Map.copyOf(drives);
    }

    /** Adds or replaces a network interface; the host device name and the MAC must be unique. */
    public synchronized void putNetworkInterface(Requests.NetworkInterface n) {
        requireNotStarted();
        for (Requests.NetworkInterface other : interfaces.values()) {
            if (other.ifaceId().equals(n.ifaceId())) {
                continue;
            }
            if (other.hostDevName().equals(n.hostDevName())) {
                throw new ApiException("host device " + n.hostDevName() + " is already used by interface " + other.ifaceId());
            }
            if (n.guestMac() != null && n.guestMac().equalsIgnoreCase(other.guestMac())) {
                throw new ApiException("guest MAC " + n.guestMac() + " is already used by interface " + other.ifaceId());
            }
        }
        interfaces.put(n.ifaceId(), n);
    }

    public synchronized Map<String, Requests.NetworkInterface> networkInterfaces() {
        return Map.copyOf(interfaces);
    }

    public synchronized void setVsock(Requests.Vsock v) {
        requireNotStarted();
        vsock = v;
    }

    public synchronized Requests.Vsock vsock() {
        return vsock;
    }

    /** InstanceStart: builds the VM from what was configured and starts its vCPUs. */
    public synchronized void start() {
        requireNotStarted();
        if (bootSource == null) {
            throw new ApiException("Cannot start microvm without kernel configuration: PUT /boot-source first.");
        }
        VmConfig config = VmConfig.of(BootSource.of(bootSource.kernelImagePath(), bootSource.initrdPath(), bootSource.bootArgs()),
                machine.vcpuCount(), machine.memSizeMib() << 20, console).withSerialIn(consoleIn).withWarnings(warnings);
        try {
            config = attachDevices(config);
            vm = Vm.create(config);
        } catch (IOException | IllegalArgumentException e) {
            throw new ApiException("Start microvm error: " + e.getMessage(), e);
        }
        vm.start();
        state = State.RUNNING;
        Vm started = vm;
        Thread.ofVirtual().name("vm-exit-" + id).start(() -> watch(started));
    }

    /**
     * The devices configured through the API, given to the VM: the root drive first (it is the
     * guest's vda, as in Firecracker), the other drives, the network interfaces (on their
     * existing taps, or on taps the VM creates), then vsock. An interface without {@code guest_mac} gets a locally
     * administered one from its position.
     */
    private VmConfig attachDevices(VmConfig config) {
        List<DeviceConfig> devices = new ArrayList<>();
        drives.values().stream().filter(Requests.Drive::isRootDevice).forEach(d -> devices.add(block(d)));
        drives.values().stream().filter(d -> !d.isRootDevice()).forEach(d -> devices.add(block(d)));
        int i = 0;
        for (Requests.NetworkInterface n : interfaces.values()) {
            String mac = n.guestMac() != null ? n.guestMac() : String.format("06:00:00:00:%02x:%02x", i >> 8 & 0xff, (i & 0xff) + 2);
            DeviceConfig.Net net = n.createTap() ? DeviceConfig.Net.created(n.hostDevName(), n.netns(), mac, n.hostAddress())
                    : DeviceConfig.Net.named(n.hostDevName(), n.netns(), mac);
            devices.add(net.withLimiters(limiter(n.rxRateLimiter()), limiter(n.txRateLimiter())));
            i++;
        }
        if (vsock != null) {
            devices.add(new DeviceConfig.Vsock(vsock.guestCid(), vsock.udsPath()));
        }
        return config.withDevices(devices);
    }

    private static DeviceConfig.Block block(Requests.Drive d) {
        return new DeviceConfig.Block(d.pathOnHost(), d.isReadOnly(), d.driveId(), limiter(d.rateLimiter()));
    }

    private static RateLimiter limiter(Requests.RateLimit r) {
        return r == null ? RateLimiter.UNLIMITED : r.toRateLimiter();
    }

    private void watch(Vm started) {
        try {
            VmExit why = started.awaitExit(Duration.ofDays(36500));
            exit = why;
            onExit.accept(why);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public synchronized void sendCtrlAltDel() {
        requireStarted();
        try {
            vm.sendCtrlAltDel();
        } catch (IllegalStateException e) {
            throw new ApiException(e.getMessage());
        }
    }

    public synchronized void pause() {
        requireStarted();
        try {
            vm.pause();
        } catch (TimeoutException e) {
            throw new ApiException("Failed to pause the microVM: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException("interrupted while pausing the microVM");
        }
        state = State.PAUSED;
    }

    public synchronized void resume() {
        requireStarted();
        vm.resume();
        state = State.RUNNING;
    }

    private void requireNotStarted() {
        if (state != State.NOT_STARTED) {
            throw new ApiException(AFTER_START);
        }
    }

    private void requireStarted() {
        if (state == State.NOT_STARTED) {
            throw new ApiException(BEFORE_START);
        }
        if (exit != null) {
            throw new ApiException("The microVM has ended: " + exit);
        }
    }

    /** Stops and releases the VM if one was started. */
    @Override
    public synchronized void close() {
        if (vm != null) {
            vm.close();
        }
    }
}
