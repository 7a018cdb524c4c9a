package dev.derrick.local.internal.limits;

import dev.derrick.api.DerrickException;
import dev.derrick.core.limits.ResourceLimits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How the local provider's {@code memory}, {@code cpus} and {@code pids} options are enforced on this machine, decided
 * once per provider: per limit, a cgroup controller when one is usable ({@link Cgroups}), else {@code prlimit} where a
 * resource limit comes close (memory as each process's address space, pids as the sandbox uid's process count), else
 * not at all — and then {@link #enforcement()} and the start-up WARN say so. Never a silent no-op.
 */
public final class ResourceControl {
    private static final Logger LOG = LoggerFactory.getLogger(ResourceControl.class);
    private static final Path PRLIMIT = Path.of("/usr/bin/prlimit");

    /** How one limit is enforced. */
    public enum Means {
        /** by the workspace's cgroup: all its processes together */
        CGROUP,
        /** by a per-process resource limit ({@code prlimit}): weaker, see {@link #enforcement()} */
        PRLIMIT,
        /** not at all */
        NONE
    }

    private final ResourceLimits limits;
    private final Cgroups cgroups;
    private final Map<String, Means> means;
    private final Map<String, String> enforcement;

    private ResourceControl(ResourceLimits limits, Cgroups cgroups, Map<String, Means> means,
                            Map<String, String> enforcement) {
        this.limits = limits;
        this.cgroups = cgroups;
        this.means = Collections.unmodifiableMap(means);
        this.enforcement = Collections.unmodifiableMap(enforcement);
    }

    /** The machine's cgroups and {@code prlimit}, for these limits. */
    public static ResourceControl detect(ResourceLimits limits) {
        return detect(limits, true);
    }

    /** @param nproc see {@link #of(ResourceLimits, Cgroups, boolean, boolean)} */
    public static ResourceControl detect(ResourceLimits limits, boolean nproc) {
        return of(limits, limits.isEmpty() ? new Cgroups(Map.of(), Map.of()) : Cgroups.detect(),
                Files.isExecutable(PRLIMIT), nproc);
    }

    /** For given cgroups and {@code prlimit} availability (tests force the fall-backs through this). */
    public static ResourceControl of(ResourceLimits limits, Cgroups cgroups, boolean prlimit) {
        return of(limits, cgroups, prlimit, true);
    }

    /**
     * @param nproc whether {@code prlimit --nproc} may stand in for {@code pids}: only when the workspace's processes
     *              run as a uid of their own (RLIMIT_NPROC counts every process of the uid — for a provider that is not
     *              root, its own JVM's threads too)
     */
    public static ResourceControl of(ResourceLimits limits, Cgroups cgroups, boolean prlimit, boolean nproc) {
        Map<String, Means> means = new LinkedHashMap<>();
        Map<String, String> text = new LinkedHashMap<>();
        for (String limit : limits.names()) {
            String controller = limit.equals(ResourceLimits.CPUS) ? "cpu" : limit;
            if (cgroups.has(controller)) {
                means.put(limit, Means.CGROUP);
                Cgroups.Controller c = cgroups.controllers().get(controller);
                text.put(limit, "enforced for the whole workspace by cgroup " + (c.v2() ? "v2 " : "v1 ")
                        + c.hierarchy() + "/" + Cgroups.PARENT + "/<workspace id> (" + knob(limit, c.v2()) + ")");
            } else if (prlimit && !limit.equals(ResourceLimits.CPUS) && (nproc || !limit.equals(ResourceLimits.PIDS))) {
                means.put(limit, Means.PRLIMIT);
                text.put(limit, limit.equals(ResourceLimits.MEMORY)
                        ? "only per process (prlimit --as: address space of each process, not the workspace's total)"
                        + " because " + cgroups.unusable().get(controller)
                        : "only per uid (prlimit --nproc: every process of the sandbox's uid, all its workspaces"
                        + " together; not for root) because " + cgroups.unusable().get(controller));
            } else {
                means.put(limit, Means.NONE);
                text.put(limit, "NOT enforced: " + Optional.ofNullable(cgroups.unusable().get(controller))
                        .orElse("no usable " + controller + " cgroup")
                        + (limit.equals(ResourceLimits.CPUS) ? " (no per-process fall-back for a CPU rate)"
                        : limit.equals(ResourceLimits.PIDS) && prlimit
                        ? " (prlimit --nproc would count the provider's own processes: not used)" : ""));
            }
        }
        ResourceControl control = new ResourceControl(limits, cgroups, means, text);
        return control;
    }

    private static String knob(String limit, boolean v2) {
        return switch (limit) {
            case ResourceLimits.MEMORY -> v2 ? "memory.max, memory.swap.max=0" : "memory.limit_in_bytes, memory.memsw.limit_in_bytes";
            case ResourceLimits.PIDS -> "pids.max";
            default -> v2 ? "cpu.max" : "cpu.cfs_quota_us per cpu.cfs_period_us";
        };
    }

    /** Logs one WARN naming every limit that is set but not fully enforced. */
    public ResourceControl warnIfWeak() {
        List<String> weak = new ArrayList<>();
        means.forEach((limit, m) -> {
            if (m != Means.CGROUP) {
                weak.add(limit + ": " + enforcement.get(limit));
            }
        });
        if (!weak.isEmpty()) {
            LOG.warn("local provider resource limits not fully enforced: {}", String.join("; ", weak));
        }
        return this;
    }

    /** The limits asked for. */
    public ResourceLimits limits() {
        return limits;
    }

    /** Per limit set, how it is enforced, in words (for {@code info()} and logs). Empty when no limit is set. */
    public Map<String, String> enforcement() {
        return enforcement;
    }

    /** Per limit set, the means. */
    public Map<String, Means> means() {
        return means;
    }

    /** The cgroups this control uses (also for the reaper). */
    public Cgroups cgroups() {
        return cgroups;
    }

    /** Whether a workspace needs a cgroup of its own. */
    private boolean usesCgroups() {
        return means.containsValue(Means.CGROUP);
    }

    /**
     * The limits of one workspace: its cgroup when a limit is enforced by cgroups, else nothing to create.
     *
     * @throws DerrickException when the cgroup cannot be made
     */
    public WorkspaceLimits open(String workspaceId) {
        WorkspaceCgroup cgroup = null;
        if (usesCgroups()) {
            try {
                cgroup = cgroups.create(workspaceId, limits);
            } catch (IOException e) {
                throw new DerrickException("cannot create the cgroup of workspace " + workspaceId + ": " + e.getMessage(), e);
            }
        }
        List<String> prlimit = new ArrayList<>();
        if (means.get(ResourceLimits.MEMORY) == Means.PRLIMIT) {
            prlimit.add("--as=" + limits.memoryBytes());
        }
        if (means.get(ResourceLimits.PIDS) == Means.PRLIMIT) {
            prlimit.add("--nproc=" + limits.pids());
        }
        return new WorkspaceLimits(cgroup, prlimit);
    }

    /** For the reaper: removes the cgroup a crashed workspace left (its processes are killed first). */
    public void reap(String workspaceId) {
        cgroups.destroy(workspaceId);
    }

    /** For the reaper: removes empty workspace cgroups older than a minute (see {@link Cgroups#reapEmpty}). */
    public List<String> reapEmpty() {
        return cgroups.reapEmpty(Duration.ofMinutes(1));
    }

    /** One workspace's limits: wraps each command so its process starts inside them. */
    public static final class WorkspaceLimits implements AutoCloseable {
        private final WorkspaceCgroup cgroup;
        private final List<String> prlimitArgs;

        WorkspaceLimits(WorkspaceCgroup cgroup, List<String> prlimitArgs) {
            this.cgroup = cgroup;
            this.prlimitArgs = List.copyOf(prlimitArgs);
        }

        /** No limits at all. */
        public static WorkspaceLimits none() {
            return new WorkspaceLimits(null, List.of());
        }

        /**
         * {@code command} started inside the workspace's limits: {@code prlimit …} (when used) inside the cgroup's
         * entering shell (when used). Use it for every process of the workspace, the sandbox's holder included.
         */
        public List<String> wrap(List<String> command) {
            List<String> inner = command;
            if (!prlimitArgs.isEmpty()) {
                inner = new ArrayList<>();
                inner.add(PRLIMIT.toString());
                inner.addAll(prlimitArgs);
                inner.add("--");
                inner.addAll(command);
            }
            return cgroup == null ? inner : cgroup.wrap(inner);
        }

        /** The {@code prlimit} options ({@code --as=…}, {@code --nproc=…}) every process gets, empty when none. */
        public List<String> prlimitArgs() {
            return prlimitArgs;
        }

        /** The {@code prlimit} executable. */
        public static Path prlimit() {
            return PRLIMIT;
        }

        /** The workspace's cgroup, if limits use one. */
        public Optional<WorkspaceCgroup> cgroup() {
            return Optional.ofNullable(cgroup);
        }

        /** Kills every process left in the cgroup and removes it. */
        @Override
        public void close() {
            if (cgroup != null) {
                cgroup.close();
            }
        }
    }
}
