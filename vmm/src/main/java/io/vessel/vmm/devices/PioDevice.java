package io.vessel.vmm.devices;

/**
 * A device on the x86 I/O port bus. {@code offset} is the port relative to the start of the
 * range the device was registered at; {@code data}'s length is the access size (1, 2 or 4). A read
 * fills {@code data}; what a device leaves untouched reads as zero.
 */
public interface PioDevice {
    void read(int offset, byte[] data);

    void write(int offset, byte[] data);
}
