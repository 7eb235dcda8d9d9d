package io.vessel.runtime.seccomp;

import java.util.List;

/**
 * One compiled rule for one system call: the filter return value when all {@code conditions} hold.
 *
 * @param returnValue the SECCOMP_RET_* value
 * @param conditions  argument comparisons, all of which must hold; empty matches unconditionally
 */
record Rule(int returnValue, List<Condition> conditions) {
    Rule {
        conditions = List.copyOf(conditions);
    }

    boolean unconditional() {
        return conditions.isEmpty();
    }

    /** A comparison of 64-bit argument {@code index} against {@code value} (values are unsigned). */
    record Condition(int index, Op op, long value, long valueTwo) {
    }

    /** The OCI comparison operators ({@code SCMP_CMP_*}); MASKED_EQ is {@code (arg & value) == valueTwo}. */
    enum Op {
        NE, LT, LE, EQ, GE, GT, MASKED_EQ;

        private static final String PREFIX = "SCMP_CMP_";

        /** The operator named {@code ociName} ("SCMP_CMP_EQ"), or null. */
        static Op byOciName(String ociName) {
            if (ociName == null || !ociName.startsWith(PREFIX)) {
                return null;
            }
            for (Op op : values()) {
                if (op.name().equals(ociName.substring(PREFIX.length()))) {
                    return op;
                }
            }
            return null;
        }
    }
}
