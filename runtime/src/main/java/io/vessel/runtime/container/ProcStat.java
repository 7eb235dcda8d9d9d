package io.vessel.runtime.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads /proc/PID/stat: the state letter and the start time that, with the pid, name a process. */
public record ProcStat(char state, long startTime) {
    /** The process's stat, or null if there is no such process. */
    public static ProcStat read(int pid) {
        if (pid <= 0) {
            return null;
        }
        String s;
        try {
            s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        } catch (IOException e) {
            return null;
        }
        // The command name (field 2) is in parentheses and may contain anything; fields follow the last ')'.
        int close = s.lastIndexOf(')');
        if (close < 0) {
            return null;
        }
        String[] f = s.substring(close + 2).trim().split(" ");
        // f[0] is field 3 (state); starttime is field 22, so f[19].
        return new ProcStat(f[0].charAt(0), Long.parseLong(f[19]));
    }

    /** Alive: neither a zombie nor dead. */
    public boolean alive() {
        return state != 'Z' && state != 'X' && state != 'x';
    }
}
