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

    /** Only a foreground run relays a terminal itself; create and run --detach need a console socket. */
    @Test
    void terminalWithoutAConsoleSocketIsRefusedByCreate() throws Exception {
        process().put("terminal", true);
        java.nio.file.Path b = bundle.write();
        for (String[] args : new String[][]{{"create", "--bundle", b.toString(), id}, {"run", "--detach", "--bundle", b.toString(), id}}) {
            RuntimeCli.Result r = rt.run(args);
            assertEquals(1, r.exit(), String.join(" ", args));
            assertTrue(r.err().contains("console-socket"), r.err());
            assertEquals("", rt.run("list", "-q").out(), "nothing is left");
        }
    }

    /**
     * runc's tutorial: "spec", then "run" from a terminal, with no console socket: the runtime
     * relays the container's terminal itself. script(1) gives the runtime a real pty here.
     */
    @org.junit.jupiter.api.Test
    void runWithoutAConsoleSocketRelaysTheTerminal() throws Exception {
        process().put("terminal", true);
        process().put("args", java.util.List.of("/bin/sh"));
        java.nio.file.Path b = bundle.write();
        String cmd = "stty cols 91 rows 33; " + RuntimeCli.script() + " --root " + rt.root + " run --bundle " + b + " " + id;
        Process p = new ProcessBuilder("script", "-qec", cmd, "/dev/null").redirectErrorStream(true).start();
        Thread.sleep(1500); // the shell's prompt first; what is typed earlier is not lost, but keep it realistic
        try (var in = p.getOutputStream()) {
            in.write("tty; stty size; exit 3\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assertions.assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        org.junit.jupiter.api.Assertions.assertEquals(3, p.exitValue(), out);
        org.junit.jupiter.api.Assertions.assertTrue(out.contains("/dev/pts/0"), out);
        org.junit.jupiter.api.Assertions.assertTrue(out.contains("33 91"), "our terminal's size is the container's: " + out);
        org.junit.jupiter.api.Assertions.assertEquals("", rt.run("list", "-q").out(), "run removed the container");
    }
}
