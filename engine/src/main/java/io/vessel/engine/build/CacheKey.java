package io.vessel.engine.build;

import io.vessel.image.Digest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The build cache's key of one step: sha256 over what decides the step's result. Two builds
 * that reach a step with equal keys may reuse its layer and config.
 *
 * <p>The input is line-oriented text: the parent (the base image's ID for a stage's first step,
 * else the previous step's key, so that a change anywhere changes every later key), the
 * instruction's {@linkplain Instruction#normalized() normalized} expanded form, and what the
 * instruction reads besides: for COPY and ADD the content digest of the sources
 * ({@link BuildContext#digest}, or the source stage's result) and the WORKDIR a relative
 * destination lands in; for RUN the ENV and ARG values it sees, the SHELL, USER and WORKDIR.
 * Other instructions change only the config, which the parent chain already carries.
 *
 * @param digest the key
 */
public record CacheKey(Digest digest) {
    /** The parent of a stage's first step when it starts from scratch. */
    public static final String SCRATCH = "scratch";

    /**
     * The key of {@code step}.
     *
     * @param parent  the base image's ID (or {@link #SCRATCH}) for the first step, else the
     *                previous step's key as text
     * @param step    the step, from {@link StageState#step}
     * @param content for COPY and ADD, the digest of what they read; null otherwise
     * @throws IllegalArgumentException when a COPY or ADD has no content digest
     */
    public static CacheKey of(String parent, Step step, Digest content) {
        StringBuilder in = new StringBuilder();
        in.append("parent ").append(parent).append('\n');
        in.append("instruction ").append(step.expanded().normalized()).append('\n');
        Instruction ins = step.expanded();
        if (ins instanceof Instruction.Copy || ins instanceof Instruction.Add) {
            if (content == null) {
                throw new IllegalArgumentException(ins.keyword() + " at line " + ins.line()
                        + " needs the digest of its sources for its cache key");
            }
            in.append("content ").append(content).append('\n');
            in.append("workdir ").append(step.workdir()).append('\n');
        } else if (ins instanceof Instruction.Run) {
            map(in, "env", step.env());
            map(in, "arg", step.cacheArgs());
            in.append("shell ").append(io.vessel.json.Json.write(step.shell())).append('\n');
            in.append("user ").append(step.user()).append('\n');
            in.append("workdir ").append(step.workdir()).append('\n');
        }
        return new CacheKey(Digest.of(in.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static void map(StringBuilder in, String what, Map<String, String> values) {
        for (Map.Entry<String, String> e : new TreeMap<>(values).entrySet()) {
            in.append(what).append(' ').append(io.vessel.json.Json.write(e.getKey())).append('=')
                    .append(io.vessel.json.Json.write(e.getValue())).append('\n');
        }
    }

    @Override
    public String toString() {
        return digest.toString();
    }
}
