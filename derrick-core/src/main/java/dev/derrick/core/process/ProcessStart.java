package dev.derrick.core.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * When a process started, as a value that identifies it together with its pid: the kernel's start time in clock
 * ticks since boot ({@code /proc/<pid>/stat}, field 22), or 0 where {@code /proc} does not tell.
 *
 * <p>Owner records compare this value to tell a live owner from a pid reused by another process. The JDK's
 * {@link ProcessHandle.Info#startInstant()} is boot time plus ticks, and Linux computes boot time from the wall
 * clock: when the clock is stepped (NTP, a virtual machine resumed from a snapshot) every process's "start instant"
 * moves with it, and a live owner would look like another process. The ticks never move.
 */
public final class ProcessStart {
    private ProcessStart() {
    }

    /** The start of the process {@code pid}, or 0 when it is gone or cannot be told. */
    public static long of(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            return parseTicks(stat);
        } catch (IOException | RuntimeException e) {
            return 0L;
        }
    }

    /** The start of this JVM. */
    public static long self() {
        return of(ProcessHandle.current().pid());
    }

    /**
     * Whether the process {@code pid} runs and is the one whose start was recorded as {@code recorded} (0 or
     * negative: unknown, any process with that pid counts).
     */
    public static boolean isSameProcess(long pid, long recorded) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        if (recorded <= 0) {
            return true;
        }
        long now = of(pid);
        return now == 0 || now == recorded;
    }

    /** Field 22 of a {@code /proc/<pid>/stat} line; the command name (field 2) may hold spaces and parentheses. */
    static long parseTicks(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return 0L;
        }
        String[] fields = stat.substring(close + 1).trim().split("\\s+");
        // fields[0] is field 3 (state), so field 22 is fields[19]
        return fields.length > 19 ? Long.parseLong(fields[19]) : 0L;
    }
}
