package io.vessel.engine.build;

import java.util.List;
import java.util.Locale;

/**
 * A parsed Dockerfile: the ARGs before the first FROM (usable only in FROM lines) and the build
 * stages, each a FROM and the instructions up to the next FROM. Words are kept unexpanded; see
 * {@link BuildPlan} and {@link StageState} for what they become in a build.
 *
 * @param fileName   the name used in error messages ({@code Dockerfile})
 * @param escape     the escape character, {@code \} unless {@code # escape=`}
 * @param globalArgs the ARG instructions before the first FROM
 * @param stages     the stages in order; index {@code i} is stage {@code i}
 */
public record Dockerfile(String fileName, char escape, List<Instruction.Arg> globalArgs, List<Stage> stages) {
    public Dockerfile {
        globalArgs = List.copyOf(globalArgs);
        stages = List.copyOf(stages);
    }

    /**
     * One build stage.
     *
     * @param index        the stage's position, what {@code COPY --from=0} names
     * @param from         its FROM line
     * @param instructions the instructions after FROM, in order
     */
    public record Stage(int index, Instruction.From from, List<Instruction> instructions) {
        public Stage {
            instructions = List.copyOf(instructions);
        }

        /** The stage's {@code AS} name in lower case (Docker compares them case-insensitively), or null. */
        public String name() {
            return from.name() == null ? null : from.name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Parses a Dockerfile.
     *
     * @param text     its content
     * @param fileName the name errors mention
     * @throws DockerfileException naming the line of the first thing wrong
     */
    public static Dockerfile parse(String text, String fileName) {
        return new DockerfileParser(text, fileName).parse();
    }

    /**
     * Parses one instruction on its own, e.g. an ONBUILD trigger read from a base image's config,
     * which Docker runs as if it followed the FROM line.
     */
    public static Instruction parseInstruction(String text, char escape, String fileName, int line) {
        return DockerfileParser.single(text, escape, fileName, line);
    }
}
