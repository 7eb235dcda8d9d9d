package io.vessel.runtime.process;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Processes;
import io.vessel.linux.Sockets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts the native launcher ({@code vessel-launch}) with a plan and talks to it over the sync socket.
 *
 * <p>The launcher's descriptors are laid out by a {@link FdTable}: 0–2 are the container's stdio,
 * then the caller's preserved descriptors, then the ones the plan names (plan stream, sync socket,
 * exec FIFO directory, console socket). Everything else is closed by posix_spawn.
 */
public final class Launcher {
    /** Messages are short lines; a terminal or listener descriptor may ride along. */
    private static final int MAX_MESSAGE = 8192;

    private Launcher() {
    }

    /** Where vessel-launch is: -Dvessel.launcher, $VESSEL_LAUNCHER, or native/ next to the build. */
    public static Path binary() {
        String p = System.getProperty("vessel.launcher");
        if (p == null) {
            p = System.getenv("VESSEL_LAUNCHER");
        }
        if (p != null) {
            return Path.of(p);
        }
        for (Path candidate : List.of(Path.of("/usr/local/lib/vessel/vessel-launch"), Path.of("native/vessel-launch"))) {
            if (java.nio.file.Files.isExecutable(candidate)) {
                return candidate.toAbsolutePath();
            }
        }
        throw new IllegalStateException("vessel-launch not found: build it with 'make' or set VESSEL_LAUNCHER");
    }

    /** The launcher's descriptor numbers, decided before the plan is written. */
    public static final class FdTable {
        private final List<Integer> parentFds = new ArrayList<>();
        private final int preserved;

        /** stdio are the parent's 0–2 unless replaced; {@code preserved} descriptors 3.. are passed through. */
        public FdTable(int stdin, int stdout, int stderr, int preserved) {
            parentFds.add(stdin);
            parentFds.add(stdout);
            parentFds.add(stderr);
            for (int i = 0; i < preserved; i++) {
                parentFds.add(3 + i);
            }
            this.preserved = preserved;
        }

        /** Reserves the next slot for parent descriptor {@code fd}; returns its number in the launcher. */
        public int add(int fd) {
            parentFds.add(fd);
            return parentFds.size() - 1;
        }

        public int preserved() {
            return preserved;
        }

        int[] toArray() {
            return parentFds.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** A running launcher: its pid and the runtime's end of the sync socket. */
    public record Session(int launcherPid, Fd sync) implements AutoCloseable {
        /** The next message; an EOF message when every launcher process has closed the socket. */
        public Sockets.Message next() throws ErrnoException {
            return Sockets.receive(sync, MAX_MESSAGE);
        }

        public void reply(String text) throws ErrnoException {
            Sockets.send(sync, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        @Override
        public void close() {
            sync.close();
        }
    }

    /** The sockets a plan needs before it is built: plan stream and sync socket, with their slots. */
    public static final class Channels implements AutoCloseable {
        final Fd[] plan;
        final Fd[] sync;
        public final int planSlot;
        public final int syncSlot;

        public Channels(FdTable table) throws ErrnoException {
            plan = Sockets.socketpair(Sockets.SOCK_STREAM);
            try {
                sync = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
            } catch (ErrnoException e) {
                plan[0].close();
                plan[1].close();
                throw e;
            }
            planSlot = table.add(plan[1].num());
            syncSlot = table.add(sync[1].num());
        }

        @Override
        public void close() {
            for (Fd f : plan) {
                f.close();
            }
            for (Fd f : sync) {
                f.close();
            }
        }
    }

    /** Spawns the launcher, sends it the plan, and returns the session; closes the launcher's ends. */
    public static Session launch(Plan plan, FdTable table, Channels ch) throws IOException {
        int pid = Processes.spawn(binary().toString(), List.of("vessel-launch", Integer.toString(ch.planSlot)),
                List.of(), table.toArray());
        ch.plan[1].close();
        ch.sync[1].close();
        try {
            Files.write(ch.plan[0].num(), plan.encode());
        } catch (ErrnoException e) {
            // The launcher died early; its error message is on the sync socket.
        } finally {
            ch.plan[0].close();
        }
        Fd sync = Fd.adopt(ch.sync[0].release());
        return new Session(pid, sync);
    }
}
