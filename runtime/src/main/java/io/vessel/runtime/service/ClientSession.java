package io.vessel.runtime.service;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.LocalService;
import io.vessel.linux.Sockets;
import io.vessel.runtime.cli.Main;
import io.vessel.runtime.container.Caller;
import io.vessel.runtime.process.Launcher;
import io.vessel.runtime.process.Plan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.function.IntConsumer;

/**
 * One client connection: one command run for one caller, with that caller's descriptors, cwd and
 * environment. The caller starts launchers on the service's behalf (so the container's processes
 * descend from the caller, as with runc), reports how they end, and relays the signals it gets.
 *
 * <p>Messages, one SOCK_SEQPACKET message each, ASCII words separated by spaces. Service to
 * client: {@code ok} (request accepted), {@code refused REASON}, {@code launch PRESERVED PATH},
 * {@code kill PID}, {@code unhandled SIGNAL} (nothing in the command waits for signals: take it
 * yourself), {@code exit STATUS} (the last). Client to service, after the request:
 * {@code launched PID} (with the launcher's sync socket attached), {@code launch-failed REASON},
 * {@code exited PID STATUS} (shell convention), {@code signal NUMBER}.
 */
final class ClientSession {
    /** The largest request accepted: argv and environment together (SOCK_SEQPACKET keeps it whole). */
    static final int MAX_REQUEST = 1 << 20;
    /** Replies of the client are a few words; a launched message carries one descriptor. */
    private static final int MAX_MESSAGE = 4096;

    private final Fd conn;
    private final Object sendLock = new Object();
    private final BlockingQueue<Sockets.Message> launchReplies = new ArrayBlockingQueue<>(1);
    private final Map<Integer, CompletableFuture<Integer>> launchers = new ConcurrentHashMap<>();
    private final List<IntConsumer> signalTargets = new CopyOnWriteArrayList<>();
    private volatile boolean live = true;
    private volatile boolean clientGone;

    ClientSession(Fd conn) {
        this.conn = conn;
    }

    /** Serves the connection to its end; never throws (one client's trouble is not the service's). */
    void serve(int ownUid) {
        Fd[] fds = new Fd[0];
        try {
            LocalService.PeerCredentials peer = LocalService.peerCredentials(conn);
            if (peer.uid() != ownUid) {
                send("refused this runtime service serves uid " + ownUid + " only, not uid " + peer.uid());
                return;
            }
            Sockets.Message m = Sockets.receive(conn, MAX_REQUEST);
            fds = m.fds();
            if (m.isEof()) {
                return;
            }
            if (m.data().length >= MAX_REQUEST) {
                send("refused the request is larger than " + MAX_REQUEST + " bytes");
                return;
            }
            Request r;
            try {
                r = Request.parse(m.data());
                if (r.fdCount() != fds.length) {
                    throw new IllegalArgumentException("request: says " + r.fdCount() + " descriptors but "
                            + fds.length + " came with it");
                }
            } catch (IllegalArgumentException e) {
                send("refused " + e.getMessage());
                return;
            }
            send("ok");
            Thread.ofPlatform().daemon().name("client-reader").stackSize(256 * 1024).start(this::readClient);
            Fd[] held = fds;
            Caller caller = Caller.of(r.cwd(), r.env(), held[0].num(), held[1].num(), held[2].num(),
                    (plan, stdio) -> startLauncher(plan, stdio, held), this::forwardSignals, () -> live);
            int status;
            try {
                status = new Main(caller).run(r.argv());
            } catch (RuntimeException | Error e) {
                caller.err().println("vessel-runtime: internal error in the runtime service: " + e);
                status = 1;
            }
            caller.out().flush();
            caller.err().flush();
            live = false;
            // The caller's descriptors close before it learns the status: once it exits, nothing of
            // ours holds its pipes open (a reader waiting for their end must not wait for us).
            closeAll(fds);
            fds = new Fd[0];
            send("exit " + status);
        } catch (ErrnoException e) {
            // the client went away before or while we answered: nothing to tell anyone
        } finally {
            live = false;
            for (Fd f : fds) {
                f.close();
            }
            conn.close();
            launchers.values().forEach(f -> f.completeExceptionally(new IOException("the request has ended")));
        }
    }

    private void send(String text, int... fds) throws ErrnoException {
        synchronized (sendLock) {
            Sockets.send(conn, text.getBytes(StandardCharsets.UTF_8), fds);
        }
    }

