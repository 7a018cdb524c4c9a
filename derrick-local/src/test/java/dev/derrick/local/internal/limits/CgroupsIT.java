package dev.derrick.local.internal.limits;

import dev.derrick.core.limits.ResourceLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Workspace cgroups against the real kernel (this machine: cgroup v1 memory, pids and cpu, as root). With
 * {@code DERRICK_REQUIRE_CGROUPS=true} a machine without them fails instead of skipping.
 */
class CgroupsIT {
    private Cgroups cgroups;
    private String id;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void setUp() {
        cgroups = Cgroups.detect();
        boolean all = cgroups.unusable().isEmpty();
        if (!all && Boolean.parseBoolean(System.getenv("DERRICK_REQUIRE_CGROUPS"))) {
            throw new AssertionError("DERRICK_REQUIRE_CGROUPS=true but " + cgroups.unusable());
        }
        assumeTrue(all, () -> "cgroups not usable here: " + cgroups.unusable());
        id = "test-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        cgroups.destroy(id);
    }

    @Test
    void aCommandAllocatingPastMemoryIsOomKilled() throws Exception {
        try (WorkspaceCgroup cg = cgroups.create(id, new ResourceLimits(32L << 20, 0, 0))) {
            assertThat(read(cg, "memory", cg.directories().get("memory").toString().contains("unified")
                    ? "memory.max" : "memory.limit_in_bytes")).isEqualTo(Long.toString(32L << 20));
            // tail buffers a line that never ends: it grows until the cgroup's OOM killer ends it
            Result r = run(cg.wrap(List.of("tail", "/dev/zero")), 60);
            assertThat(r.exit).as(r.output).isEqualTo(128 + 9);
            assertThat(oomKills(cg)).isPositive();
        }
    }

    @Test
    void aForkBombStopsAtPidsAndCloseEndsEverythingLeft() throws Exception {
        WorkspaceCgroup cg = cgroups.create(id, new ResourceLimits(0, 0, 12));
        assertThat(read(cg, "pids", "pids.max")).isEqualTo("12");
        // bounded on purpose (40 forks): even without a limit it could not hurt the machine; dash gives up at the
        // first fork the kernel refuses ("Cannot fork"), leaving what it started, the setsid one included
        Result r = run(cg.wrap(List.of("sh", "-c", "setsid sleep 301 </dev/null >/dev/null 2>&1 & "
                + "for i in $(seq 40); do sleep 300 </dev/null >/dev/null 2>&1 & done; echo all-forked")), 30);
        assertThat(r.output).as(r.output).contains("Cannot fork").doesNotContain("all-forked");
        List<Long> left = new ArrayList<>(cg.pids());
        assertThat(left).isNotEmpty().hasSizeLessThanOrEqualTo(12);
        assertThat(Files.readString(cg.directories().get("pids").resolve("pids.events"))).containsPattern("max [1-9]");
        cg.close();
        for (long pid : left) {
            assertThat(running(pid)).as("pid " + pid).isFalse();
        }
        cg.directories().values().forEach(dir -> assertThat(dir).doesNotExist());
    }

    @Test
    void cpusIsACfsQuotaAndEveryProcessIsInTheWorkspaceCgroup() throws Exception {
        try (WorkspaceCgroup cg = cgroups.create(id, new ResourceLimits(0, 0.5, 0))) {
            Path cpu = cg.directories().get("cpu");
            if (Files.exists(cpu.resolve("cpu.max"))) {
                assertThat(read(cg, "cpu", "cpu.max")).isEqualTo("50000 100000");
            } else {
                assertThat(read(cg, "cpu", "cpu.cfs_quota_us")).isEqualTo("50000");
                assertThat(read(cg, "cpu", "cpu.cfs_period_us")).isEqualTo("100000");
            }
            Result r = run(cg.wrap(List.of("sh", "-c", "cat /proc/self/cgroup; (cat /proc/self/cgroup) &  wait")), 10);
            for (String controller : List.of("memory", "pids", "cpu")) {
                assertThat(r.output.lines().filter(l -> l.contains(":/" + Cgroups.PARENT + "/" + id)
                        && l.matches("\\d+:[^:]*\\b" + controller + "\\b[^:]*:.*"))).as(controller + " in " + r.output)
                        .hasSize(2);
            }
        }
    }

    @Test
    void reapingRemovesOnlyEmptyCgroups() throws Exception {
        WorkspaceCgroup busy = cgroups.create(id, ResourceLimits.NONE);
        String emptyId = id + "-empty";
        cgroups.create(emptyId, ResourceLimits.NONE);
        try {
            Process p = new ProcessBuilder(busy.wrap(List.of("sleep", "300"))).start();
            started.add(p);
            for (int i = 0; i < 200 && busy.pids().isEmpty(); i++) {
                Thread.sleep(10);
            }
            // a cgroup directory's time is set when it is first looked at: look, then wait past the minimum age
            cgroups.reapEmpty(Duration.ofDays(1), name -> name.startsWith(id));
            Thread.sleep(100);
            List<String> removed = cgroups.reapEmpty(Duration.ofMillis(50), name -> name.startsWith(id));
            assertThat(removed).containsExactly(emptyId);
            assertThat(busy.directories().values()).allSatisfy(dir -> assertThat(dir).isDirectory());
            cgroups.destroy(id);
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(busy.directories().values()).allSatisfy(dir -> assertThat(dir).doesNotExist());
        } finally {
            cgroups.destroy(emptyId);
        }
    }

    @Test
    void prlimitFallBackLimitsEachProcess() throws Exception {
        ResourceControl control = ResourceControl.of(new ResourceLimits(256L << 20, 0, 0), new Cgroups(
                java.util.Map.of(), java.util.Map.of("memory", "test: no cgroups")), true);
        try (ResourceControl.WorkspaceLimits limits = control.open(id)) {
            Result r = run(limits.wrap(List.of("sh", "-c", "ulimit -v")), 10);
            assertThat(r.output.strip()).isEqualTo(Long.toString(256L << 10));
        }
    }

    /** Exists and is not a zombie (an orphan killed here may wait for its new parent to reap it). */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static long oomKills(WorkspaceCgroup cg) throws Exception {
        Path dir = cg.directories().get("memory");
        Path events = Files.exists(dir.resolve("memory.events")) ? dir.resolve("memory.events") : dir.resolve("memory.oom_control");
        String text = Files.readString(events);
        return Long.parseLong(text.replaceAll("(?s).*oom_kill (\\d+).*", "$1"));
    }

    private static String read(WorkspaceCgroup cg, String controller, String file) throws Exception {
        return Files.readString(cg.directories().get(controller).resolve(file)).strip();
    }

    record Result(int exit, String output) {
    }

    private Result run(List<String> command, int seconds) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        started.add(p);
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
