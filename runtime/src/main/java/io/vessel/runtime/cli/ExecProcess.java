package io.vessel.runtime.cli;

import io.vessel.runtime.spec.Capability;
import io.vessel.runtime.spec.Spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The process of {@code exec CMD...}: the container's own process settings with the flags applied. */
final class ExecProcess {
    private ExecProcess() {
    }

    static Spec.Process fromFlags(Spec.Process base, List<String> args, boolean tty, String cwd, List<String> env,
                                  String user, List<String> extraGids, List<String> caps, boolean noNewPrivs)
            throws Args.UsageError {
        Map<String, String> vars = new LinkedHashMap<>();
        for (String e : base.env()) {
            int eq = e.indexOf('=');
            vars.put(e.substring(0, eq), e.substring(eq + 1));
        }
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new Args.UsageError("--env must be NAME=VALUE, not \"" + e + "\"");
            }
            vars.put(e.substring(0, eq), e.substring(eq + 1));
        }
        List<String> envList = new ArrayList<>();
        vars.forEach((k, v) -> envList.add(k + "=" + v));

        Spec.User u = base.user();
        if (user != null) {
            String[] parts = user.split(":", 2);
            try {
                long uid = Long.parseLong(parts[0]);
                long gid = parts.length > 1 ? Long.parseLong(parts[1]) : 0;
                u = new Spec.User(uid, gid, u.umask(), u.additionalGids());
            } catch (NumberFormatException e) {
                throw new Args.UsageError("--user must be UID[:GID] in numbers, not \"" + user + "\"");
            }
        }
        if (!extraGids.isEmpty()) {
            List<Long> gids = new ArrayList<>();
            for (String g : extraGids) {
                try {
                    gids.add(Long.parseLong(g));
                } catch (NumberFormatException e) {
                    throw new Args.UsageError("--additional-gids must be numbers, not \"" + g + "\"");
                }
            }
            u = new Spec.User(u.uid(), u.gid(), u.umask(), gids);
        }
        Spec.Capabilities c = base.capabilities();
        if (!caps.isEmpty() && c != null) {
            for (String cap : caps) {
                if (Capability.number(cap) < 0) {
                    throw new Args.UsageError("--cap: unknown capability \"" + cap + "\"");
                }
            }
            c = new Spec.Capabilities(plus(c.bounding(), caps), plus(c.effective(), caps), plus(c.inheritable(), caps),
                    plus(c.permitted(), caps), plus(c.ambient(), caps));
        }
        return new Spec.Process(tty, 0, 0, u, args, envList, cwd == null ? base.cwd() : cwd, c, base.rlimits(),
                base.noNewPrivileges() || noNewPrivs, null, base.apparmorProfile(), base.selinuxLabel());
    }

    private static List<String> plus(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        for (String x : b) {
            if (!out.contains(x)) {
                out.add(x);
            }
        }
        return out;
    }
}
