package io.vessel.linux;

/**
 * The kernel refused a netlink request: names the request (operation and link), the errno, and
 * the kernel's own explanation when it gave one (extended ack), e.g.
 * {@code RTM_NEWLINK veth "vh1" peer "eth0" failed: EEXIST (File exists): kernel says "..."}.
 */
public final class NetlinkException extends ErrnoException {
    private final String kernelMessage;

    public NetlinkException(String call, int errno, String kernelMessage) {
        super(call, errno);
        this.kernelMessage = kernelMessage == null || kernelMessage.isEmpty() ? null : kernelMessage;
    }

    /** The extended-ack text, or null when the kernel sent none. */
    public String kernelMessage() {
        return kernelMessage;
    }

    @Override
    public String getMessage() {
        return kernelMessage == null ? super.getMessage() : super.getMessage() + ": kernel says \"" + kernelMessage + "\"";
    }
}
