package dev.derrick.core.exec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds and signals the processes of a session through {@code /proc} (Linux). A command started with {@code setsid}
 * leads its own session, and every process it forks stays in it even after being re-parented to init, which
 * {@link ProcessHandle#descendants()} cannot follow.
 */
final class ProcessTree {
    private static final Path PROC = Path.of("/proc");

    private ProcessTree() {
    }

    /** Whether {@code /proc} with per-process {@code stat} files is there. */
    static boolean procAvailable() {
        return Files.isReadable(PROC.resolve("self/stat"));
    }

    /** pid → session id of every process, read from {@code /proc/<pid>/stat}. */
    static Map<Long, Long> sessions() {
        Map<Long, Long> result = new HashMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, ProcessTree::isPidDir)) {
            for (Path dir : dirs) {
                long pid = Long.parseLong(dir.getFileName().toString());
                session(pid).ifPresent(sid -> result.put(pid, sid));
            }
        } catch (IOException e) {
            // /proc vanished or unreadable: nothing found
        }
        return result;
    }

    /** The session id of a process, if it (still) exists. */
    static Optional<Long> session(long pid) {
        try {
            String stat = new String(Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("stat")),
                    StandardCharsets.ISO_8859_1);
            // pid (comm) state ppid pgrp session ... ; comm may hold spaces and parentheses
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (fields[0].equals("Z") || fields[0].equals("X")) {
                return Optional.empty();
            }
            return Optional.of(Long.parseLong(fields[3]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** pids (not zombies) that belong to any of the sessions, current process excluded. */
    static List<Long> members(Collection<Long> sessionIds) {
        List<Long> found = new ArrayList<>();
        if (sessionIds.isEmpty()) {
            return found;
        }
        long self = ProcessHandle.current().pid();
        sessions().forEach((pid, sid) -> {
            if (pid != self && sessionIds.contains(sid)) {
                found.add(pid);
            }
        });
        return found;
    }

    /** Sends SIGTERM ({@code force = false}) or SIGKILL to each pid that still exists. */
    static void signal(Collection<Long> pids, boolean force) {
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> {
                try {
                    if (force) {
                        h.destroyForcibly();
                    } else {
                        h.destroy();
                    }
                } catch (RuntimeException e) {
                    // gone meanwhile, or not ours to signal
                }
            });
        }
    }

    private static boolean isPidDir(Path p) {
        String name = p.getFileName().toString();
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
