package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.VmExit;
import io.vessel.vmm.devices.IrqLine;
import io.vessel.vmm.devices.PioDevice;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The PS/2 controller's part that matters to a VM: its status and data ports, the command byte,
 * and command 0xFE, "pulse the reset line", which is how PCs (and Linux's reboot=k) reset. A
 * keyboard answers just enough for a driver to find it (ACK, reset self-test, ID) and types only
 * Ctrl-Alt-Del ({@link #sendCtrlAltDel}), which asks a guest for an orderly reboot; no mouse.
 * Registered at {@link #BASE} over {@link #PORT_COUNT} ports.
 */
public final class I8042 implements PioDevice {
    /** Data port 0x60 and command/status port 0x64 (IBM PC/AT technical reference). */
    public static final int BASE = 0x60, PORT_COUNT = 5;
    /** The keyboard's ISA IRQ (PC/AT assignment). */
    public static final int KEYBOARD_IRQ = 1;
    private static final int DATA = 0, COMMAND = 4;
    // controller commands
    private static final int CMD_READ_COMMAND_BYTE = 0x20, CMD_WRITE_COMMAND_BYTE = 0x60, CMD_SELF_TEST = 0xAA,
            CMD_READ_OUTPUT_PORT = 0xD0, CMD_WRITE_OUTPUT_PORT = 0xD1, CMD_WRITE_AUX = 0xD4, CMD_PULSE_RESET = 0xFE;
    private static final int SELF_TEST_OK = 0x55;
    // status bits: output buffer full, system flag (set after self-test), last write was a command
    private static final int STATUS_OBF = 0x01, STATUS_SYSTEM = 0x04, STATUS_COMMAND = 0x08;
    /** Output port bit 0 low = reset asserted. */
    private static final int OUTPUT_PORT_RESET = 0x01;
    /** Command byte bits: keyboard interrupt enable, scancode translation to set 1. */
    private static final int CB_KEYBOARD_INTERRUPT = 0x01, CB_TRANSLATE = 0x40;
    // keyboard protocol (IBM PS/2 keyboard technical reference): ACK, self-test passed, reset, identify, MF2 ID
    private static final int KBD_ACK = 0xFA, KBD_SELF_TEST_PASSED = 0xAA, KBD_RESET = 0xFF, KBD_IDENTIFY = 0xF2;
    private static final int[] KBD_MF2_ID = {0xAB, 0x83};
    /** Make codes of left Ctrl, left Alt and Delete, in scancode set 2 and (translated) set 1. */
    private static final int[] CTRL_ALT_DEL_SET2 = {0x14, 0x11, 0xE0, 0x71}, CTRL_ALT_DEL_SET1 = {0x1D, 0x38, 0xE0, 0x53};
    /** Bytes held for the guest; a real controller holds one and the keyboard 16. */
    private static final int OUTPUT_LIMIT = 16;

    private final Consumer<VmExit> exits;
    private final IrqLine keyboardIrq;
    private int commandByte, outputPort = 0x03, pendingCommand = -1;
    private final ArrayDeque<Integer> output = new ArrayDeque<>();
    private int status = STATUS_SYSTEM;

    public I8042(Consumer<VmExit> exits) {
        this(exits, () -> { });
    }

    /** A controller whose keyboard raises {@code keyboardIrq} (ISA IRQ 1) when it has a byte for the guest. */
    public I8042(Consumer<VmExit> exits, IrqLine keyboardIrq) {
        this.exits = exits;
        this.keyboardIrq = keyboardIrq;
    }

    /** Types Ctrl-Alt-Del on the keyboard: make codes only, as Firecracker does; false if the buffer is full. */
    public boolean sendCtrlAltDel() {
        synchronized (this) {
            if (output.size() + CTRL_ALT_DEL_SET2.length > OUTPUT_LIMIT) {
                return false;
            }
            for (int code : (commandByte & CB_TRANSLATE) != 0 ? CTRL_ALT_DEL_SET1 : CTRL_ALT_DEL_SET2) {
                output.add(code);
            }
        }
        raiseKeyboardIrq();
        return true;
    }

    private void keyboard(int... bytes) {
        synchronized (this) {
            for (int b : bytes) {
                if (output.size() < OUTPUT_LIMIT) {
                    output.add(b);
                }
            }
        }
        raiseKeyboardIrq();
    }

    private void raiseKeyboardIrq() {
        boolean raise;
        synchronized (this) {
            raise = !output.isEmpty() && (commandByte & CB_KEYBOARD_INTERRUPT) != 0;
        }
        if (raise) {
            keyboardIrq.trigger();
        }
    }

    @Override
    public void read(int offset, byte[] data) {
        boolean more;
        synchronized (this) {
            if (offset == COMMAND) {
                data[0] = (byte) (status | (!output.isEmpty() ? STATUS_OBF : 0));
                return;
            } else if (offset != DATA) {
                data[0] = (byte) 0xFF;
                return;
            }
            Integer b = output.poll();
            data[0] = (byte) (b == null ? 0 : b);
            more = b != null && !output.isEmpty();
        }
        if (more) {
            raiseKeyboardIrq();
        }
    }

    @Override
    public void write(int offset, byte[] data) {
        Integer keyboardCommand = controllerWrite(offset, data);
        if (keyboardCommand != null) {
            switch (keyboardCommand) {
                case KBD_RESET -> keyboard(KBD_ACK, KBD_SELF_TEST_PASSED);
                case KBD_IDENTIFY -> keyboard(KBD_ACK, KBD_MF2_ID[0], KBD_MF2_ID[1]);
                default -> keyboard(KBD_ACK);   // every other command and argument byte is acknowledged
            }
        }
    }

    /** Handles a write to the controller; the byte written to the keyboard, if it was one. */
    private synchronized Integer controllerWrite(int offset, byte[] data) {
        int v = data[0] & 0xFF;
        if (offset == COMMAND) {
            status |= STATUS_COMMAND;
            switch (v) {
                case CMD_READ_COMMAND_BYTE -> output.add(commandByte);
                case CMD_SELF_TEST -> output.add(SELF_TEST_OK);
                case CMD_READ_OUTPUT_PORT -> output.add(outputPort);
                case CMD_WRITE_COMMAND_BYTE, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_AUX -> pendingCommand = v;
                case CMD_PULSE_RESET -> exits.accept(new VmExit.Reset());
                default -> {
                    // keyboard/mouse enable and disable: nothing to do
                }
            }
            return null;
        } else if (offset == DATA) {
            status &= ~STATUS_COMMAND;
            int pending = pendingCommand;
            pendingCommand = -1;
            if (pending == -1) {
                return v;
            }
            if (pending == CMD_WRITE_COMMAND_BYTE) {
                commandByte = v;
            } else if (pending == CMD_WRITE_OUTPUT_PORT) {
                outputPort = v;
                if ((v & OUTPUT_PORT_RESET) == 0) {
                    exits.accept(new VmExit.Reset());
                }
            }
            // CMD_WRITE_AUX: a byte for the mouse, and there is none
        }
        return null;
    }
}
