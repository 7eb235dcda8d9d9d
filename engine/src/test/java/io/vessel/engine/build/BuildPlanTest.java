package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vessel.image.oci.Platform;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BuildPlanTest {
    private static BuildPlan plan(String text, Map<String, String> buildArgs, String target) {
        return BuildPlan.of(Dockerfile.parse(text, "Dockerfile"),
                new BuildOptions(buildArgs, target, Platform.LINUX_AMD64));
    }

    /** Runs the target stage's instructions from an empty base and returns the steps. */
    private static List<Step> steps(BuildPlan plan) {
        StageState state = plan.start(List.of("PATH=/usr/bin:/bin"), null, null);
        return plan.target().stage().instructions().stream().map(state::step).toList();
    }

    @Test
    void globalArgsOnlyInFromUnlessRedeclared() {
        BuildPlan p = plan("""
                ARG TAG=1.36
                ARG IMG=busybox
                FROM ${IMG}:${TAG}
                LABEL before=$TAG
                ARG TAG
                LABEL after=$TAG
                """, Map.of(), null);
        assertEquals(new BuildPlan.Base.Image("busybox:1.36", null), p.target().base());
        List<Step> s = steps(p);
        assertEquals(List.of(new Instruction.KeyValue("before", "")), ((Instruction.Label) s.get(0).expanded()).pairs());
        assertEquals(List.of(new Instruction.KeyValue("after", "1.36")), ((Instruction.Label) s.get(2).expanded()).pairs());
    }

    @Test
    void buildArgsOverrideDefaultsAndEnvWinsOverArg() {
        BuildPlan p = plan("""
                ARG V=global
                FROM busybox
                ARG V=stage
                ARG W=w-default
                ENV W=from-env
                RUN echo $V $W
                WORKDIR /$V/$W
                """, Map.of("V", "cli", "UNUSED", "x", "HTTP_PROXY", "http://proxy"), null);
        List<Step> s = steps(p);
        Step run = s.get(3);
        assertEquals(Map.of("V", "cli"), run.cacheArgs());
        assertEquals(Map.of("V", "cli", "HTTP_PROXY", "http://proxy"), run.runArgs());
        assertEquals(List.of("V=cli", "HTTP_PROXY=http://proxy", "PATH=/usr/bin:/bin", "W=from-env"),
                run.runEnvironment());
        assertEquals("/cli/from-env", ((Instruction.Workdir) s.get(4).expanded()).path());
        assertEquals(Set.of("UNUSED"), p.unusedBuildArgs());
    }

    @Test
    void envExpandsWithTheValuesBeforeTheInstruction() {
        BuildPlan p = plan("""
                FROM busybox
                ENV A=hello
                ENV A=bye B=$A
                ENV PATH=/opt/bin:$PATH C="quoted $A" D='single $A' E=a\\ b
                WORKDIR app
                WORKDIR ../srv/./x
                USER ${A}
                EXPOSE 80/tcp 8000-8010/udp
                """, Map.of(), null);
        StageState state = p.start(List.of("PATH=/usr/bin:/bin"), "", "/base");
        for (Instruction i : p.target().stage().instructions()) {
            state.step(i);
        }
        assertEquals(List.of("PATH=/opt/bin:/usr/bin:/bin", "A=bye", "B=hello", "C=quoted bye",
                "D=single $A", "E=a b"), state.env());
        assertEquals("/base/srv/x", state.workdir());
        assertEquals("bye", state.user());
    }

    @Test
    void predefinedAndPlatformArgs() {
        BuildPlan p = plan("""
                FROM --platform=$BUILDPLATFORM busybox AS b
                ARG TARGETARCH
                RUN echo $TARGETARCH $HTTP_PROXY
                LABEL arch=$TARGETARCH os=$TARGETOS
                """, Map.of("http_proxy", "p"), null);
        assertEquals(new BuildPlan.Base.Image("busybox", "linux/amd64"), p.target().base());
        List<Step> s = steps(p);
        assertEquals(Map.of("TARGETARCH", "amd64", "http_proxy", "p"), s.get(1).runArgs());
        assertEquals(List.of(new Instruction.KeyValue("arch", "amd64"), new Instruction.KeyValue("os", "")),
                ((Instruction.Label) s.get(2).expanded()).pairs());
        assertEquals(Set.of(), p.unusedBuildArgs());
    }

    @Test
    void stagesTargetAndDependencies() {
        String text = """
                FROM busybox AS base
                RUN true
                FROM base AS build
                COPY --from=0 /a /a
                FROM alpine AS unused
                FROM scratch
                COPY --from=build /out /out
                COPY --from=docker.io/library/busybox:latest /bin/sh /sh
                """;
        BuildPlan p = plan(text, Map.of(), null);
        assertEquals(List.of(0, 1, 3), p.stages().stream().map(BuildPlan.PlannedStage::index).toList());
        assertEquals(new BuildPlan.Base.Scratch(), p.target().base());
        assertEquals(Set.of(1), p.target().dependsOn());
        assertEquals(Set.of("docker.io/library/busybox:latest"), p.target().images());
        BuildPlan.PlannedStage build = p.stages().get(1);
        assertEquals(new BuildPlan.Base.Stage(0), build.base());
        assertEquals(Set.of(0), build.dependsOn());
        assertNull(p.stages().get(2).name());

        BuildPlan onlyBuild = plan(text, Map.of(), "BUILD");
        assertEquals(List.of(0, 1), onlyBuild.stages().stream().map(BuildPlan.PlannedStage::index).toList());
        Instruction.Copy c = (Instruction.Copy) onlyBuild.target().stage().instructions().getFirst();
        assertEquals(new BuildPlan.Source.Stage(0), onlyBuild.sourceOf(onlyBuild.target().stage(), c));
        assertEquals(List.of(2), plan(text, Map.of(), "unused").stages().stream()
                .map(BuildPlan.PlannedStage::index).toList());
    }

    @Test
    void planErrors() {
        assertError("FROM a AS x\nFROM b AS X\n", null,
                "Dockerfile:2: duplicate stage name \"x\": stage 0 (line 1) has it too");
        assertError("FROM a AS x\n", "y", "Dockerfile:1: target stage \"y\" is not defined (stages: x)");
        assertError("FROM a AS x\nCOPY --from=x / /\n", null,
                "Dockerfile:2: COPY --from=x names the stage it is in: a stage can only copy from the stages before it");
        assertError("FROM a\nCOPY --from=1 / /\nFROM b\n", "0",
                "Dockerfile:2: COPY --from=1 names stage 1, which comes later: a stage can only copy from the stages before it");
        assertError("FROM a\nFROM b\n", "2", "Dockerfile:2: target stage \"2\" is not defined (no stage has a name; indexes 0-1)");
        assertError("FROM a AS x\nCOPY --from=1 / /\nFROM b\nFROM c\nCOPY --from=0 / /\n", null,
                "Dockerfile:2: COPY --from=1 names stage 1, which comes later: a stage can only copy from the stages before it");
        assertError("FROM later AS first\nFROM b AS later\n", "first",
                "Dockerfile:1: FROM later names stage 1, which comes later: a stage can only start from the stages before it");
        assertError("ARG X\nFROM ${X}\n", null, "Dockerfile:2: FROM ${X} is empty after expansion");
        assertError("FROM a\nUSER ${U:?needs a user}\n", null, "Dockerfile:2: USER: U: needs a user");
        assertError("FROM a\nEXPOSE 70000\n", null,
                "Dockerfile:2: EXPOSE \"70000\" is not a valid port or range (0-65535, low-high)");
        assertError("FROM a\nEXPOSE http\n", null,
                "Dockerfile:2: EXPOSE \"http\" is not PORT[/PROTO] or FROM-TO[/PROTO] (PROTO: tcp, udp, sctp)");
    }

    @Test
    void stageUsedAsImageWhenNoStageHasTheName() {
        BuildPlan p = plan("FROM golang AS build\nFROM other\nCOPY --from=nosuchstage /x /x\n", Map.of(), null);
        assertEquals(new BuildPlan.Base.Image("other", null), p.target().base());
        assertEquals(Set.of("nosuchstage"), p.target().images());
        assertEquals(List.of(1), p.stages().stream().map(BuildPlan.PlannedStage::index).toList());
    }

    private static void assertError(String text, String target, String message) {
        DockerfileException e = assertThrows(DockerfileException.class, () -> plan(text, Map.of(), target));
        assertEquals(message, e.getMessage());
    }
}
