package dev.derrick.local.internal.limits;

import dev.derrick.core.limits.ResourceLimits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The machine's control groups as the local provider uses them: one cgroup per workspace, {@code derrick/<workspace
 * id>} under each controller's hierarchy (cgroup v1: {@code /sys/fs/cgroup/memory/derrick/<id>},
 * {@code …/pids/…}, {@code …/cpu/…}; cgroup v2: {@code /sys/fs/cgroup/derrick/<id>}), like docker's cgroupfs driver.
 *
 * <p>Found from {@code /proc/self/mountinfo}: for each of {@code memory}, {@code pids} and {@code cpu}, a cgroup v1
 * hierarchy that has it, else a cgroup v2 hierarchy whose {@code cgroup.controllers} lists it (hybrid machines mount an
 * empty v2 next to v1). A controller is usable only when the provider can create {@code derrick/} in it (root, or a
 * delegated tree); what cannot be used is said by {@link #describe()} and, per limit, by {@link ResourceControl}.
 */
public final class Cgroups {
    private static final Logger LOG = LoggerFactory.getLogger(Cgroups.class);
    /** The controllers a workspace's limits need. */
    public static final List<String> CONTROLLERS = List.of("memory", "pids", "cpu");
    static final String PARENT = "derrick";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    /** How a controller is reached. */
    record Controller(String name, Path hierarchy, boolean v2) {
        Path parent() {
            return hierarchy.resolve(PARENT);
        }
    }

    private final Map<String, Controller> controllers;
    private final Map<String, String> unusable;

    Cgroups(Map<String, Controller> controllers, Map<String, String> unusable) {
        this.controllers = Collections.unmodifiableMap(new LinkedHashMap<>(controllers));
        this.unusable = Collections.unmodifiableMap(new LinkedHashMap<>(unusable));
    }

    /** No usable controller, for the given reason (tests force the fall-backs through this). */
    public static Cgroups none(String reason) {
        Map<String, String> why = new LinkedHashMap<>();
        CONTROLLERS.forEach(c -> why.put(c, reason));
        return new Cgroups(Map.of(), why);
    }

    /** The names of the workspace cgroups that exist now (in any usable controller) and that {@code which} accepts. */
    public Set<String> existing(java.util.function.Predicate<String> which) {
        Set<String> names = new LinkedHashSet<>();
        for (Controller c : controllers.values()) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(c.parent(), Files::isDirectory)) {
                for (Path dir : children) {
                    String id = dir.getFileName().toString();
                    if (ID.matcher(id).matches() && which.test(id)) {
                        names.add(id);
                    }
                }
            } catch (IOException e) {
                LOG.debug("cannot list {}: {}", c.parent(), e.getMessage());
            }
        }
        return names;
    }

    /** The cgroups of this machine; controllers that cannot be used are left out (see {@link #unusable()}). */
    public static Cgroups detect() {
        String mountinfo;
        try {
            mountinfo = Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            Map<String, String> why = new LinkedHashMap<>();
            CONTROLLERS.forEach(c -> why.put(c, "no /proc/self/mountinfo"));
            return new Cgroups(Map.of(), why);
        }
        return detect(mountinfo);
    }

    /** The cgroups described by a {@code mountinfo} text, each checked for being writable. */
    static Cgroups detect(String mountinfo) {
        Map<String, Controller> found = new LinkedHashMap<>();
        Map<String, String> why = new LinkedHashMap<>();
        Map<String, Controller> candidates = candidates(mountinfo);
        for (String name : CONTROLLERS) {
            Controller c = candidates.get(name);
            if (c == null) {
                why.put(name, "no cgroup hierarchy with the " + name + " controller is mounted");
                continue;
            }
            Optional<String> problem = prepare(c);
            if (problem.isPresent()) {
                why.put(name, problem.get());
            } else {
                found.put(name, c);
            }
        }
        return new Cgroups(found, why);
    }

    /** Per controller, the v1 hierarchy that has it, else a v2 hierarchy offering it. */
    static Map<String, Controller> candidates(String mountinfo) {
        Map<String, Controller> v1 = new LinkedHashMap<>();
        List<Path> v2 = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] left = line.substring(0, dash).split(" ");
            String[] right = line.substring(dash + 3).split(" ");
            if (left.length < 5 || right.length < 3) {
                continue;
            }
            Path mountPoint = Path.of(unescape(left[4]));
            if (!left[3].equals("/")) {
                continue; // a bind mount of a sub-tree: not the hierarchy's root
            }
            if (right[0].equals("cgroup")) {
                for (String option : right[2].split(",")) {
                    if (CONTROLLERS.contains(option)) {
                        v1.putIfAbsent(option, new Controller(option, mountPoint, false));
                    }
                }
            } else if (right[0].equals("cgroup2")) {
                v2.add(mountPoint);
            }
        }
        Map<String, Controller> result = new LinkedHashMap<>(v1);
        for (Path root : v2) {
            Set<String> offered = v2Controllers(root);
            for (String name : CONTROLLERS) {
                if (!result.containsKey(name) && offered.contains(name)) {
                    result.put(name, new Controller(name, root, true));
                }
            }
        }
        return result;
    }

    private static Set<String> v2Controllers(Path root) {
        try {
            return new LinkedHashSet<>(List.of(Files.readString(root.resolve("cgroup.controllers")).trim().split("\\s+")));
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** Creates {@code derrick/} (v2: enables the controller for it and for its children). Empty when usable. */
    private static Optional<String> prepare(Controller c) {
        try {
            if (c.v2()) {
                enable(c.hierarchy(), c.name());
            }
            Files.createDirectories(c.parent());
            if (c.v2()) {
                enable(c.parent(), c.name());
            }
            if (!Files.isWritable(c.parent().resolve("cgroup.procs"))) {
                return Optional.of(c.parent() + " is not writable");
            }
            return Optional.empty();
        } catch (IOException | SecurityException e) {
            return Optional.of("cannot use " + c.parent() + " (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + "); run the provider as root or delegate a cgroup subtree to it");
        }
    }

    private static void enable(Path dir, String controller) throws IOException {
        Path control = dir.resolve("cgroup.subtree_control");
        String current = Files.readString(control);
        if (!List.of(current.trim().split("\\s+")).contains(controller)) {
            Files.writeString(control, "+" + controller);
        }
    }

    /** The usable controllers by name. */
    Map<String, Controller> controllers() {
        return controllers;
    }

    /** Controllers that cannot be used, with the reason. */
    public Map<String, String> unusable() {
        return unusable;
    }

    /** Whether the controller is usable. */
    public boolean has(String controller) {
        return controllers.containsKey(controller);
    }

    /** e.g. {@code cgroup v1 (memory, pids, cpu)}. */
    public String describe() {
        if (controllers.isEmpty()) {
            return "no usable cgroup controller";
        }
        Set<String> versions = new LinkedHashSet<>();
        controllers.values().forEach(c -> versions.add(c.v2() ? "v2" : "v1"));
        return "cgroup " + String.join("+", versions) + " (" + String.join(", ", controllers.keySet()) + ")";
    }

    /**
     * Creates the workspace's cgroup with the limits set (only for usable controllers; a v1 memory cgroup gets the
     * same limit for memory+swap). A cgroup left by an earlier run under the same id is removed first.
     *
     * @throws IllegalArgumentException for an id that is not a plain name
     * @throws IOException              when the kernel refuses a directory or a value
     */
    public WorkspaceCgroup create(String workspaceId, ResourceLimits limits) throws IOException {
        checkId(workspaceId);
        destroy(workspaceId);
        Map<String, Path> dirs = new LinkedHashMap<>();
        boolean ok = false;
        try {
            for (Controller c : controllers.values()) {
                Path dir = c.parent().resolve(workspaceId);
                Files.createDirectory(dir);
                dirs.put(c.name(), dir);
                apply(c, dir, limits);
            }
            ok = true;
            return new WorkspaceCgroup(workspaceId, dirs, controllers.values().stream().anyMatch(Controller::v2));
        } finally {
            if (!ok) {
                new WorkspaceCgroup(workspaceId, dirs, false).close();
            }
        }
    }

    private static void apply(Controller c, Path dir, ResourceLimits limits) throws IOException {
        switch (c.name()) {
            case "memory" -> {
                if (limits.memoryBytes() > 0) {
                    if (c.v2()) {
                        write(dir, "memory.max", Long.toString(limits.memoryBytes()));
                        if (Files.exists(dir.resolve("memory.swap.max"))) {
                            write(dir, "memory.swap.max", "0");
                        }
                    } else {
                        write(dir, "memory.limit_in_bytes", Long.toString(limits.memoryBytes()));
                        if (Files.exists(dir.resolve("memory.memsw.limit_in_bytes"))) {
                            write(dir, "memory.memsw.limit_in_bytes", Long.toString(limits.memoryBytes()));
                        }
                    }
                }
            }
            case "pids" -> {
                if (limits.pids() > 0) {
                    write(dir, "pids.max", Long.toString(limits.pids()));
                }
            }
            case "cpu" -> {
                if (limits.cpus() > 0) {
                    if (c.v2()) {
                        write(dir, "cpu.max", limits.cfsQuotaUs() + " " + ResourceLimits.CFS_PERIOD_US);
                    } else {
                        write(dir, "cpu.cfs_period_us", Long.toString(ResourceLimits.CFS_PERIOD_US));
                        write(dir, "cpu.cfs_quota_us", Long.toString(limits.cfsQuotaUs()));
                    }
                }
            }
            default -> throw new IllegalStateException(c.name());
        }
    }

    private static void write(Path dir, String file, String value) throws IOException {
        try {
            Files.writeString(dir.resolve(file), value);
        } catch (IOException e) {
            throw new IOException("cannot set " + dir.resolve(file) + " to " + value + ": " + e.getMessage(), e);
        }
    }

    /**
     * Ends every process in the workspace's cgroup and removes it, in every controller: for the workspace's end and for
     * the reaper after a crash. A cgroup that is not there is fine.
     */
    public void destroy(String workspaceId) {
        checkId(workspaceId);
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (Controller c : controllers.values()) {
            Path dir = c.parent().resolve(workspaceId);
            if (Files.isDirectory(dir)) {
                dirs.put(c.name(), dir);
            }
        }
        if (!dirs.isEmpty()) {
            new WorkspaceCgroup(workspaceId, dirs, controllers.values().stream().anyMatch(Controller::v2)).close();
        }
    }

    /**
     * Removes workspace cgroups that have no process left and are older than {@code minAge} (a crashed provider's;
     * a live workspace's cgroup always holds its sandbox, except for the moment between its creation and its first
     * process, which {@code minAge} covers). cgroupfs sets a directory's time when it is first looked at, not at its
     * creation, so a cgroup first seen by one sweep is removed by a later one: this errs on keeping. Returns the ids
     * removed.
     */
    public List<String> reapEmpty(Duration minAge) {
        return reapEmpty(minAge, id -> true);
    }

    /** {@link #reapEmpty(Duration)} for the ids {@code which} accepts. */
    public List<String> reapEmpty(Duration minAge, java.util.function.Predicate<String> which) {
        Set<String> removed = new LinkedHashSet<>();
        Instant cutoff = Instant.now().minus(minAge);
        for (Controller c : controllers.values()) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(c.parent(), Files::isDirectory)) {
                for (Path dir : children) {
                    String id = dir.getFileName().toString();
                    if (!ID.matcher(id).matches() || !which.test(id)) {
                        continue;
                    }
                    FileTime modified = Files.getLastModifiedTime(dir);
                    if (modified.toInstant().isAfter(cutoff) || !WorkspaceCgroup.procs(dir).isEmpty()) {
                        LOG.debug("keeping cgroup {}: modified {}, processes {}", dir, modified, WorkspaceCgroup.procs(dir));
                        continue;
                    }
                    try {
                        Files.delete(dir);
                        removed.add(id);
                    } catch (IOException e) {
                        // became busy meanwhile, or a sub-cgroup: leave it
                        LOG.debug("cannot remove empty cgroup {}: {}", dir, e.toString());
                    }
                }
            } catch (IOException e) {
                LOG.debug("cannot list {}: {}", c.parent(), e.getMessage());
            }
        }
        return List.copyOf(removed);
    }

    static void checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("not a workspace id usable as a cgroup name: '" + id + "'");
        }
    }

    private static String unescape(String mountinfoField) {
        // mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134
        return mountinfoField.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