    /** Reads the client's messages until it closes the connection. */
    private void readClient() {
        try {
            while (true) {
                Sockets.Message m = Sockets.receive(conn, MAX_MESSAGE);
                if (m.isEof()) {
                    break;
                }
                String[] w = m.text().split(" ", 3);
                switch (w[0]) {
                    case "launched", "launch-failed" -> {
                        if (!launchReplies.offer(m)) {
                            closeAll(m.fds());
                        }
                    }
                    case "exited" -> launchers.computeIfAbsent(Integer.parseInt(w[1]), p -> new CompletableFuture<>())
                            .complete(Integer.parseInt(w[2]));
                    case "signal" -> {
                        int sig = Integer.parseInt(w[1]);
                        if (signalTargets.isEmpty()) {
                            send("unhandled " + sig);
                        } else {
                            signalTargets.forEach(t -> t.accept(sig));
                        }
                    }
                    default -> closeAll(m.fds()); // a newer client's message: not ours to act on
                }
            }
        } catch (ErrnoException | RuntimeException e) {
            // a broken connection ends the conversation like a closed one
        } finally {
            clientGone = true;
            launchReplies.offer(new Sockets.Message(new byte[0], new Fd[0]));
            launchers.values().forEach(f -> f.completeExceptionally(new IOException("the caller went away")));
        }
    }

    private static void closeAll(Fd[] fds) {
        for (Fd f : fds) {
            f.close();
        }
    }

    private Runnable forwardSignals(IntConsumer target) {
        signalTargets.add(target);
        return () -> signalTargets.remove(target);
    }

    /**
     * Has the client start a launcher as its child, with its own stdin, stdout and stderr and its
     * descriptors 3.. as the preserved ones; the launcher's sync socket comes back to us.
     */
    private Launcher.Session startLauncher(Plan plan, Launcher.Stdio stdio, Fd[] held) throws IOException {
        if (stdio.stdin() != held[0].num() || stdio.stdout() != held[1].num() || stdio.stderr() != held[2].num()) {
            throw new IOException("the runtime service starts launchers only with its caller's own stdio");
        }
        int passed = held.length - Request.STDIO_FDS;
        if (stdio.preserved() > passed) {
            throw new IOException("--preserve-fds " + stdio.preserved() + " but the caller passed " + passed
                    + " descriptors beyond stdio");
        }
        if (clientGone) {
            throw new IOException("the caller went away");
        }
        launchReplies.clear();
        send("launch " + stdio.preserved() + " " + Launcher.binary());
        Sockets.Message reply;
        try {
            reply = launchReplies.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the caller started the launcher");
        }
        String[] w = reply.text().split(" ", 2);
        if (w[0].equals("launch-failed")) {
            closeAll(reply.fds());
            throw new IOException("the caller could not start the launcher " + Launcher.binary() + ": "
                    + (w.length > 1 ? w[1] : "no reason given"));
        }
        if (!w[0].equals("launched") || reply.fds().length != 1 || w.length < 2) {
            closeAll(reply.fds());
            throw new IOException(clientGone ? "the caller went away" : "the caller answered the launch with \""
                    + reply.text() + "\"");
        }
        int pid = Integer.parseInt(w[1].trim());
        CompletableFuture<Integer> exit = launchers.computeIfAbsent(pid, p -> new CompletableFuture<>());
        return Launcher.over(plan, reply.fds()[0], new ClientChild(pid, exit));
    }

    /** A launcher that is the client's child: the client reports its end and kills it when asked. */
    private final class ClientChild implements Launcher.Parent {
        private final int pid;
        private final CompletableFuture<Integer> exit;

        ClientChild(int pid, CompletableFuture<Integer> exit) {
            this.pid = pid;
            this.exit = exit;
        }

        @Override
        public int waitFor() throws IOException {
            try {
                return exit.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the launcher " + pid);
            } catch (ExecutionException e) {
                throw new IOException("launcher " + pid + ": " + e.getCause().getMessage());
            }
        }

        @Override
        public Integer exitedCode() {
            return exit.isDone() && !exit.isCompletedExceptionally() ? exit.join() : null;
        }

        @Override
        public void kill() {
            try {
                send("kill " + pid);
            } catch (ErrnoException ignored) {
                // the client is gone, and its launcher with it or orphaned beyond our reach
            }
        }
    }
}
