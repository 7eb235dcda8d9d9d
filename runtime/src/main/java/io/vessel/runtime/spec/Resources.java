package io.vessel.runtime.spec;

import io.vessel.json.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * {@code linux.resources} of config.json, also the input of {@code update}: what the cgroup of a
 * container limits. Absent values are null and leave the cgroup's setting as it is.
 */
public record Resources(
        List<DeviceRule> devices,
        Memory memory,
        Cpu cpu,
        Long pidsLimit,
        BlockIO blockIO,
        List<HugepageLimit> hugepageLimits,
        Map<String, String> unified) {

    public static final Resources NONE = new Resources(List.of(), null, null, null, null, List.of(), Map.of());

    public static Resources from(JsonNode n) {
        if (!n.present()) {
            return NONE;
        }
        JsonNode pids = n.get("pids");
        return new Resources(
                n.get("devices").list(DeviceRule::from),
                n.get("memory").present() ? Memory.from(n.get("memory")) : null,
                n.get("cpu").present() ? Cpu.from(n.get("cpu")) : null,
                pids.present() ? pids.get("limit").longValue() : null,
                n.get("blockIO").present() ? BlockIO.from(n.get("blockIO")) : null,
                n.get("hugepageLimits").list(HugepageLimit::from),
                n.get("unified").stringMap());
    }

    static Long optLong(JsonNode n) {
        return n.present() ? n.longValue() : null;
    }

    /** A device cgroup rule; type "a" means all, null major/minor mean any (-1 in runc's words). */
    public record DeviceRule(boolean allow, String type, Long major, Long minor, String access) {
        public static DeviceRule from(JsonNode n) {
            String type = n.get("type").string("a");
            if (!List.of("a", "c", "b").contains(type)) {
                throw n.get("type").fail("must be one of a, c, b, not \"" + type + "\"");
            }
            String access = n.get("access").string("rwm");
            if (access.isEmpty() || !access.chars().allMatch(c -> c == 'r' || c == 'w' || c == 'm')) {
                throw n.get("access").fail("must be made of r, w and m, not \"" + access + "\"");
            }
            Long major = optLong(n.get("major"));
            Long minor = optLong(n.get("minor"));
            return new DeviceRule(n.get("allow").bool(false), type, major == null || major < 0 ? null : major,
                    minor == null || minor < 0 ? null : minor, access);
        }
    }

    public record Memory(Long limit, Long reservation, Long swap, Long swappiness, Boolean disableOOMKiller,
                         Boolean checkBeforeUpdate) {
        public static Memory from(JsonNode n) {
            Long swappiness = n.get("swappiness").present() ? n.get("swappiness").unsigned() : null;
            if (swappiness != null && (swappiness < 0 || swappiness > 100)) {
                throw n.get("swappiness").fail("must be between 0 and 100");
            }
            Long limit = optLong(n.get("limit"));
            Long swap = optLong(n.get("swap"));
            if (limit != null && swap != null && limit > 0 && swap > 0 && swap < limit) {
                throw n.get("swap").fail("(memory+swap) must be at least limit (" + limit + ")");
            }
            return new Memory(limit, optLong(n.get("reservation")), swap, swappiness,
                    n.get("disableOOMKiller").present() ? n.get("disableOOMKiller").bool(false) : null,
                    n.get("checkBeforeUpdate").present() ? n.get("checkBeforeUpdate").bool(false) : null);
        }
    }

    public record Cpu(Long shares, Long quota, Long burst, Long period, Long realtimeRuntime, Long realtimePeriod,
                      String cpus, String mems, Long idle) {
        public static Cpu from(JsonNode n) {
            Long period = n.get("period").present() ? n.get("period").unsigned() : null;
            if (period != null && period != 0 && (period < 1000 || period > 1_000_000)) {
                throw n.get("period").fail("must be between 1000 and 1000000 microseconds");
            }
            Long quota = optLong(n.get("quota"));
            if (quota != null && quota > 0 && quota < 1000) {
                throw n.get("quota").fail("must be at least 1000 microseconds, or -1 for no limit");
            }
            String cpus = n.get("cpus").string(null);
            if (cpus != null && !cpuList(cpus)) {
                throw n.get("cpus").fail("must be a CPU list like \"0-2,4\", not \"" + cpus + "\"");
            }
            String mems = n.get("mems").string(null);
            if (mems != null && !cpuList(mems)) {
                throw n.get("mems").fail("must be a node list like \"0-1\", not \"" + mems + "\"");
            }
            return new Cpu(n.get("shares").present() ? n.get("shares").unsigned() : null, quota,
                    n.get("burst").present() ? n.get("burst").unsigned() : null, period,
                    optLong(n.get("realtimeRuntime")),
                    n.get("realtimePeriod").present() ? n.get("realtimePeriod").unsigned() : null, cpus, mems,
                    optLong(n.get("idle")));
        }
    }

    /** Digits, commas and dashes: "0-2,4". */
    static boolean cpuList(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9') && c != ',' && c != '-') {
                return false;
            }
        }
        return true;
    }

    public record BlockIO(Integer weight, Integer leafWeight, List<WeightDevice> weightDevice,
                          List<ThrottleDevice> throttleReadBpsDevice, List<ThrottleDevice> throttleWriteBpsDevice,
                          List<ThrottleDevice> throttleReadIOPSDevice, List<ThrottleDevice> throttleWriteIOPSDevice) {
        public static BlockIO from(JsonNode n) {
            return new BlockIO(
                    n.get("weight").present() ? (int) n.get("weight").range(0, 1000) : null,
                    n.get("leafWeight").present() ? (int) n.get("leafWeight").range(0, 1000) : null,
                    n.get("weightDevice").list(WeightDevice::from),
                    n.get("throttleReadBpsDevice").list(ThrottleDevice::from),
                    n.get("throttleWriteBpsDevice").list(ThrottleDevice::from),
                    n.get("throttleReadIOPSDevice").list(ThrottleDevice::from),
                    n.get("throttleWriteIOPSDevice").list(ThrottleDevice::from));
        }
    }

    public record WeightDevice(long major, long minor, Integer weight, Integer leafWeight) {
        public static WeightDevice from(JsonNode n) {
            return new WeightDevice(n.get("major").range(0, 0xFFF_FFFFL), n.get("minor").range(0, 0xFFF_FFFFL),
                    n.get("weight").present() ? (int) n.get("weight").range(0, 1000) : null,
                    n.get("leafWeight").present() ? (int) n.get("leafWeight").range(0, 1000) : null);
        }
    }

    public record ThrottleDevice(long major, long minor, long rate) {
        public static ThrottleDevice from(JsonNode n) {
            return new ThrottleDevice(n.get("major").range(0, 0xFFF_FFFFL), n.get("minor").range(0, 0xFFF_FFFFL),
                    n.get("rate").unsigned());
        }
    }

    public record HugepageLimit(String pageSize, long limit) {
        public static HugepageLimit from(JsonNode n) {
            return new HugepageLimit(n.get("pageSize").string(), n.get("limit").unsigned());
        }
    }
}
