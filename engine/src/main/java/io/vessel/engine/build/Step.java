package io.vessel.engine.build;

import java.util.List;
import java.util.Map;

/**
 * One instruction of a stage as the executor performs it: expanded, with the state in effect
 * where it runs.
 *
 * @param original the instruction as parsed
 * @param expanded the instruction with variables expanded (the same object for RUN, CMD, ...)
 * @param env      the stage's ENV before this instruction (image config form, in order)
 * @param runArgs  the ARG values a RUN sees as environment besides {@code env} (declared ARGs with
 *                 a value and not shadowed by ENV, and the proxy args given with --build-arg)
 * @param cacheArgs the part of {@code runArgs} that counts in the cache key: the proxy args
 *                 count only when the stage declares them, as in Docker
 * @param shell    the SHELL in effect
 * @param user     the USER in effect, empty for the image's default (root)
 * @param workdir  the WORKDIR in effect, absolute
 */
public record Step(Instruction original, Instruction expanded, Map<String, String> env,
                   Map<String, String> runArgs, Map<String, String> cacheArgs, List<String> shell,
                   String user, String workdir) {
    public Step {
        env = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(env));
        runArgs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(runArgs));
        cacheArgs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(cacheArgs));
        shell = List.copyOf(shell);
    }

    /**
     * The environment of a RUN: the ARGs, then ENV over them, as {@code NAME=VALUE} strings.
     */
    public List<String> runEnvironment() {
        Map<String, String> all = new java.util.LinkedHashMap<>(runArgs);
        all.putAll(env);
        List<String> out = new java.util.ArrayList<>(all.size());
        all.forEach((k, v) -> out.add(k + "=" + v));
        return out;
    }
}
