package io.vessel.engine.container;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MountSpecTest {
    private static final String P = MountSpec.DEFAULT_PROPAGATION;

    @Test
    void volumeFlagTable() {
        record Case(String spec, MountSpec want) {
        }
        List<Case> cases = List.of(
                new Case("/data", new MountSpec.Volume(null, "/data", false, false, P, Map.of(), Map.of())),
                new Case("/data/", new MountSpec.Volume(null, "/data", false, false, P, Map.of(), Map.of())),
                new Case("db:/var/lib/db", new MountSpec.Volume("db", "/var/lib/db", false, false, P, Map.of(), Map.of())),
                new Case("db:/x:ro", new MountSpec.Volume("db", "/x", true, false, P, Map.of(), Map.of())),
                new Case("db:/x:rw,nocopy", new MountSpec.Volume("db", "/x", false, true, P, Map.of(), Map.of())),
                new Case("db:/x:z", new MountSpec.Volume("db", "/x", false, false, P, Map.of(), Map.of())),
                new Case("/srv:/srv", new MountSpec.Bind(Path.of("/srv"), "/srv", false, P, true, true)),
                new Case("/srv/../etc:/e:ro,Z,rslave", new MountSpec.Bind(Path.of("/etc"), "/e", true, "rslave", true, true)),
                new Case("/srv:/x:shared", new MountSpec.Bind(Path.of("/srv"), "/x", false, "shared", true, true)),
                new Case("/a:/b:", new MountSpec.Bind(Path.of("/a"), "/b", false, P, true, true)));
        for (Case c : cases) {
            assertEquals(c.want(), MountSpec.parseVolumeFlag(c.spec()), c.spec());
        }
    }

    @Test
    void volumeFlagErrorsNameTheBadPart() {
        Map<String, String> bad = Map.ofEntries(
                Map.entry("a:b:c:d", "invalid volume specification \"a:b:c:d\": too many colon-separated parts"),
                Map.entry(":/x", "empty source"),
                Map.entry("data", "the container path \"data\" must be absolute"),
                Map.entry("db:rel", "the container path \"rel\" must be absolute"),
                Map.entry("/x:ro", "a mode needs a source and a destination"),
                Map.entry("db:/x:ro,rw", "\"rw\" conflicts with an earlier option"),
                Map.entry("db:/x:fast", "unknown option \"fast\""),
                Map.entry("/h:/x:nocopy", "nocopy applies to volumes, not to bind mounts"),
                Map.entry("a:/x", "includes invalid characters"),
                Map.entry("..:/x", "includes invalid characters"),
                Map.entry("my vol:/x", "includes invalid characters"),
                Map.entry("/h:/", "destination can't be '/'"));
        bad.forEach((spec, want) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MountSpec.parseVolumeFlag(spec), spec);
            assertTrue(e.getMessage().contains(want), spec + ": " + e.getMessage());
        });
    }

    @Test
    void mountFlagTable() {
        assertEquals(new MountSpec.Bind(Path.of("/h"), "/c", true, "rshared", true, false),
                MountSpec.parseMountFlag("type=bind,source=/h,target=/c,readonly,bind-propagation=rshared"));
        assertEquals(new MountSpec.Bind(Path.of("/h"), "/c", false, P, false, false),
                MountSpec.parseMountFlag("type=bind,src=/h,dst=/c,ro=false,bind-nonrecursive"));
        assertEquals(new MountSpec.Volume("v1", "/c", false, true, P, Map.of("a", "b"), Map.of("type", "tmpfs")),
                MountSpec.parseMountFlag("source=v1,destination=/c,volume-nocopy=true,volume-label=a=b,volume-opt=type=tmpfs"));
        assertEquals(new MountSpec.Volume(null, "/c", true, false, P, Map.of(), Map.of()),
                MountSpec.parseMountFlag("type=volume,target=/c,ro=1"));
        assertEquals(new MountSpec.Tmpfs("/run", false, List.of("size=67108864", "mode=1770")),
                MountSpec.parseMountFlag("type=tmpfs,target=/run,tmpfs-size=64m,tmpfs-mode=1770"));
        assertEquals(new MountSpec.Volume("vv", "/c", false, false, P, Map.of(), Map.of("o", "size=1m,uid=1")),
                MountSpec.parseMountFlag("src=vv,dst=/c,\"volume-opt=o=size=1m,uid=1\""));
    }

    @Test
    void mountFlagErrors() {
        Map<String, String> bad = Map.ofEntries(
                Map.entry("type=bind,target=/c", "source is required for a bind mount"),
                Map.entry("type=bind,source=rel,target=/c", "bind source \"rel\" must be an absolute path"),
                Map.entry("type=volume,source=v", "target is required"),
                Map.entry("type=volume,source=v,target=c", "the target \"c\" must be an absolute path"),
                Map.entry("type=tmpfs,source=x,target=/c", "a tmpfs mount takes no source"),
                Map.entry("type=nfs,target=/c", "mount type \"nfs\" is not supported"),
                Map.entry("type=bind,source=/h,target=/c,volume-nocopy", "cannot mix 'volume-nocopy' with mount type 'bind'"),
                Map.entry("type=volume,target=/c,tmpfs-size=1m", "cannot mix 'tmpfs-size' with mount type 'volume'"),
                Map.entry("target=/c,colour=red", "unexpected key 'colour' in 'colour=red'"),
                Map.entry("target=/c,readonly=maybe", "\"maybe\" is not true or false"),
                Map.entry("type=tmpfs,target=/c,tmpfs-mode=9", "tmpfs-mode \"9\" is not an octal number"),
                Map.entry("type=bind,source=/h,target=/c,bind-propagation=up", "invalid bind-propagation \"up\""),
                Map.entry("type=volume,source=/h,target=/c", "use type=bind for host directories"),
                Map.entry("type=volume,source=v,target=/c", "\"v\" includes invalid characters"));
        bad.forEach((spec, want) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MountSpec.parseMountFlag(spec), spec);
            assertTrue(e.getMessage().contains(want), spec + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(spec), "the message quotes the argument: " + e.getMessage());
        });
    }

    @Test
    void tmpfsFlag() {
        assertEquals(new MountSpec.Tmpfs("/tmp", false, List.of()), MountSpec.parseTmpfsFlag("/tmp"));
        assertEquals(new MountSpec.Tmpfs("/run", true, List.of("exec", "size=1048576", "mode=755")),
                MountSpec.parseTmpfsFlag("/run:exec,size=1m,mode=755,ro"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MountSpec.parseTmpfsFlag("tmp"))
                .getMessage().contains("\"tmp\" is not an absolute path"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MountSpec.parseTmpfsFlag("/tmp:bogus"))
                .getMessage().contains("unknown option \"bogus\""));
    }

    @Test
    void duplicateMountPointsAreRefused() {
        List<MountSpec> ms = List.of(MountSpec.parseVolumeFlag("a1:/data"), MountSpec.parseTmpfsFlag("/data/"));
        assertEquals("duplicate mount point: /data",
                assertThrows(IllegalArgumentException.class, () -> MountSpec.checkDistinct(ms)).getMessage());
    }

    @Test
    void sizes() {
        assertEquals(64L << 20, Sizes.parse("x", "64m"));
        assertEquals(64L << 20, Sizes.parse("x", "64MB"));
        assertEquals(1536, Sizes.parse("x", "1.5k"));
        assertEquals(100, Sizes.parse("x", "100"));
        assertEquals(100, Sizes.parse("x", "100b"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sizes.parse("--memory", "lots"))
                .getMessage().startsWith("--memory: invalid size \"lots\""));
    }
}
