package io.vessel.runtime.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A classic BPF assembler with forward labels that lays out long conditional jumps itself.
 *
 * <p>A conditional jump's {@code jt}/{@code jf} are 8-bit, so a target more than 255 instructions
 * ahead is reached through a trampoline placed right after the jump: a {@code JA} (32-bit offset), or
 * a copy of the target when that is a {@code RET}. Layout is iterated until no jump needs widening
 * (widening only ever grows the program, so this terminates).
 */
final class Assembler {
    /** A position in the program, bound once with {@link #bind}; only forward jumps are possible. */
    static final class Label {
        private int at = -1;
    }

    /** One emitted item; a conditional jump may occupy 1 to 3 slots once trampolines are added. */
    private static final class Node {
        final int code;
        final int k;
        final Label ifTrue;   // conditional jumps: null = the instruction after this jump
        final Label ifFalse;
        final Label target;   // JA
        final Label bound;    // a label bound here (occupies no slot)
        boolean farTrue;
        boolean farFalse;
        int at;

        Node(int code, int k, Label ifTrue, Label ifFalse, Label target, Label bound) {
            this.code = code;
            this.k = k;
            this.ifTrue = ifTrue;
            this.ifFalse = ifFalse;
            this.target = target;
            this.bound = bound;
        }

        boolean conditional() {
            return bound == null && target == null && (code & 0x07) == Bpf.JMP;
        }

        int slots() {
            return bound != null ? 0 : 1 + (farTrue ? 1 : 0) + (farFalse ? 1 : 0);
        }
    }

    private final List<Node> nodes = new ArrayList<>();

    Label label() {
        return new Label();
    }

    void bind(Label label) {
        nodes.add(new Node(0, 0, null, null, null, label));
    }

    /** A = seccomp_data word at {@code offset}. */
    void load(int offset) {
        nodes.add(new Node(Bpf.LD | Bpf.W | Bpf.ABS, offset, null, null, null, null));
    }

    /** A &= k. */
    void and(int k) {
        nodes.add(new Node(Bpf.ALU | Bpf.AND | Bpf.K, k, null, null, null, null));
    }

    void ret(int k) {
        nodes.add(new Node(Bpf.RET | Bpf.K, k, null, null, null, null));
    }

    /** Jumps to {@code ifTrue} when {@code A op k} holds, else to {@code ifFalse}; null means "next". */
    void jump(int op, int k, Label ifTrue, Label ifFalse) {
        nodes.add(new Node(Bpf.JMP | op | Bpf.K, k, ifTrue, ifFalse, null, null));
    }

    void jumpAlways(Label target) {
        nodes.add(new Node(Bpf.JMP | Bpf.JA, 0, null, null, target, null));
    }

    /** Lays the program out and encodes it as the kernel's struct sock_filter array (little-endian). */
    byte[] assemble() {
        int length;
        boolean widened;
        do {
            length = place();
            widened = false;
            for (Node n : nodes) {
                if (!n.conditional()) {
                    continue;
                }
                if (!n.farTrue && n.ifTrue != null && distance(n, n.ifTrue) > Bpf.MAX_COND_JUMP) {
                    n.farTrue = true;
                    widened = true;
                }
                if (!n.farFalse && n.ifFalse != null && distance(n, n.ifFalse) > Bpf.MAX_COND_JUMP) {
                    n.farFalse = true;
                    widened = true;
                }
            }
        } while (widened);

        Node[] bySlot = new Node[length];
        for (Node n : nodes) {
            if (n.bound == null) {
                bySlot[n.at] = n;
            }
        }
        ByteBuffer out = ByteBuffer.allocate(length * Bpf.INSN_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (Node n : nodes) {
            if (n.bound != null) {
                continue;
            }
            if (n.target != null) {
                put(out, n.code, 0, 0, distance(n, n.target));
            } else if (n.conditional()) {
                int next = n.at + n.slots();   // where "null" (fall through) leads
                int jt = n.farTrue ? 0 : offset(n, n.ifTrue, next);
                int jf = n.farFalse ? (n.farTrue ? 1 : 0) : offset(n, n.ifFalse, next);
                put(out, n.code, jt, jf, n.k);
                if (n.farTrue) {
                    trampoline(out, bySlot, n.at + 1, n.ifTrue);
                }
                if (n.farFalse) {
                    trampoline(out, bySlot, n.at + (n.farTrue ? 2 : 1), n.ifFalse);
                }
            } else {
                put(out, n.code, 0, 0, n.k);
            }
        }
        return out.array();
    }

    /** Assigns slots to nodes and labels; returns the program length. */
    private int place() {
        int at = 0;
        for (Node n : nodes) {
            n.at = at;
            if (n.bound != null) {
                n.bound.at = at;
            }
            at += n.slots();
        }
        return at;
    }

    /** Instructions skipped when jumping from {@code from} to {@code to} (the kernel's pc+1+offset). */
    private static int distance(Node from, Label to) {
        if (to.at < 0) {
            throw new IllegalStateException("jump to an unbound label");
        }
        int d = to.at - (from.at + 1);
        if (d < 0) {
            throw new IllegalStateException("backward jump: classic BPF only jumps forward");
        }
        return d;
    }

    private static int offset(Node from, Label to, int next) {
        return to == null ? next - (from.at + 1) : distance(from, to);
    }

    private static void trampoline(ByteBuffer out, Node[] bySlot, int slot, Label to) {
        Node dest = to.at < bySlot.length ? bySlot[to.at] : null;
        if (dest != null && dest.code == (Bpf.RET | Bpf.K)) {
            put(out, dest.code, 0, 0, dest.k);
        } else {
            put(out, Bpf.JMP | Bpf.JA, 0, 0, to.at - (slot + 1));
        }
    }

    private static void put(ByteBuffer out, int code, int jt, int jf, int k) {
        out.putShort((short) code).put((byte) jt).put((byte) jf).putInt(k);
    }
}
