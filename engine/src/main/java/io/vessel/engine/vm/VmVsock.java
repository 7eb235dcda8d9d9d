package io.vessel.engine.vm;

import io.vessel.vmm.DeviceConfig;

import java.nio.file.Path;

/**
 * A VM's vsock as {@code --vsock CID[,PATH]} names it: guest CID and the Unix socket of its host
 * side (Firecracker's hybrid vsock: host programs connect there and write {@code CONNECT port};
 * guest connections to port P reach {@code PATH_P}). Without PATH, {@link #defaultSocket}.
 */
public record VmVsock(long cid, Path socket) {
    /** Where a VM's vsock socket goes when none is named: one per CID, which is unique per VMM. */
    public static final Path DEFAULT_DIR = Path.of("/run/vessel/vm");

    public VmVsock {
        new DeviceConfig.Vsock(cid, socket); // the VMM's checks and messages
    }

    public static Path defaultSocket(long cid) {
        return DEFAULT_DIR.resolve("vsock-" + cid + ".sock");
    }

    /** {@code CID} or {@code CID,PATH}. */
    public static VmVsock parse(String spec) {
        int comma = spec.indexOf(',');
        String cidText = comma < 0 ? spec : spec.substring(0, comma);
        long cid;
        try {
            cid = Long.parseLong(cidText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--vsock \"" + spec + "\": \"" + cidText + "\" is not a CID; expected CID[,PATH]");
        }
        if (comma >= 0 && comma == spec.length() - 1) {
            throw new IllegalArgumentException("--vsock \"" + spec + "\": empty PATH; expected CID[,PATH]");
        }
        try {
            return new VmVsock(cid, comma < 0 ? defaultSocket(cid) : Path.of(spec.substring(comma + 1)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--vsock \"" + spec + "\": " + e.getMessage(), e);
        }
    }

    DeviceConfig.Vsock device() {
        return new DeviceConfig.Vsock(cid, socket);
    }
}
