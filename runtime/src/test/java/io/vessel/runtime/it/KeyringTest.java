package io.vessel.runtime.it;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The session keyring, as runc does it: a container's processes get a keyring of their own
 * ("_ses.ID"), which exec'd processes join too, unless create was given --no-new-keyring. /proc/keys
 * (unmasked here) lists the keys a process may view, its session keyring among them.
 */
class KeyringTest extends FeatureSupport {
    private static final String SHOW = "grep ' keyring ' /proc/keys";


    @BeforeEach
    void unmaskKeys() throws Exception {
        bundle.edit(s -> {
            List<Object> masked = new ArrayList<>(Bundle.list(Bundle.map(s, "linux"), "maskedPaths"));
            masked.remove("/proc/keys");
            Bundle.map(s, "linux").put("maskedPaths", masked);
        });
    }

    @Test
    void eachContainerHasItsOwnSessionKeyringAndExecJoinsIt() throws Exception {
        bundle.args("sh", "-c", SHOW).write();
        String own = rt.run("run", "--bundle", bundle.dir.toString(), "k1").ok().out();
        assertTrue(own.contains(" _ses.k1: "), own);

        bundle.args("sleep", "300").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "k2").ok();
        rt.run("start", "k2").ok();
        String first = rt.run("exec", "k2", "sh", "-c", "grep ' _ses.k2: ' /proc/keys | cut -d' ' -f1").ok().out();
        String second = rt.run("exec", "k2", "sh", "-c", "grep ' _ses.k2: ' /proc/keys | cut -d' ' -f1").ok().out();
        assertTrue(first.matches("[0-9a-f]+\n"), first);
        assertEquals(first, second, "exec joins the container's keyring, it makes no new one");
    }

    @Test
    void execInAUserNamespaceJoinsTheKeyringOfTheContainersRoot() throws Exception {
        Bundle.sh("chown", "-R", "100000:100000", bundle.rootfs().toString());
        Bundle.sh("chmod", "755", tmp.toString(), bundle.dir.toString()); // the container's root reaches its rootfs
        bundle.args("sleep", "300").edit(s -> {
            Map<String, Object> linux = Bundle.map(s, "linux");
            Bundle.list(linux, "namespaces").add(Map.of("type", "user"));
            linux.put("uidMappings", List.of(Map.of("containerID", 0, "hostID", 100000, "size", 65536)));
            linux.put("gidMappings", List.of(Map.of("containerID", 0, "hostID", 100000, "size", 65536)));
        }).write();
        rt.run("create", "--bundle", bundle.dir.toString(), "ku").ok();
        rt.run("start", "ku").ok();
        // owned by the container's root (uid 0 inside), and the same one for every exec
        String show = "grep ' _ses.ku: ' /proc/keys | tr -s ' ' | cut -d' ' -f1,6";
        String first = rt.run("exec", "ku", "sh", "-c", show).ok().out();
        assertTrue(first.matches("[0-9a-f]+ 0\n"), first);
        assertEquals(first, rt.run("exec", "ku", "sh", "-c", show).ok().out());
    }

    @Test
    void noNewKeyringKeepsTheCallersKeyring() throws Exception {
        bundle.args("sh", "-c", SHOW).write();
        String shown = rt.run("run", "--no-new-keyring", "--bundle", bundle.dir.toString(), "k3").ok().out();
        assertFalse(shown.contains(" _ses.k3: "), shown);
    }
}
