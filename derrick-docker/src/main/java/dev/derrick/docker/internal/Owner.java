package dev.derrick.docker.internal;

import dev.derrick.core.process.OwnerId;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Who owns a container: this JVM's pid, start time (wall clock, and clock ticks since boot where /proc tells), host
 * name and boot id, written as labels at creation so a
 * later provider can tell whether the owner is still alive (Testcontainers' Ryuk idea, without a sidecar).
 *
 * <p>The labels of derrick's one owner scheme, {@link OwnerId}: the judgement is {@link OwnerId#isAlive()}'s; only
 * labels of an older derrick that carry no start in ticks fall back to the wall-clock start. Labels are fixed at
 * creation: nothing running in the container can change them.
 */
public record Owner(long pid, long startMillis, long startTicks, String host, String bootId) {
    public static final String LABEL_PID = "derrick.owner.pid";
    public static final String LABEL_START = "derrick.owner.start";
    public static final String LABEL_HOST = "derrick.owner.host";
    public static final String LABEL_BOOT = "derrick.owner.boot";
    /** Start in clock ticks since boot, which a stepped wall clock does not move ({@code ProcessStart}). */
    public static final String LABEL_TICKS = "derrick.owner.start-ticks";

    /** An owner whose start in ticks is unknown (labels of an older derrick). */
    public Owner(long pid, long startMillis, String host, String bootId) {
        this(pid, startMillis, 0L, host, bootId);
    }

    /** This process. */
    public static Owner current() {
        ProcessHandle self = ProcessHandle.current();
        OwnerId id = OwnerId.current();
        return new Owner(id.pid(), startMillis(self), id.startTicks(), id.host(), id.bootId());
    }

    /** The owner as derrick's one owner value. */
    public OwnerId id() {
        return new OwnerId(pid, startTicks, bootId, host);
    }

    public Map<String, String> labels() {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(LABEL_PID, Long.toString(pid));
        labels.put(LABEL_START, Long.toString(startMillis));
        labels.put(LABEL_HOST, host);
        labels.put(LABEL_BOOT, bootId);
        if (startTicks > 0) {
            labels.put(LABEL_TICKS, Long.toString(startTicks));
        }
        return labels;
    }

    /**
     * Whether the owner written in {@code labels} is certainly gone, judged from this process: same host and the
     * machine rebooted since, or no process with that pid, or a process with that pid that started at another time.
     * Containers of another host, or without owner labels, are never judged dead.
     */
    public boolean isDeadOwner(Map<String, String> labels) {
        String theirHost = labels.get(LABEL_HOST);
        String theirPid = labels.get(LABEL_PID);
        if (theirHost == null || theirPid == null || !theirHost.equals(host)) {
            return false;
        }
        long otherPid;
        try {
            otherPid = Long.parseLong(theirPid);
        } catch (NumberFormatException e) {
            return false;
        }
        String theirBoot = labels.get(LABEL_BOOT);
        long theirTicks = parse(labels.get(LABEL_TICKS));
        OwnerId theirs = new OwnerId(otherPid, theirTicks, theirBoot == null ? "" : theirBoot, theirHost);
        OwnerId judge = id();
        if (theirTicks > 0 || !theirs.bootId().isEmpty() && !judge.bootId().isEmpty() && !theirs.bootId().equals(judge.bootId())) {
            return !theirs.isAliveAsSeenBy(judge);
        }
        // labels of an older derrick: no start in ticks, the wall-clock start tells
        if (otherPid == pid) {
            return !String.valueOf(startMillis).equals(labels.get(LABEL_START));
        }
        Optional<ProcessHandle> process = ProcessHandle.of(otherPid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        long start = startMillis(process.get());
        try {
            String theirStart = labels.get(LABEL_START);
            return theirStart != null && start != 0 && Math.abs(Long.parseLong(theirStart) - start) > 1000;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static long parse(String value) {
        try {
            return value == null ? 0L : Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0L;
        }
    }

    private static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }
}
