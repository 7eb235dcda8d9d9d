package io.vessel.vmm;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Signals;
import io.vessel.linux.Threads;
import io.vessel.vmm.devices.IoBus;
import io.vessel.vmm.devices.MmioDevice;
import io.vessel.vmm.devices.PioDevice;
import io.vessel.vmm.kvm.VcpuExit;
import io.vessel.vmm.kvm.VcpuFd;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One vCPU on its own platform thread, an explicit state machine: {@link State#CREATED} →
 * {@link State#RUNNING} ⇄ {@link State#PAUSED} → {@link State#STOPPED}. Another thread asks for a
 * state with {@link #request}; a vCPU inside KVM_RUN is made to return by setting
 * {@code immediate_exit} and sending it {@link #KICK_SIGNAL}, whose handler does nothing.
 */
public final class Vcpu {
    /** The real-time signal that kicks vCPU threads out of KVM_RUN. */
    public static final int KICK_SIGNAL = Signals.SIGRTMIN + 4;

    public enum State { CREATED, RUNNING, PAUSED, STOPPED }

    private final VcpuFd fd;
    private final Vm vm;
    private final Object lock = new Object();
    private State state = State.CREATED;
    private State requested = State.RUNNING;
    private int tid;
    /** Whether {@code immediate_exit} was set since the vCPU last entered the guest (under lock). */
    private boolean kicked;
    private Thread thread;

    Vcpu(VcpuFd fd, Vm vm) {
        this.fd = fd;
        this.vm = vm;
    }

    public int id() {
        return fd.id();
    }

    public State state() {
        synchronized (lock) {
            return state;
        }
    }

    void start() {
        thread = Thread.ofPlatform().name("vcpu-" + fd.id()).start(this::loop);
    }

    /** Asks for {@code target} (RUNNING, PAUSED or STOPPED) and kicks the vCPU out of the guest. */
    void request(State target) {
        int kick;
        synchronized (lock) {
            if (state == State.STOPPED || requested == State.STOPPED) {
                return;
            }
            requested = target;
            lock.notifyAll();
            if (target == State.RUNNING) {
                return;
            }
            fd.setImmediateExit(true);
            kicked = true;
            kick = tid;
        }
        if (kick != 0 && Thread.currentThread() != thread) {
            try {
                Threads.tgkill(kick, KICK_SIGNAL);
            } catch (ErrnoException ignored) {
                // the thread has already left: nothing to interrupt
            }
        }
    }

    /** Waits until the vCPU is in {@code target} (or stopped); false on timeout. */
    boolean awaitState(State target, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        synchronized (lock) {
            while (state != target && state != State.STOPPED) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                lock.wait(left);
            }
            return true;
        }
    }

    void join() throws InterruptedException {
        if (thread != null) {
            thread.join();
        }
    }

    private void loop() {
        synchronized (lock) {
            tid = Threads.gettid();
        }
        try {
            while (true) {
                synchronized (lock) {
                    while (requested == State.PAUSED) {
                        setState(State.PAUSED);
                        lock.wait();
                    }
                    if (requested == State.STOPPED) {
                        break;
                    }
                    if (kicked) {
                        fd.setImmediateExit(false);
                        kicked = false;
                    }
                    if (state != State.RUNNING) {
                        setState(State.RUNNING);
                    }
                }
                handle(fd.run());
            }
        } catch (ErrnoException | RuntimeException e) {
            vm.requestExit(new VmExit.Crashed("vCPU " + fd.id() + ": " + e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (lock) {
                tid = 0;
                setState(State.STOPPED);
            }
        }
    }

    private void setState(State s) {
        state = s;
        lock.notifyAll();
    }

    private void handle(VcpuExit exit) throws ErrnoException {
        switch (exit) {
            case VcpuExit.IoOut(int port, int size, int count, byte[] data) -> {
                if (count == 1) {
                    pioWrite(port, data);
                } else {
                    for (int i = 0; i < count; i++) {
                        pioWrite(port, Arrays.copyOfRange(data, i * size, (i + 1) * size));
                    }
                }
            }
            case VcpuExit.IoIn(int port, int size, int count, ByteBuffer data) -> {
                for (int i = 0; i < count; i++) {
                    data.put(i * size, pioRead(port, size));
                }
            }
            case VcpuExit.MmioWrite(long address, byte[] data) -> {
                IoBus.Range<MmioDevice> r = vm.mmioBus().find(address, data.length);
                if (r != null) {
                    r.device().write(address - r.base(), data);
                }
            }
            case VcpuExit.MmioRead(long address, ByteBuffer data) -> {
                byte[] value = new byte[data.capacity()];
                IoBus.Range<MmioDevice> r = vm.mmioBus().find(address, value.length);
                if (r != null) {
                    r.device().read(address - r.base(), value);
                } else {
                    Arrays.fill(value, (byte) 0xFF);
                }
                data.put(0, value);
            }
            case VcpuExit.Hlt() -> {
                // only without an in-kernel LAPIC; ours has one, so nothing to emulate
            }
            case VcpuExit.Interrupted() -> {
                // a pause or stop request: the loop's head acts on it
            }
            case VcpuExit.Shutdown() -> vm.requestExit(new VmExit.Reset());
            case VcpuExit.SystemEvent(int type, long[] data) -> vm.requestExit(switch (type) {
                case VcpuExit.SystemEvent.SHUTDOWN -> new VmExit.PoweredOff();
                case VcpuExit.SystemEvent.RESET -> new VmExit.Reset();
                default -> new VmExit.Crashed("vCPU " + fd.id() + ": the guest reported a crash (system event " + type + ")");
            });
            case VcpuExit.InternalError e -> vm.requestExit(new VmExit.Crashed("vCPU " + fd.id() + ": " + e.describe()
                    + " at rip 0x" + Long.toHexString(fd.regs().rip())));
            case VcpuExit.FailEntry(long reason, int cpu) -> vm.requestExit(new VmExit.Crashed("vCPU " + fd.id()
                    + ": KVM could not enter the guest (hardware entry failure reason 0x" + Long.toHexString(reason) + ")"));
            case VcpuExit.Unknown(long reason) -> vm.requestExit(new VmExit.Crashed("vCPU " + fd.id()
                    + ": unknown exit (hardware reason 0x" + Long.toHexString(reason) + ")"));
            case VcpuExit.Other(int reason) -> vm.requestExit(new VmExit.Crashed("vCPU " + fd.id()
                    + ": unexpected KVM exit reason " + reason));
        }
    }

    private void pioWrite(int port, byte[] data) {
        IoBus.Range<PioDevice> r = vm.pioBus().find(port, data.length);
        if (r != null) {
            r.device().write((int) (port - r.base()), data);
        }
    }

    private byte[] pioRead(int port, int size) {
        byte[] value = new byte[size];
        IoBus.Range<PioDevice> r = vm.pioBus().find(port, size);
        if (r != null) {
            r.device().read((int) (port - r.base()), value);
        } else {
            Arrays.fill(value, (byte) 0xFF);
        }
        return value;
    }

    VcpuFd fd() {
        return fd;
    }
}
