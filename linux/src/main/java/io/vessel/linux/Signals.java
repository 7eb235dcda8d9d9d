package io.vessel.linux;

import java.util.List;
import java.util.Locale;

/** Signal numbers of Linux x86-64 and their names, for kill(1)-style arguments. */
public final class Signals {
    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGPIPE = 13,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGWINCH = 28;
    /** SIGRTMIN as user space sees it (glibc reserves 32 and 33). */
    public static final int SIGRTMIN = 34, SIGRTMAX = 64;

    private static final List<String> NAMES = List.of("", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");

    private Signals() {
    }

    /**
     * Parses "9", "KILL", "SIGKILL", "sigkill", "RTMIN+3"; throws IllegalArgumentException naming
     * the text for anything else.
     */
    public static int parse(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
            int n = Integer.parseInt(s);
            if (n >= 1 && n <= SIGRTMAX) {
                return n;
            }
            throw new IllegalArgumentException("signal number out of range: " + text);
        }
        if (s.startsWith("SIG")) {
            s = s.substring(3);
        }
        if (s.equals("IOT")) {
            return 6;
        }
        if (s.equals("POLL")) {
            return 29;
        }
        int i = NAMES.indexOf(s);
        if (i > 0) {
            return i;
        }
        try {
            if (s.startsWith("RTMIN")) {
                int n = SIGRTMIN + (s.length() > 5 ? Integer.parseInt(s.substring(5)) : 0);
                if (n <= SIGRTMAX) {
                    return n;
                }
            } else if (s.startsWith("RTMAX")) {
                int n = SIGRTMAX + (s.length() > 5 ? Integer.parseInt(s.substring(5)) : 0);
                if (n >= SIGRTMIN) {
                    return n;
                }
            }
        } catch (NumberFormatException ignored) {
            // fall through to the error
        }
        throw new IllegalArgumentException("unknown signal: " + text);
    }

    public static String name(int signal) {
        if (signal > 0 && signal < NAMES.size()) {
            return "SIG" + NAMES.get(signal);
        }
        return signal >= SIGRTMIN && signal <= SIGRTMAX ? "SIGRTMIN+" + (signal - SIGRTMIN) : "signal " + signal;
    }
}
