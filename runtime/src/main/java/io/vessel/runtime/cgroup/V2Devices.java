package io.vessel.runtime.cgroup;

import io.vessel.linux.Bpf;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.runtime.spec.Resources;

/**
 * Device access on cgroup v2: a {@link DeviceFilter} program attached to the cgroup directory
 * (multi-attach, so that the host's own programs above keep their say), replacing the programs a
 * previous {@code apply} attached there.
 */
final class V2Devices implements Controller {
    /** License string of the program; it calls no GPL-only helper. */
    private static final String LICENSE = "Apache-2.0";

    @Override
    public String name() {
        return null;
    }

    @Override
    public boolean wants(Resources r) {
        return r.devices() != null && !r.devices().isEmpty();
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        byte[] program = DeviceFilter.program(DeviceRules.policy(r.devices()));
        try (Fd cgroup = Files.open(dir.toString(), Files.O_RDONLY | Files.O_DIRECTORY | Files.O_CLOEXEC, 0);
             Fd prog = Bpf.progLoad(Bpf.BPF_PROG_TYPE_CGROUP_DEVICE, Bpf.BPF_CGROUP_DEVICE, program, LICENSE)) {
            int[] old = Bpf.progQuery(cgroup.num(), Bpf.BPF_CGROUP_DEVICE);
            Bpf.progAttach(cgroup.num(), prog.num(), Bpf.BPF_CGROUP_DEVICE, Bpf.BPF_F_ALLOW_MULTI);
            for (int id : old) {
                try (Fd oldProg = Bpf.progGetFdById(id)) {
                    Bpf.progDetach(cgroup.num(), oldProg.num(), Bpf.BPF_CGROUP_DEVICE);
                }
            }
        } catch (ErrnoException e) {
            throw new CgroupException("cgroup: device rules for " + dir + ": " + e.getMessage(), e.errno());
        }
    }
}
