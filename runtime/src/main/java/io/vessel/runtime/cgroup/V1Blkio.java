package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.util.List;

import static io.vessel.runtime.cgroup.Controller.set;

/**
 * The v1 blkio controller: weights (CFQ's files, or BFQ's where CFQ is gone) and the throttle
 * limits, one {@code MAJ:MIN VALUE} line per device.
 */
final class V1Blkio implements Controller {
    static final String WEIGHT = "blkio.weight", BFQ_WEIGHT = "blkio.bfq.weight",
            WEIGHT_DEVICE = "blkio.weight_device", BFQ_WEIGHT_DEVICE = "blkio.bfq.weight_device",
            LEAF_WEIGHT = "blkio.leaf_weight", LEAF_WEIGHT_DEVICE = "blkio.leaf_weight_device",
            READ_BPS = "blkio.throttle.read_bps_device", WRITE_BPS = "blkio.throttle.write_bps_device",
            READ_IOPS = "blkio.throttle.read_iops_device", WRITE_IOPS = "blkio.throttle.write_iops_device";

    @Override
    public String name() {
        return "blkio";
    }

    @Override
    public boolean wants(Resources r) {
        return wantsBlockIO(r);
    }

    static boolean wantsBlockIO(Resources r) {
        Resources.BlockIO b = r.blockIO();
        return b != null && (set(b.weight()) || set(b.leafWeight()) || nonEmpty(b.weightDevice())
                || nonEmpty(b.throttleReadBpsDevice()) || nonEmpty(b.throttleWriteBpsDevice())
                || nonEmpty(b.throttleReadIOPSDevice()) || nonEmpty(b.throttleWriteIOPSDevice()));
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.BlockIO b = r.blockIO();
        String weight = dir.has(WEIGHT) || !dir.has(BFQ_WEIGHT) ? WEIGHT : BFQ_WEIGHT;
        String weightDevice = dir.has(WEIGHT_DEVICE) || !dir.has(BFQ_WEIGHT_DEVICE) ? WEIGHT_DEVICE
                : BFQ_WEIGHT_DEVICE;
        if (set(b.weight())) {
            dir.write(weight, b.weight());
        }
        if (set(b.leafWeight())) {
            dir.write(LEAF_WEIGHT, b.leafWeight());
        }
        for (Resources.WeightDevice d : list(b.weightDevice())) {
            if (d.weight() != null) {
                dir.write(weightDevice, device(d.major(), d.minor()) + " " + d.weight());
            }
            if (d.leafWeight() != null) {
                dir.write(LEAF_WEIGHT_DEVICE, device(d.major(), d.minor()) + " " + d.leafWeight());
            }
        }
        throttle(dir, READ_BPS, b.throttleReadBpsDevice());
        throttle(dir, WRITE_BPS, b.throttleWriteBpsDevice());
        throttle(dir, READ_IOPS, b.throttleReadIOPSDevice());
        throttle(dir, WRITE_IOPS, b.throttleWriteIOPSDevice());
    }

    private static void throttle(CgroupDir dir, String file, List<Resources.ThrottleDevice> devices)
            throws CgroupException {
        for (Resources.ThrottleDevice d : list(devices)) {
            dir.write(file, device(d.major(), d.minor()) + " " + d.rate());
        }
    }

    static String device(long major, long minor) {
        return major + ":" + minor;
    }

    static <T> List<T> list(List<T> l) {
        return l == null ? List.of() : l;
    }

    private static boolean nonEmpty(List<?> l) {
        return l != null && !l.isEmpty();
    }
}
