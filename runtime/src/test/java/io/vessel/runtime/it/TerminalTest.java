package io.vessel.runtime.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** process.terminal with --console-socket: the pty master reaches the caller; the container sees a terminal. */
class TerminalTest extends FeatureSupport {

    @Test
    void consoleSocketReceivesAWorkingPtyMaster() throws Throwable {
        process().put("terminal", true);
        process().put("consoleSize", obj("height", 33, "width", 111));
        bundle.args("/bin/sh").write();
        try (ConsoleSocket cs = new ConsoleSocket(tmp.resolve("console.sock"))) {
            rt.run("create", "--bundle", bundle.dir.toString(), "--console-socket", cs.path.toString(), id).ok();
            ConsoleSocket.Received got = cs.await();
            assertTrue(got.fd() >= 0, "a descriptor came with the message");
            assertEquals("/dev/pts/0", got.text().trim());
            // the master is a pty master: its /proc link names ptmx
            assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + got.fd())).toString().contains("ptmx"));
            int pid = state(id).get("pid").intValue();
            rt.run("start", id).ok();
            try {
                ConsoleSocket.write(got.fd(), "tty; stty size; ls -l /dev/console; echo $((40+2))-done\n");
                String out = ConsoleSocket.readUntil(got.fd(), "42-done", 10_000);
                assertTrue(out.contains("42-done"), out);
                assertTrue(out.contains("/dev/pts/0\r\n"), "tty inside: " + out);
                assertTrue(out.contains("33 111"), "consoleSize: " + out);
                assertTrue(out.contains("136,   0") && out.contains("/dev/console"), "/dev/console is the pty: " + out);
                // outside: the init's stdio is the pty
                assertTrue(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/0")).toString().contains("pts/0"));

                // exec with a terminal gets a pty of its own through another console socket
                try (ConsoleSocket cs2 = new ConsoleSocket(tmp.resolve("console2.sock"))) {
                    rt.run("exec", "-d", "--tty", "--console-socket", cs2.path.toString(), id, "/bin/sh").ok();
                    ConsoleSocket.Received g2 = cs2.await();
                    assertEquals("/dev/pts/1", g2.text().trim());
                    ConsoleSocket.write(g2.fd(), "tty; echo $((50+5))-done; exit\n");
                    String o2 = ConsoleSocket.readUntil(g2.fd(), "55-done", 10_000);
                    assertTrue(o2.contains("/dev/pts/1") && o2.contains("55-done"), o2);
                    ConsoleSocket.close(g2.fd());
                }
                ConsoleSocket.write(got.fd(), "exit 7\n");
                waitStopped(id);
            } finally {
                ConsoleSocket.close(got.fd());
            }
        }
    }

    @Test
    void terminalWithoutAConsoleSocketIsRefused() throws Exception {
        process().put("terminal", true);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("console-socket"), r.err());
    }
}
