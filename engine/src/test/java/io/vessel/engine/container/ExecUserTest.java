package io.vessel.engine.container;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExecUserTest {
    private static final String PASSWD = """
            root:x:0:0:root:/root:/bin/sh
            # a comment
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            app:x:1000:1000:App:/home/app:/bin/sh
            broken line
            nohome:x:1001:1001::
            """;
    private static final String GROUP = """
            root:x:0:
            wheel:x:10:app,daemon
            staff:x:50:app
            app:x:1000:
            audio:x:29:
            """;

    @Test
    void resolutionTable(@TempDir Path rootfs) throws IOException {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"), PASSWD);
        Files.writeString(rootfs.resolve("etc/group"), GROUP);
        record Case(String user, List<String> groupAdd, ExecUser want) {
        }
        List<Case> cases = List.of(
                new Case(null, List.of(), new ExecUser(0, 0, List.of(), "/root")),
                new Case("", List.of(), new ExecUser(0, 0, List.of(), "/root")),
                new Case("app", List.of(), new ExecUser(1000, 1000, List.of(10L, 50L), "/home/app")),
                new Case("1000", List.of(), new ExecUser(1000, 1000, List.of(10L, 50L), "/home/app")),
                new Case("app:audio", List.of(), new ExecUser(1000, 29, List.of(), "/home/app")),
                new Case("app:29", List.of(), new ExecUser(1000, 29, List.of(), "/home/app")),
                new Case("1000:4242", List.of(), new ExecUser(1000, 4242, List.of(), "/home/app")),
                new Case("4242", List.of(), new ExecUser(4242, 0, List.of(), "/")),
                new Case("4242:4343", List.of(), new ExecUser(4242, 4343, List.of(), "/")),
                new Case("daemon", List.of("audio", "77"), new ExecUser(1, 1, List.of(10L, 29L, 77L), "/usr/sbin")),
                new Case("nohome", List.of(), new ExecUser(1001, 1001, List.of(), "/")));
        for (Case c : cases) {
            assertEquals(c.want(), ExecUser.resolve(rootfs, c.user(), c.groupAdd()), String.valueOf(c.user()));
        }
    }

    @Test
    void errorsNameTheUserOrGroup(@TempDir Path rootfs) throws IOException {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"), PASSWD);
        Files.writeString(rootfs.resolve("etc/group"), GROUP);
        assertEquals("unable to find user bob: no matching entries in passwd file",
                assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "bob", List.of())).getMessage());
        assertEquals("unable to find group nope: no matching entries in group file",
                assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "app:nope", List.of())).getMessage());
        assertEquals("unable to find group nope: no matching entries in group file",
                assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "app", List.of("nope"))).getMessage());
        assertEquals("uids and gids must be in range 0-2147483647, not 3000000000",
                assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "3000000000", List.of())).getMessage());
    }

    @Test
    void withoutPasswdOnlyNumbersWork(@TempDir Path rootfs) throws IOException {
        assertEquals(new ExecUser(0, 0, List.of(), "/"), ExecUser.resolve(rootfs, null, List.of()));
        assertEquals(new ExecUser(5, 6, List.of(), "/"), ExecUser.resolve(rootfs, "5:6", List.of()));
        assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "app", List.of()));
    }

    @Test
    void aPasswdSymlinkCannotReachTheHost(@TempDir Path dir) throws IOException {
        Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
        Path hostEtc = Files.createDirectories(dir.resolve("host-etc"));
        Files.writeString(hostEtc.resolve("passwd"), "evil:x:0:0::/:/bin/sh\n");
        Files.createDirectories(rootfs.resolve("etc"));
        // absolute and relative escapes both stay inside the rootfs
        Files.createSymbolicLink(rootfs.resolve("etc/passwd"), Path.of("../../host-etc/passwd"));
        Files.createSymbolicLink(rootfs.resolve("etc/group"), hostEtc.resolve("passwd"));
        assertThrows(IllegalArgumentException.class, () -> ExecUser.resolve(rootfs, "evil", List.of()));
        assertEquals(rootfs.resolve("host-etc/passwd"), RootPath.resolve(rootfs, "/etc/passwd"));
    }
}
