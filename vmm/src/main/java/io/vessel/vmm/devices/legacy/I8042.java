package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.VmExit;
import io.vessel.vmm.devices.PioDevice;

import java.util.function.Consumer;

/**
 * The PS/2 controller's part that matters to a VM: its status and data ports, the command byte,
 * and command 0xFE, "pulse the reset line", which is how PCs (and Linux's reboot=k) reset. No
 * keyboard or mouse is attached. Registered at {@link #BASE} over {@link #PORT_COUNT} ports.
 */
public final class I8042 implements PioDevice {
    /** Data port 0x60 and command/status port 0x64 (IBM PC/AT technical reference). */
    public static final int BASE = 0x60, PORT_COUNT = 5;
    private static final int DATA = 0, COMMAND = 4;
    // controller commands
    private static final int CMD_READ_COMMAND_BYTE = 0x20, CMD_WRITE_COMMAND_BYTE = 0x60, CMD_SELF_TEST = 0xAA,
            CMD_READ_OUTPUT_PORT = 0xD0, CMD_WRITE_OUTPUT_PORT = 0xD1, CMD_PULSE_RESET = 0xFE;
    private static final int SELF_TEST_OK = 0x55;
    // status bits: output buffer full, system flag (set after self-test), last write was a command
    private static final int STATUS_OBF = 0x01, STATUS_SYSTEM = 0x04, STATUS_COMMAND = 0x08;
    /** Output port bit 0 low = reset asserted. */
    private static final int OUTPUT_PORT_RESET = 0x01;

    private final Consumer<VmExit> exits;
    private int commandByte, outputPort = 0x03, pendingCommand = -1;
    private Integer output;
    private int status = STATUS_SYSTEM;

    public I8042(Consumer<VmExit> exits) {
        this.exits = exits;
    }

    @Override
    public synchronized void read(int offset, byte[] data) {
        if (offset == COMMAND) {
            data[0] = (byte) (status | (output != null ? STATUS_OBF : 0));
        } else if (offset == DATA) {
            data[0] = (byte) (output == null ? 0 : output);
            output = null;
        } else {
            data[0] = (byte) 0xFF;
        }
    }

    @Override
    public synchronized void write(int offset, byte[] data) {
        int v = data[0] & 0xFF;
        if (offset == COMMAND) {
            status |= STATUS_COMMAND;
            switch (v) {
                case CMD_READ_COMMAND_BYTE -> output = commandByte;
                case CMD_SELF_TEST -> output = SELF_TEST_OK;
                case CMD_READ_OUTPUT_PORT -> output = outputPort;
                case CMD_WRITE_COMMAND_BYTE, CMD_WRITE_OUTPUT_PORT -> pendingCommand = v;
                case CMD_PULSE_RESET -> exits.accept(new VmExit.Reset());
                default -> {
                    // keyboard/mouse enable and disable: nothing attached, nothing to do
                }
            }
        } else if (offset == DATA) {
            status &= ~STATUS_COMMAND;
            if (pendingCommand == CMD_WRITE_COMMAND_BYTE) {
                commandByte = v;
            } else if (pendingCommand == CMD_WRITE_OUTPUT_PORT) {
                outputPort = v;
                if ((v & OUTPUT_PORT_RESET) == 0) {
                    exits.accept(new VmExit.Reset());
                }
            }
            pendingCommand = -1;
        }
    }
}
