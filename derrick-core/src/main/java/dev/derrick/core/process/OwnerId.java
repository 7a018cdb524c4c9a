package dev.derrick.core.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Who owns something a later process may have to clean up (a workspace, a container, a cache lease, a half-built
 * cache entry): the owning process's pid, its start ({@link ProcessStart} ticks since boot), the machine's boot id
 * and the host name. The one owner scheme of every reaper, lease and lock in derrick.
 *
 * <p>{@link #isAlive()} is judged from this process and errs towards "alive": an owner is dead only when this process
 * can tell for certain — same host and the machine rebooted since ({@code boot} differs), or no process with that pid
 * runs, or the process with that pid started at another time (a reused pid). An owner on another host is never judged
 * dead (its pid means nothing here), nor is an owner whose record cannot be read.
 *
 * <p>{@link #text()} is the stable text form, written to owner files and labels and read back by {@link #parse}:
 * {@code pid=4242,start=987654,boot=<boot id>,host=<host name>}, one token without spaces. {@link #parse} also reads
 * the forms older derrick versions wrote: a bare pid ({@code "4242"}, cache leases and local cache instances) and
 * {@code "<pid> <ticks> ticks"} or {@code "<pid> <millis>"} (local owner records); what they do not carry is unknown
 * and judged as above (a bare pid counts as alive while any process has that pid, as it did).
 *
 * @param pid        the owning process
 * @param startTicks its start in clock ticks since boot, or 0 when unknown
 * @param bootId     {@code /proc/sys/kernel/random/boot_id} of its machine, or {@code ""} when unknown
 * @param host       its host name, or {@code ""} when unknown
 */
public record OwnerId(long pid, long startTicks, String bootId, String host) {
    private static volatile OwnerId current;

    public OwnerId {
        bootId = clean(bootId);
        host = clean(host);
    }

    /** An owner known only by its pid (records of older derrick versions). */
    public static OwnerId ofPid(long pid) {
        return new OwnerId(pid, 0L, "", "");
    }

    /** This process. */
    public static OwnerId current() {
        OwnerId c = current;
        if (c == null) {
            long pid = ProcessHandle.current().pid();
            c = new OwnerId(pid, ProcessStart.of(pid), readBootId(), hostName());
            current = c;
        }
        return c;
    }

    /** Whether this is the current process (the same pid and, where known on both sides, the same start, boot and host). */
    public boolean isCurrent() {
        OwnerId me = current();
        return pid == me.pid && sameOrUnknown(startTicks, me.startTicks) && sameOrUnknown(bootId, me.bootId)
                && sameOrUnknown(host, me.host);
    }

    /**
     * Whether the owner may still run, as far as this process can tell; {@code false} only when it is certainly gone
     * (see the class description).
     */
    public boolean isAlive() {
        return isAliveAsSeenBy(current());
    }

    /**
     * {@link #isAlive()} as judged by {@code me}, a process of this machine (normally {@link #current()}): its host,
     * boot and pid stand for "here".
     */
    public boolean isAliveAsSeenBy(OwnerId me) {
        if (!host.isEmpty() && !me.host.isEmpty() && !host.equals(me.host)) {
            return true; // another machine (or container): its pids are not ours to look at
        }
        if (!bootId.isEmpty() && !me.bootId.isEmpty() && !bootId.equals(me.bootId)) {
            return false; // this machine rebooted since: every process of then is gone
        }
        if (pid == me.pid) {
            return sameOrUnknown(startTicks, me.startTicks);
        }
        return ProcessStart.isSameProcess(pid, startTicks);
    }

    /** The stable text form, {@code pid=…,start=…,boot=…,host=…}, that {@link #parse} reads. */
    public String text() {
        return "pid=" + pid + ",start=" + startTicks + ",boot=" + bootId + ",host=" + host;
    }

    @Override
    public String toString() {
        return text();
    }

    /**
     * Reads {@link #text()}, or a record of an older derrick version (a bare pid, {@code "<pid> <ticks> ticks"},
     * {@code "<pid> <millis>"}).
     *
     * @return empty when {@code text} is none of these
     */
    public static Optional<OwnerId> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = text.strip();
        try {
            if (s.startsWith("pid=")) {
                long pid = -1;
                long ticks = 0;
                String boot = "";
                String host = "";
                for (String field : s.split(",")) {
                    int eq = field.indexOf('=');
                    if (eq < 0) {
                        continue;
                    }
                    String value = field.substring(eq + 1);
                    switch (field.substring(0, eq)) {
                        case "pid" -> pid = Long.parseLong(value);
                        case "start" -> ticks = Long.parseLong(value);
                        case "boot" -> boot = value;
                        case "host" -> host = value;
                        default -> { } // a field of a later version
                    }
                }
                return pid > 0 ? Optional.of(new OwnerId(pid, Math.max(0, ticks), boot, host)) : Optional.empty();
            }
            String[] parts = s.split(" ");
            long pid = Long.parseLong(parts[0]);
            if (pid <= 0) {
                return Optional.empty();
            }
            // "<pid> <ticks> ticks" (local owner records); "<pid> <wall-clock millis>" (older ones) tells only the pid
            long ticks = parts.length > 2 && "ticks".equals(parts[2]) ? Long.parseLong(parts[1]) : 0L;
            return Optional.of(new OwnerId(pid, ticks, "", ""));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether the owner recorded as {@code text} may still run; an unreadable record counts as alive (it is left
     * alone), except that {@code null} or blank text is no owner at all.
     */
    public static boolean isAlive(String text) {
        if (text == null || text.isBlank()) {
            return false;
        }
        return parse(text).map(OwnerId::isAlive).orElse(true);
    }

    private static boolean sameOrUnknown(long a, long b) {
        return a <= 0 || b <= 0 || a == b;
    }

    private static boolean sameOrUnknown(String a, String b) {
        return a.isEmpty() || b.isEmpty() || a.equals(b);
    }

    /** No separators of the text form in a field: what does not fit is unknown. */
    private static String clean(String value) {
        String v = Objects.requireNonNullElse(value, "").strip();
        return v.matches("[A-Za-z0-9._:-]*") ? v : "";
    }

    static String hostName() {
        for (String file : new String[] {"/proc/sys/kernel/hostname", "/etc/hostname"}) {
            String s = read(file);
            if (!s.isEmpty()) {
                return s;
            }
        }
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String readBootId() {
        return read("/proc/sys/kernel/random/boot_id");
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file), StandardCharsets.UTF_8).trim();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
