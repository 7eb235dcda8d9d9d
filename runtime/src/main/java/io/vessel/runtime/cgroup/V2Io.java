package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.vessel.runtime.cgroup.Controller.set;

/**
 * The v2 io controller: weights ({@code io.bfq.weight} as blkio weights are, or {@code io.weight}
 * converted) and {@code io.max}, one line per device with all its limits.
 */
final class V2Io implements Controller {
    static final String WEIGHT = "io.weight", BFQ_WEIGHT = "io.bfq.weight", MAX = "io.max";
    // v1 blkio.weight range and v2 io.weight range (block/blk-cgroup.h: CGROUP_WEIGHT_MIN/MAX)
    static final long MIN_BLKIO_WEIGHT = 10, MAX_BLKIO_WEIGHT = 1000, MIN_WEIGHT = 1, MAX_WEIGHT = 10000;

    @Override
    public String name() {
        return "io";
    }

    @Override
    public boolean wants(Resources r) {
        return V1Blkio.wantsBlockIO(r);
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.BlockIO b = r.blockIO();
        boolean bfq = dir.has(BFQ_WEIGHT);
        if (set(b.weight())) {
            dir.write(bfq ? BFQ_WEIGHT : WEIGHT, bfq ? b.weight() : weightFromBlkio(b.weight()));
        }
        for (Resources.WeightDevice d : V1Blkio.list(b.weightDevice())) {
            if (d.weight() != null) {
                dir.write(bfq ? BFQ_WEIGHT : WEIGHT, V1Blkio.device(d.major(), d.minor()) + " "
                        + (bfq ? d.weight() : weightFromBlkio(d.weight())));
            }
        }
        for (String line : maxLines(b)) {
            dir.write(MAX, line);
        }
    }

    /** v1 blkio weights [10, 1000] mapped linearly onto v2 io weights [1, 10000]. */
    static long weightFromBlkio(long weight) {
        long w = Math.clamp(weight, MIN_BLKIO_WEIGHT, MAX_BLKIO_WEIGHT);
        return MIN_WEIGHT + (w - MIN_BLKIO_WEIGHT) * (MAX_WEIGHT - MIN_WEIGHT) / (MAX_BLKIO_WEIGHT - MIN_BLKIO_WEIGHT);
    }

    /** "MAJ:MIN rbps=N wbps=N riops=N wiops=N" per device, only the keys given; a rate of 0 is "max". */
    static List<String> maxLines(Resources.BlockIO b) {
        Map<String, StringBuilder> lines = new LinkedHashMap<>();
        add(lines, "rbps", b.throttleReadBpsDevice());
        add(lines, "wbps", b.throttleWriteBpsDevice());
        add(lines, "riops", b.throttleReadIOPSDevice());
        add(lines, "wiops", b.throttleWriteIOPSDevice());
        return lines.values().stream().map(StringBuilder::toString).toList();
    }

    private static void add(Map<String, StringBuilder> lines, String key, List<Resources.ThrottleDevice> devices) {
        for (Resources.ThrottleDevice d : V1Blkio.list(devices)) {
            String dev = V1Blkio.device(d.major(), d.minor());
            lines.computeIfAbsent(dev, StringBuilder::new)
                    .append(' ').append(key).append('=').append(d.rate() == 0 ? "max" : Long.toString(d.rate()));
        }
    }
}
