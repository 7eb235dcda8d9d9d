package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code linux.resources.unified}: cgroup v2 files written verbatim, after every other limit so
 * that they have the last word. Names are file names in the cgroup, never paths.
 */
final class Unified implements Controller {

    @Override
    public String name() {
        return null;
    }

    @Override
    public boolean wants(Resources r) {
        return r.unified() != null && !r.unified().isEmpty();
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        for (Map.Entry<String, String> e : r.unified().entrySet()) {
            dir.write(check(e.getKey()), e.getValue());
        }
    }

    /** The controllers the keys belong to: "memory" for "memory.high"; "cgroup" files belong to none. */
    static Set<String> controllers(Resources r) throws CgroupException {
        Set<String> out = new LinkedHashSet<>();
        for (String key : r.unified().keySet()) {
            String prefix = check(key).substring(0, key.indexOf('.'));
            if (!prefix.equals("cgroup")) {
                out.add(prefix);
            }
        }
        return out;
    }

    private static String check(String key) throws CgroupException {
        if (key.isEmpty() || key.contains("/") || key.contains("..") || key.indexOf('.') <= 0) {
            throw new CgroupException("cgroup: linux.resources.unified key \"" + key
                    + "\" is not a cgroup file name like memory.high");
        }
        return key;
    }
}
