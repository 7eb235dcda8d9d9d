package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.devices.IrqLine;
import io.vessel.vmm.devices.PioDevice;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * An 8250/16550A UART as PCs have on COM1: what the guest transmits goes to an OutputStream, what
 * is queued with {@link #receive} (or pumped from an InputStream) is what it reads. The registers
 * are those of the National Semiconductor PC16550D datasheet; no baud rate is simulated.
 *
 * <p>Interrupts are edges on the IRQ line (an irqfd): one when received data arrives or remains
 * after a read, when the transmitter empties after a write, and when the driver enables either
 * interrupt while its condition already holds. IIR names the highest-priority cause (received data,
 * then THR empty; reading IIR clears THR empty), so Linux's 8250 driver, which loops on IIR until
 * "no interrupt", sees every cause behind one edge.
 */
public final class Serial8250 implements PioDevice {
    /** COM1's port base and ISA IRQ (the PC/AT assignment), and its eight registers. */
    public static final int COM1_BASE = 0x3F8, COM1_IRQ = 4, PORT_COUNT = 8;
    // register offsets
    private static final int DATA = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
    // bits
    private static final int IER_RX_DATA = 0x01, IER_THR_EMPTY = 0x02, IER_MASK = 0x0F;
    private static final int IIR_NONE = 0x01, IIR_THR_EMPTY = 0x02, IIR_RX_DATA = 0x04, IIR_FIFO_ENABLED = 0xC0;
    private static final int FCR_FIFO_ENABLE = 0x01;
    private static final int LCR_DLAB = 0x80;
    private static final int MCR_LOOPBACK = 0x10, MCR_MASK = 0x1F;
    private static final int LSR_DATA_READY = 0x01, LSR_THR_EMPTY = 0x20, LSR_IDLE = 0x40;
    /** Modem status with carrier detect, data set ready and clear to send: a connected line. */
    private static final int MSR_CONNECTED = 0xB0;
    /** Bytes held for the guest before further input waits (a 16550's FIFO is 16; a console paste is more). */
    private static final int RX_QUEUE_LIMIT = 4096;

    private final OutputStream out;
    private final IrqLine irq;
    private final ArrayDeque<Byte> rx = new ArrayDeque<>();
    private int ier, lcr, mcr = 0x08, scr, fcr, dll = 0x0C, dlm;
    private boolean thrEmptyPending = true;
    private boolean outputBroken;

    public Serial8250(OutputStream out, IrqLine irq) {
        this.out = out;
        this.irq = irq;
    }

    /** Queues {@code bytes} for the guest to read; returns how many fitted. */
    public synchronized int receive(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && rx.size() < RX_QUEUE_LIMIT) {
            rx.add(bytes[n++]);
        }
        if (n > 0 && (ier & IER_RX_DATA) != 0) {
            irq.trigger();
        }
        return n;
    }

    /** Starts a daemon thread copying {@code in} to the guest until it ends. */
    public Thread pump(InputStream in) {
        Thread t = Thread.ofPlatform().daemon().name("serial-input").start(() -> {
            byte[] buf = new byte[256];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    int off = 0;
                    while (off < n) {
                        byte[] chunk = java.util.Arrays.copyOfRange(buf, off, n);
                        off += receive(chunk);
                        if (off < n) {
                            Thread.sleep(10);
                        }
                    }
                }
            } catch (IOException | InterruptedException ignored) {
                // the console went away: input ends
            }
        });
        return t;
    }

    @Override
    public synchronized void read(int offset, byte[] data) {
        data[0] = (byte) readRegister(offset);
    }

    private int readRegister(int offset) {
        return switch (offset) {
            case DATA -> {
                if ((lcr & LCR_DLAB) != 0) {
                    yield dll;
                }
                Byte b = rx.poll();
                if (!rx.isEmpty() && (ier & IER_RX_DATA) != 0) {
                    irq.trigger();
                }
                yield b == null ? 0 : b & 0xFF;
            }
            case IER -> (lcr & LCR_DLAB) != 0 ? dlm : ier;
            case IIR_FCR -> {
                int fifo = (fcr & FCR_FIFO_ENABLE) != 0 ? IIR_FIFO_ENABLED : 0;
                if ((ier & IER_RX_DATA) != 0 && !rx.isEmpty()) {
                    yield fifo | IIR_RX_DATA;
                }
                if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
                    thrEmptyPending = false; // reading IIR clears a THR-empty interrupt
                    yield fifo | IIR_THR_EMPTY;
                }
                yield fifo | IIR_NONE;
            }
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> LSR_THR_EMPTY | LSR_IDLE | (rx.isEmpty() ? 0 : LSR_DATA_READY);
            case MSR -> (mcr & MCR_LOOPBACK) != 0 ? (mcr & 0x0F) << 4 : MSR_CONNECTED;
            case SCR -> scr;
            default -> 0xFF;
        };
    }

    @Override
    public synchronized void write(int offset, byte[] data) {
        int v = data[0] & 0xFF;
        switch (offset) {
            case DATA -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dll = v;
                } else if ((mcr & MCR_LOOPBACK) != 0) {
                    rx.add((byte) v);
                } else {
                    transmit(v);
                }
            }
            case IER -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dlm = v;
                } else {
                    int was = ier;
                    ier = v & IER_MASK;
                    boolean raise = false;
                    if ((ier & IER_THR_EMPTY) != 0 && (was & IER_THR_EMPTY) == 0) {
                        thrEmptyPending = true; // the holding register is always empty: say so at once
                        raise = true;
                    }
                    if ((ier & IER_RX_DATA) != 0 && (was & IER_RX_DATA) == 0 && !rx.isEmpty()) {
                        raise = true; // data already waiting when the driver starts listening
                    }
                    if (raise) {
                        irq.trigger();
                    }
                }
            }
            case IIR_FCR -> fcr = v;
            case LCR -> lcr = v;
            case MCR -> mcr = v & MCR_MASK;
            case SCR -> scr = v;
            default -> {
                // LSR and MSR are read-only
            }
        }
    }

    private void transmit(int v) {
        if (!outputBroken) {
            try {
                out.write(v);
                out.flush();
            } catch (IOException e) {
                // the console went away: the guest keeps running, its output is dropped
                outputBroken = true;
            }
        }
        thrEmptyPending = true;
        if ((ier & IER_THR_EMPTY) != 0) {
            irq.trigger();
        }
    }
}
