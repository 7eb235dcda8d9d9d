package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vessel.engine.build.Instruction.ArgDecl;
import io.vessel.engine.build.Instruction.Command;
import io.vessel.engine.build.Instruction.KeyValue;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DockerfileParseTest {
    private static final String EVERY = """
            # syntax=docker/dockerfile:1
            # check=skip=all
            ARG BASE=busybox
            ARG A B=2
            FROM --platform=$BUILDPLATFORM ${BASE}:latest AS Builder
            RUN echo hello > /greeting
            run ["sh", "-c", "echo exec"]
            CMD ["sh"]
            ENTRYPOINT /bin/sh -c
            COPY --from=builder --chown=1:2 --chmod=0644 --link a b /dst/
            ADD --chown=0:0 archive.tar.gz /opt/
            ENV PATH=/usr/bin:$PATH MSG="hello world" ESC=a\\ b
            ENV OLD the old form
            WORKDIR /app
            USER nobody:nogroup
            EXPOSE 80 443/tcp 53/udp 8000-8010
            LABEL version=1.0 "description"="a thing"
            VOLUME ["/data", "/logs"]
            VOLUME /cache /tmp
            SHELL ["/bin/bash", "-eu", "-c"]
            STOPSIGNAL SIGTERM
            HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --start-interval=2s --retries=3 CMD wget -q localhost
            ONBUILD RUN echo triggered
            MAINTAINER Jane <jane@example.com>
            FROM scratch
            HEALTHCHECK NONE
            """;

    @Test
    void everyInstructionBecomesItsRecord() {
        Dockerfile df = Dockerfile.parse(EVERY, "Dockerfile");
        assertEquals('\\', df.escape());
        assertEquals(List.of(new ArgDecl("BASE", "busybox")), df.globalArgs().get(0).args());
        assertEquals(List.of(new ArgDecl("A", null), new ArgDecl("B", "2")), df.globalArgs().get(1).args());
        assertEquals(2, df.stages().size());

        Dockerfile.Stage s = df.stages().getFirst();
        assertEquals(new Instruction.From(5, "FROM --platform=$BUILDPLATFORM ${BASE}:latest AS Builder",
                "${BASE}:latest", "Builder", "$BUILDPLATFORM"), s.from());
        assertEquals("builder", s.name());
        List<Instruction> i = s.instructions();
        assertEquals(new Instruction.Run(6, "RUN echo hello > /greeting", Command.shell("echo hello > /greeting"),
                List.of()), i.get(0));
        assertEquals(Command.exec(List.of("sh", "-c", "echo exec")), ((Instruction.Run) i.get(1)).command());
        assertEquals(Command.exec(List.of("sh")), ((Instruction.Cmd) i.get(2)).command());
        assertEquals(Command.shell("/bin/sh -c"), ((Instruction.Entrypoint) i.get(3)).command());
        Instruction.Copy copy = (Instruction.Copy) i.get(4);
        assertEquals(List.of("a", "b"), copy.sources());
        assertEquals("/dst/", copy.dest());
        assertEquals("builder", copy.from());
        assertEquals("1:2", copy.chown());
        assertEquals("0644", copy.chmod());
        assertTrue(copy.link());
        Instruction.Add add = (Instruction.Add) i.get(5);
        assertEquals(List.of("archive.tar.gz"), add.sources());
        assertEquals("/opt/", add.dest());
        assertEquals("0:0", add.chown());
        assertEquals(List.of(new KeyValue("PATH", "/usr/bin:$PATH"), new KeyValue("MSG", "\"hello world\""),
                new KeyValue("ESC", "a\\ b")), ((Instruction.Env) i.get(6)).pairs());
        assertEquals(List.of(new KeyValue("OLD", "the old form")), ((Instruction.Env) i.get(7)).pairs());
        assertEquals("/app", ((Instruction.Workdir) i.get(8)).path());
        assertEquals("nobody:nogroup", ((Instruction.User) i.get(9)).user());
        assertEquals(List.of("80", "443/tcp", "53/udp", "8000-8010"), ((Instruction.Expose) i.get(10)).ports());
        assertEquals(List.of(new KeyValue("version", "1.0"), new KeyValue("\"description\"", "\"a thing\"")),
                ((Instruction.Label) i.get(11)).pairs());
        assertEquals(List.of("/data", "/logs"), ((Instruction.Volume) i.get(12)).paths());
        assertEquals(List.of("/cache", "/tmp"), ((Instruction.Volume) i.get(13)).paths());
        assertEquals(List.of("/bin/bash", "-eu", "-c"), ((Instruction.Shell) i.get(14)).shell());
        assertEquals("SIGTERM", ((Instruction.StopSignal) i.get(15)).signal());
        Instruction.Healthcheck h = (Instruction.Healthcheck) i.get(16);
        assertEquals(List.of("CMD-SHELL", "wget -q localhost"), h.test());
        assertEquals(Duration.ofSeconds(30), h.interval());
        assertEquals(Duration.ofSeconds(90), h.timeout());
        assertEquals(Duration.ofMillis(500), h.startPeriod());
        assertEquals(Duration.ofSeconds(2), h.startInterval());
        assertEquals(3, h.retries());
        assertEquals("RUN echo triggered", ((Instruction.Onbuild) i.get(17)).trigger());
        assertEquals("Jane <jane@example.com>", ((Instruction.Maintainer) i.get(18)).name());
        assertEquals(19, i.size());

        Dockerfile.Stage last = df.stages().get(1);
        assertEquals("scratch", last.from().image());
        assertNull(last.name());
        Instruction.Healthcheck none = (Instruction.Healthcheck) last.instructions().getFirst();
        assertTrue(none.none());
        assertEquals(26, none.line());
    }

    @Test
    void continuationsCommentsAndEmptyLines() {
        Dockerfile df = Dockerfile.parse("""
                FROM busybox
                # a comment

                RUN echo a \\
                # a comment inside the continuation is skipped
                    b \\

                  c
                   run    echo   d
                """, "Dockerfile");
        List<Instruction> i = df.stages().getFirst().instructions();
        Instruction.Run r = (Instruction.Run) i.get(0);
        assertEquals(4, r.line());
        assertEquals(Command.shell("echo a     b   c"), r.command());
        assertEquals(Command.shell("echo   d"), ((Instruction.Run) i.get(1)).command());
        assertEquals(9, i.get(1).line());
    }

    @Test
    void backtickEscapeDirective() {
        Dockerfile df = Dockerfile.parse("""
                # escape=`
                FROM busybox
                RUN dir c:\\ `
                    more
                COPY a\\b c:\\
                """, "Dockerfile");
        assertEquals('`', df.escape());
        List<Instruction> i = df.stages().getFirst().instructions();
        assertEquals(Command.shell("dir c:\\     more"), ((Instruction.Run) i.get(0)).command());
        assertEquals("c:\\", ((Instruction.Copy) i.get(1)).dest());
    }

    @Test
    void directivesOnlyAtTheTop() {
        Dockerfile df = Dockerfile.parse("""
                # a comment first
                # escape=`
                FROM busybox
                RUN a \\
                  b
                """, "Dockerfile");
        assertEquals('\\', df.escape());
        assertEquals(Command.shell("a   b"), ((Instruction.Run) df.stages().getFirst().instructions().getFirst()).command());
        DockerfileException e = assertThrows(DockerfileException.class,
                () -> Dockerfile.parse("# escape=\\\n# escape=`\nFROM x\n", "Dockerfile"));
        assertEquals("Dockerfile:2: only one escape parser directive may be given", e.getMessage());
        e = assertThrows(DockerfileException.class, () -> Dockerfile.parse("# escape=x\nFROM x\n", "Dockerfile"));
        assertEquals("Dockerfile:1: invalid escape character 'x': it must be \\ or `", e.getMessage());
    }

    @Test
    void invalidJsonFallsBackToShellForm() {
        Dockerfile df = Dockerfile.parse("""
                FROM busybox
                CMD [ "echo", 'single' ]
                ENTRYPOINT ["a", 1]
                RUN []
                """, "Dockerfile");
        List<Instruction> i = df.stages().getFirst().instructions();
        assertEquals(Command.shell("[ \"echo\", 'single' ]"), ((Instruction.Cmd) i.get(0)).command());
        assertEquals(Command.shell("[\"a\", 1]"), ((Instruction.Entrypoint) i.get(1)).command());
        assertEquals(Command.exec(List.of()), ((Instruction.Run) i.get(2)).command());
    }

    @Test
    void heredocs() {
        Dockerfile df = Dockerfile.parse("""
                FROM busybox
                RUN <<EOF
                echo one
                echo two
                EOF
                RUN cat <<-"END" > /x
                \tliteral $HOME
                \tEND
                COPY <<CONF /etc/app.conf
                key=$VALUE
                CONF
                CMD ["true"]
                """, "Dockerfile");
        List<Instruction> i = df.stages().getFirst().instructions();
        Instruction.Run script = (Instruction.Run) i.get(0);
        assertEquals(Command.shell("echo one\necho two\n"), script.command());
        Instruction.Run cat = (Instruction.Run) i.get(1);
        assertEquals(List.of(new Instruction.Heredoc("END", "literal $HOME\n", false)), cat.heredocs());
        assertEquals(Command.shell("cat <<-\"END\" > /x\nliteral $HOME\nEND\n"), cat.command());
        Instruction.Copy copy = (Instruction.Copy) i.get(2);
        assertEquals(List.of("<<CONF"), copy.sources());
        assertEquals(List.of(new Instruction.Heredoc("CONF", "key=$VALUE\n", true)), copy.heredocs());
        assertInstanceOf(Instruction.Cmd.class, i.get(3));
        assertEquals(12, i.get(3).line());
        DockerfileException e = assertThrows(DockerfileException.class,
                () -> Dockerfile.parse("FROM x\nRUN <<EOF\nnever closed\n", "Dockerfile"));
        assertEquals("Dockerfile:2: here-document <<EOF is not closed: no line \"EOF\" follows", e.getMessage());
    }

    @Test
    void normalizedTextIgnoresSpellingAndPosition() {
        Dockerfile a = Dockerfile.parse("FROM x\nCOPY  a   b /c/\n", "Dockerfile");
        Dockerfile b = Dockerfile.parse("FROM x\n\n\ncopy a \\\n b /c/\n", "Dockerfile");
        Instruction ia = a.stages().getFirst().instructions().getFirst();
        Instruction ib = b.stages().getFirst().instructions().getFirst();
        assertEquals(ia.normalized(), ib.normalized());
        assertFalse(ia.equals(ib)); // line and text differ
        assertEquals("COPY {\"sources\":[\"a\",\"b\"],\"dest\":\"/c/\",\"from\":null,\"chown\":null,"
                + "\"chmod\":null,\"link\":false,\"heredocs\":[]}", ia.normalized());
    }

    @Test
    void errorsNameTheLine() {
        assertError("FROM x\n\n\n\n\n\n\n\n\n\n\nFOO bar\n", "Dockerfile:12: unknown instruction: FOO");
        assertError("FROM x\n\nENV\n", "Dockerfile:3: ENV requires at least one argument");
        assertError("RUN true\nFROM x\n", "Dockerfile:1: no FROM before RUN: only ARG may come before the first FROM");
        assertError("ARG X\n", "Dockerfile:1: no FROM instruction: a Dockerfile needs at least one build stage");
        assertError("FROM x\nRUN --mount=type=cache,target=/c true\n",
                "Dockerfile:2: RUN --mount is not supported by Vessel's builder");
        assertError("FROM x\nRUN --network=none true\n", "Dockerfile:2: RUN --network is not supported by Vessel's builder");
        assertError("FROM x\nRUN --security=insecure true\n",
                "Dockerfile:2: RUN --security is not supported by Vessel's builder");
        assertError("FROM x\nCOPY --frm=a b c\n", "Dockerfile:2: unknown flag for COPY: --frm");
        assertError("FROM x\nCOPY --from a b\n", "Dockerfile:2: COPY --from needs a value: --from=VALUE");
        assertError("FROM x\nCOPY a\n",
                "Dockerfile:2: COPY requires at least two arguments (sources and a destination), got 1");
        assertError("FROM --plat=x y\n", "Dockerfile:1: unknown flag for FROM: --plat");
        assertError("FROM a b\n", "Dockerfile:1: FROM requires one argument, or three: FROM <image> [AS <name>]");
        assertError("FROM a AS 1x\n", "Dockerfile:1: invalid stage name \"1x\": it must start with a letter and contain"
                + " only letters, digits, '-', '_' and '.'");
        assertError("FROM x\nENV a=1 b\n", "Dockerfile:2: ENV \"b\" has no '=': every word must be NAME=VALUE");
        assertError("FROM x\nENV a\n", "Dockerfile:2: ENV a has no value: write ENV a=VALUE or ENV a VALUE");
        assertError("FROM x\nLABEL =x\n", "Dockerfile:2: LABEL names may not be empty (in \"=x\")");
        assertError("FROM x\nSHELL /bin/sh -c\n",
                "Dockerfile:2: SHELL requires its arguments in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
        assertError("FROM x\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument");
        assertError("FROM x\nHEALTHCHECK --interval=5 CMD true\n",
                "Dockerfile:2: HEALTHCHECK --interval=5 is not a duration (e.g. 30s, 1m30s, 500ms)");
        assertError("FROM x\nHEALTHCHECK --retries=-1 CMD true\n", "Dockerfile:2: HEALTHCHECK --retries may not be negative");
        assertError("FROM x\nHEALTHCHECK --retries=2 NONE\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments or flags");
        assertError("FROM x\nHEALTHCHECK RUN true\n",
                "Dockerfile:2: unknown HEALTHCHECK type \"RUN\" (expected CMD or NONE)");
        assertError("FROM x\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: ONBUILD is not allowed as an ONBUILD trigger");
        assertError("FROM x\nONBUILD FOO\n", "Dockerfile:2: unknown instruction: FOO");
        assertError("FROM x\nADD --checksum=sha256:00 a b\n", "Dockerfile:2: ADD --checksum is not supported by Vessel's builder");
        assertError("FROM x\nVOLUME [\"\"]\n", "Dockerfile:2: VOLUME paths may not be empty strings");
    }

    private static void assertError(String text, String message) {
        DockerfileException e = assertThrows(DockerfileException.class, () -> Dockerfile.parse(text, "Dockerfile"));
        assertEquals(message, e.getMessage());
    }

    @Test
    void onbuildTriggersParseOnTheirOwn() {
        Instruction i = Dockerfile.parseInstruction("COPY --chown=1:1 . /src", '\\', "busybox ONBUILD", 1);
        Instruction.Copy c = (Instruction.Copy) i;
        assertEquals(List.of("."), c.sources());
        assertEquals("1:1", c.chown());
    }
}
