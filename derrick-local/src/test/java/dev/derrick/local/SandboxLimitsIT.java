package dev.derrick.local;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.limits.ResourceLimits;
import dev.derrick.local.internal.LocalWorkspace;
import dev.derrick.local.internal.limits.Cgroups;
import dev.derrick.local.internal.limits.ResourceControl;
import dev.derrick.local.internal.sandbox.SandboxControls;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Resource limits of sandboxed local workspaces (issue 11, item 6) against the real kernel: the machine's cgroups
 * (v1 controllers on a hybrid host, v2 elsewhere), and the prlimit and not-enforced fall-backs forced.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class SandboxLimitsIT {
    final Path tmp = LocalProviderIT.createRoot();
    WorkspaceProvider provider;
    final WorkspaceConfig config = WorkspaceConfig.builder("limits-it").build();

    @BeforeAll
    void start() {
        provider = open("ws", Map.of("memory", "128m", "pids", "50", "cpus", "0.5"));
    }

    @AfterAll
    void stop() {
        if (provider != null) {
            provider.close();
        }
        dev.derrick.local.internal.TreeDeleter.delete(tmp);
    }

    WorkspaceProvider open(String name, Map<String, String> limits) {
        Map<String, Object> options = new LinkedHashMap<>(Map.of("root", tmp.resolve(name).toString(),
                "isolation", "sandbox", "cache", "false", "environment", Map.of("PATH", "/usr/bin:/bin")));
        options.putAll(limits);
        return WorkspaceProviders.open("local", options);
    }

    static String run(Workspace ws, String command) {
        ExecResult r = ws.exec(command);
        assertThat(r.exitCode()).as("%s\n%s", command, r.output()).isZero();
        return r.stdout();
    }

    /** Python allocating and touching {@code mib} MiB. */
    static String allocate(int mib) {
        return "/usr/bin/python3 -c \"b = b'x' * (" + mib + " << 20); print(len(b) >> 20)\"";
    }

    /** The cgroup directories (per v1 controller, or the v2 one) a workspace's holder is in, from /proc/<pid>/cgroup. */
    static Map<String, Path> cgroupsOf(Workspace ws) throws IOException {
        long pid = ((LocalWorkspace) ws).sandbox().holderPid();
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            for (String controller : List.of("memory", "pids", "cpu")) {
                if (List.of(f[1].split(",")).contains(controller) && f[2].startsWith("/derrick/")) {
                    dirs.put(controller, Path.of("/sys/fs/cgroup/" + controller + f[2]));
                }
            }
        }
        return dirs;
    }

    @Test
    void infoSaysHowEachLimitIsEnforcedAndTheCgroupsGoWithTheWorkspace() throws IOException {
        Map<String, Path> dirs;
        try (Workspace ws = provider.create(config)) {
            String isolation = ws.info().isolation();
            assertThat(isolation).startsWith("sandbox (network on (")
                    .contains("limits memory=128m, cpus=0.5, pids=50")
                    .contains("memory enforced for the whole workspace by cgroup")
                    .contains("pids enforced for the whole workspace by cgroup")
                    .contains("cpus enforced for the whole workspace by cgroup");
            dirs = cgroupsOf(ws);
            assertThat(dirs).containsOnlyKeys("memory", "pids", "cpu");
            assertThat(Files.readString(dirs.get("memory").resolve("memory.limit_in_bytes")).strip())
                    .isEqualTo(Long.toString(128L << 20));
            assertThat(Files.readString(dirs.get("pids").resolve("pids.max")).strip()).isEqualTo("50");
            assertThat(Files.readString(dirs.get("cpu").resolve("cpu.cfs_quota_us")).strip()).isEqualTo("50000");
            // every command joins them too
            String self = run(ws, "cat /proc/self/cgroup");
            assertThat(self).contains("memory:/").contains("pids:/");
            dirs.values().forEach(d -> assertThat(d).isDirectory());
        }
        dirs.values().forEach(d -> assertThat(d).doesNotExist());
    }

    @Test
    void aCommandCannotRaiseItsLimitsNorLeaveItsCgroups() {
        try (Workspace ws = provider.create(config)) {
            // no /sys in the sandbox: the host's cgroup files are not there to write
            assertThat(ws.exec("ls /sys/fs/cgroup").exitCode()).isNotZero();
            ExecResult cg = ws.exec("mkdir -p /tmp/cg && unshare -Urm --cgroup sh -c 'mount -t cgroup2 none /tmp/cg"
                    + " && echo $$ > /tmp/cg/cgroup.procs && echo moved'");
            assertThat(cg.stdout()).doesNotContain("moved");
            // cgroup v1 can be mounted there (kernel ≥ 5.x allows it in a user namespace), but it shows the sandbox's
            // own cgroup as its root, and every file in it is the host root's: no limit can be raised, no child made
            ExecResult v1 = ws.exec("mkdir -p /tmp/cg1 && unshare -Urm --cgroup sh -c 'mount -t cgroup -o memory none"
                    + " /tmp/cg1 && ls /tmp/cg1 | head -3; ls -ln /tmp/cg1/memory.limit_in_bytes;"
                    + " echo 99999999999 > /tmp/cg1/memory.limit_in_bytes && echo raised;"
                    + " echo 99999999999 > /tmp/cg1/memory.memsw.limit_in_bytes && echo raised;"
                    + " mkdir /tmp/cg1/escape && echo made; echo $$ > /tmp/cg1/cgroup.procs && echo moved;"
                    + " cat /tmp/cg1/memory.limit_in_bytes'");
            assertThat(v1.stdout()).doesNotContain("raised").doesNotContain("made").doesNotContain("moved")
                    .contains(Long.toString(128L << 20)); // its own limit, unchanged
        }
    }

    @Test
    void anAllocationAboveTheMemoryLimitFailsAndOneBelowSucceeds() {
        try (Workspace ws = provider.create(config)) {
            assertThat(run(ws, allocate(40)).strip()).isEqualTo("40");
            ExecResult big = ws.exec(allocate(300));
            assertThat(big.exitCode()).as(big.output()).isNotZero();
            assertThat(big.stdout()).doesNotContain("300");
            assertThat(run(ws, "echo still usable").strip()).isEqualTo("still usable");
        }
    }

    @Test
    void thePidsLimitStopsAForkLoopForTheWholeWorkspaceAndTheWorkspaceStaysUsable() {
        String forks = "/usr/bin/python3 -c \"import os, time\n"
                + "kids = []\n"
                + "try:\n"
                + "    for i in range(200):\n"
                + "        p = os.fork()\n"
                + "        if p == 0:\n"
                + "            time.sleep(60); os._exit(0)\n"
                + "        kids.append(p)\n"
                + "except OSError as e:\n"
                + "    print('stopped', e.errno)\n"
                + "print(len(kids))\n"
                + "for p in kids: os.kill(p, 9)\n"
                + "for p in kids: os.waitpid(p, 0)\"";
        try (Workspace ws = provider.create(config)) {
            String alone = run(ws, forks);
            assertThat(alone).contains("stopped 11"); // EAGAIN
            int forkedAlone = Integer.parseInt(alone.strip().split("\n")[1]);
            assertThat(forkedAlone).isBetween(30, 49);
            // a background command's 20 sleeps count against the same limit
            ws.exec(ExecRequest.of("for i in $(seq 20); do sleep 120 & done"));
            String shared = run(ws, forks);
            int forkedShared = Integer.parseInt(shared.strip().split("\n")[1]);
            assertThat(forkedShared).isLessThanOrEqualTo(forkedAlone - 20);
            run(ws, "pkill -f '^sleep 120$' || true"); // not the holder's sleep infinity
            assertThat(run(ws, "echo still usable").strip()).isEqualTo("still usable");
        }
    }

    @Test
    void theCpuQuotaThrottlesABusyLoop() throws IOException {
        try (Workspace ws = provider.create(config)) {
            String out = run(ws, "/usr/bin/python3 -c \"import time\n"
                    + "w = time.time(); c = time.process_time()\n"
                    + "while time.time() - w < 2: pass\n"
                    + "print(round((time.process_time() - c) / (time.time() - w), 2))\"");
            double share = Double.parseDouble(out.strip());
            assertThat(share).as("CPU per wall-clock second with cpus=0.5").isLessThan(0.7);
            String stat = Files.readString(cgroupsOf(ws).get("cpu").resolve("cpu.stat"));
            long throttled = Long.parseLong(stat.lines().filter(l -> l.startsWith("nr_throttled "))
                    .findFirst().orElseThrow().split(" ")[1]);
            assertThat(throttled).isPositive();
        }
    }

    @Test
    void withoutCgroupsPrlimitLimitsEachProcessAndInfoSaysSo() {
        try (WorkspaceProvider p = open("ws-prlimit", Map.of())) {
            LocalWorkspaceProvider local = (LocalWorkspaceProvider) p;
            ResourceControl control = ResourceControl.of(new ResourceLimits(256L << 20, 1, 64),
                    Cgroups.none("cgroups switched off by the test"), true, true);
            local.sandboxExtensions(SandboxControls.start(local.sandboxSupport(), control, false, true, true));
            try (Workspace ws = p.create(config)) {
                assertThat(ws.info().isolation())
                        .contains("memory only per process (prlimit --as")
                        .contains("pids only per uid (prlimit --nproc")
                        .contains("cpus NOT enforced: cgroups switched off by the test (no per-process fall-back");
                assertThat(run(ws, "grep -E 'address space|processes' /proc/self/limits"))
                        .containsPattern("Max address space\\s+" + (256L << 20))
                        .containsPattern("Max processes\\s+64");
                assertThat(run(ws, allocate(20)).strip()).isEqualTo("20");
                ExecResult big = ws.exec(allocate(400));
                assertThat(big.exitCode()).isNotZero();
                assertThat(big.output()).contains("MemoryError");
            }
        }
    }

    @Test
    void whereNothingCanEnforceALimitInfoSaysNotEnforced() {
        try (WorkspaceProvider p = open("ws-none", Map.of())) {
            LocalWorkspaceProvider local = (LocalWorkspaceProvider) p;
            ResourceControl control = ResourceControl.of(new ResourceLimits(256L << 20, 0, 64),
                    Cgroups.none("no cgroups here"), false, true);
            local.sandboxExtensions(SandboxControls.start(local.sandboxSupport(), control, false, true, true));
            try (Workspace ws = p.create(config)) {
                assertThat(ws.info().isolation()).contains("memory NOT enforced: no cgroups here")
                        .contains("pids NOT enforced: no cgroups here");
                assertThat(run(ws, "grep 'address space' /proc/self/limits")).contains("unlimited");
            }
        }
    }

    @Test
    void theReaperRemovesTheCgroupsOfAWorkspaceWhoseProviderIsGoneAndNothingElse() throws IOException {
        SandboxControls controls = ((LocalWorkspaceProvider) provider).sandboxControls();
        Cgroups machine = Cgroups.detect();
        String orphan = "local-0123456789ab";
        var left = machine.create(orphan + "-commands-7", new ResourceLimits(64L << 20, 0, 10));
        var other = machine.create("local-0123456789ac-commands-1", ResourceLimits.NONE);
        var foreign = machine.create("not-a-sandbox", ResourceLimits.NONE);
        try {
            left.directories().values().forEach(d -> assertThat(d).isDirectory());
            controls.reapOrphan(orphan);
            left.directories().values().forEach(d -> assertThat(d).doesNotExist());
            other.directories().values().forEach(d -> assertThat(d).isDirectory());
            foreign.directories().values().forEach(d -> assertThat(d).isDirectory());
        } finally {
            left.close();
            other.close();
            foreign.close();
        }
    }
}
