package io.vessel.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bindings against the real kernel: results, errno capture, descriptor passing. */
class SyscallsTest {
    @TempDir
    Path tmp;

    @Test
    void errnoIsCapturedAndNamedWithTheCall() {
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> Files.open(tmp.resolve("missing").toString(), Files.O_RDONLY, 0));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains("open(\"" + tmp.resolve("missing") + "\""), e.getMessage());
        assertTrue(e.getMessage().endsWith("ENOENT (No such file or directory)"), e.getMessage());
    }

    @Test
    void fifosAndDeviceNumbers() throws Exception {
        Path fifo = tmp.resolve("f");
        Files.mkfifo(fifo.toString(), 0600);
        assertEquals("fifo", java.nio.file.Files.readAttributes(fifo, "unix:mode").isEmpty() ? "" : "fifo");
        assertTrue(java.nio.file.Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class).isOther());
        assertEquals(Errno.EEXIST, assertThrows(ErrnoException.class, () -> Files.mkfifo(fifo.toString(), 0600)).errno());
        assertEquals(0x103L, Files.makedev(1, 3));
        assertEquals(0x8800L, Files.makedev(136, 0));
    }

    @Test
    void descriptorsCrossASocketPair() throws Exception {
        Fd[] pair = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
        try (Fd a = pair[0]; Fd b = pair[1]; Fd file = Files.open(tmp.toString(), Files.O_PATH | Files.O_CLOEXEC, 0)) {
            Sockets.send(a, "hello".getBytes(StandardCharsets.UTF_8), file.num());
            Sockets.Message m = Sockets.receive(b, 64);
            assertEquals("hello", m.text());
            assertEquals(1, m.fds().length);
            try (Fd got = m.fds()[0]) {
                assertEquals(tmp, java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + got.num())));
            }
            a.close();
            assertTrue(Sockets.receive(b, 64).isEof());
        }
    }

    @Test
    void spawnPlacesDescriptorsAndReportsTheExit() throws Exception {
        Fd[] pair = Sockets.socketpair(Sockets.SOCK_STREAM);
        try (Fd ours = pair[0]; Fd theirs = pair[1]) {
            // The child sees our socket as its descriptor 3 and nothing above it.
            int pid = Processes.spawn("/bin/sh", List.of("sh", "-c", "echo hi >&3; ls /proc/self/fd | wc -l >&3; exit 5"),
                    List.of("PATH=/bin:/usr/bin"), new int[]{0, 1, 2, theirs.num()});
            theirs.close();
            byte[] buf = new byte[64];
            StringBuilder out = new StringBuilder();
            for (int n; (n = Files.read(ours.num(), buf)) > 0; ) {
                out.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
            Processes.ExitStatus st = Processes.waitFor(pid);
            assertEquals(5, st.shellCode());
            List<String> lines = out.toString().lines().map(String::trim).toList();
            assertEquals("hi", lines.get(0));
            assertEquals("5", lines.get(1), "0, 1, 2, 3 and the directory ls reads");
        }
    }

    @Test
    void pidfdsSignalTheRightProcess() throws Exception {
        int pid = Processes.spawn("/bin/sleep", List.of("sleep", "30"), List.of(), new int[]{0, 1, 2});
        try (Fd pidfd = Processes.pidfdOpen(pid)) {
            Processes.pidfdSendSignal(pidfd, Signals.SIGTERM);
        }
        Processes.ExitStatus st = Processes.waitFor(pid);
        assertEquals(128 + Signals.SIGTERM, st.shellCode());
        assertEquals(Errno.ESRCH, assertThrows(ErrnoException.class, () -> Processes.pidfdOpen(pid)).errno());
    }

    @Test
    void readAndWriteMoveAllBytes() throws Exception {
        Fd[] pair = Sockets.socketpair(Sockets.SOCK_STREAM);
        try (Fd a = pair[0]; Fd b = pair[1]) {
            byte[] data = new byte[1000];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) i;
            }
            Files.write(a.num(), data);
            byte[] got = new byte[1000];
            int off = 0;
            byte[] buf = new byte[300];
            while (off < got.length) {
                int n = Files.read(b.num(), buf);
                System.arraycopy(buf, 0, got, off, n);
                off += n;
            }
            assertArrayEquals(data, got);
        }
    }
}
