package io.vessel.runtime.process;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A fully resolved list of steps for the native launcher: everything is decided here, in Java;
 * the launcher only performs the steps in order (see {@code native/vessel-launch.c} for the format).
 */
public final class Plan {
    private static final int MAGIC = 0x314c5356; // "VSL1", read as a little-endian u32 by the launcher

    /** One step: an operation and its arguments, strings or raw bytes. */
    public record Step(Op op, List<Object> args) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(op.name());
            for (Object a : args) {
                sb.append(' ').append(a instanceof byte[] b ? "<" + b.length + " bytes>" : "\"" + a + "\"");
            }
            return sb.toString();
        }
    }

    private final List<Step> steps = new ArrayList<>();

    /** Appends a step; arguments are strings, numbers (written in decimal), or byte arrays. */
    public Plan add(Op op, Object... args) {
        List<Object> list = new ArrayList<>(args.length);
        for (Object a : args) {
            // instanceof, not a type switch: see Json.writeValue on why.
            if (a instanceof byte[] || a instanceof String) {
                list.add(a);
            } else if (a instanceof Number n) {
                list.add(n.toString());
            } else if (a instanceof Boolean b) {
                list.add(b ? "1" : "0");
            } else {
                throw new IllegalArgumentException("plan argument of type " + a.getClass());
            }
        }
        steps.add(new Step(op, List.copyOf(list)));
        return this;
    }

    /** Appends a step whose arguments are {@code fixed} followed by counted lists (for EXEC, RUN_HOOK). */
    public Plan addCounted(Op op, List<Object> fixed, List<List<String>> lists) {
        List<Object> args = new ArrayList<>(fixed);
        for (List<String> l : lists) {
            args.add(l.size());
            args.addAll(l);
        }
        return add(op, args.toArray());
    }

    public List<Step> steps() {
        return List.copyOf(steps);
    }

    /** The binary form the launcher reads. */
    public byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(steps.size());
        out.writeBytes(b.array());
        for (Step s : steps) {
            b.clear();
            b.putInt(s.op().code).putInt(s.args().size());
            out.writeBytes(b.array());
            for (Object a : s.args()) {
                byte[] bytes = a instanceof byte[] raw ? raw : cString((String) a);
                ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length);
                out.writeBytes(len.array());
                out.writeBytes(bytes);
            }
        }
        return out.toByteArray();
    }

    private static byte[] cString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        for (byte c : utf8) {
            if (c == 0) {
                throw new IllegalArgumentException("NUL byte in plan argument: " + s.replace('\0', '@'));
            }
        }
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return z;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Step s : steps) {
            sb.append(s).append('\n');
        }
        return sb.toString();
    }
}
