package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.nio.file.Path;

/**
 * The cpuset controller, the same files on v1 and v2: {@code cpuset.cpus} and {@code cpuset.mems}.
 * Also fills a new v1 cpuset cgroup from its parent, since v1 starts one with no CPUs and no
 * memory nodes, which no process can join.
 */
final class Cpuset implements Controller {
    static final String CPUS = "cpuset.cpus", MEMS = "cpuset.mems";

    @Override
    public String name() {
        return "cpuset";
    }

    @Override
    public boolean wants(Resources r) {
        return r.cpu() != null && (nonEmpty(r.cpu().cpus()) || nonEmpty(r.cpu().mems()));
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        if (nonEmpty(r.cpu().cpus())) {
            dir.write(CPUS, r.cpu().cpus());
        }
        if (nonEmpty(r.cpu().mems())) {
            dir.write(MEMS, r.cpu().mems());
        }
    }

    /** Creates {@code dir} and any missing parent below {@code mountPoint}, each given its parent's CPUs and nodes when empty. */
    static void createV1(Path mountPoint, Path dir) throws CgroupException {
        Path current = mountPoint;
        for (Path part : mountPoint.relativize(dir)) {
            CgroupDir parent = new CgroupDir(current);
            current = current.resolve(part);
            CgroupDir child = new CgroupDir(current);
            child.mkdir();
            for (String file : new String[] {CPUS, MEMS}) {
                if (child.read(file).isEmpty()) {
                    child.write(file, parent.read(file));
                }
            }
        }
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isEmpty();
    }
}
