package dev.derrick.local;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.exec.ProcessRunner;
import dev.derrick.core.exec.ProcessSpec;
import dev.derrick.local.internal.cache.LocalCache;
import dev.derrick.local.internal.cache.LocalInstance;
import dev.derrick.local.internal.cache.LocalBackend;
import dev.derrick.local.internal.cache.SetupRunner;
import dev.derrick.core.provision.Provisioner;
import dev.derrick.core.exec.CommandEnvironment;
import dev.derrick.core.git.GitClient;
import dev.derrick.local.internal.LocalWorkspace;
import dev.derrick.local.internal.Ownership;
import dev.derrick.core.limits.ResourceLimits;
import dev.derrick.local.internal.sandbox.Sandbox;
import dev.derrick.local.internal.sandbox.SandboxControls;
import dev.derrick.local.internal.sandbox.SandboxExtension;
import dev.derrick.local.internal.sandbox.SandboxSupport;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.local.internal.Reaper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Workspaces as directories on this machine. Each workspace is a fresh directory under the root; repositories are
 * cloned into it with JGit (tokens from the provider's environment, never written), the setup script runs in it,
 * and commands run as local processes (see {@link dev.derrick.core.exec.ProcessRunner}).
 *
 * <p>With isolation {@code sandbox} (the default {@code auto} where bubblewrap works) every command runs in a
 * sandbox of Linux namespaces whose {@code /} is the workspace directory (see {@link Sandbox}); with {@code none}
 * commands run as this user and can reach the whole machine.
 *
 * <p>{@link #close()} ends every workspace and process; a JVM shutdown hook does the same if the provider is never
 * closed. Workspaces of a JVM that died without either ({@code kill -9}), and {@linkplain Workspace#detach() detached}
 * ones once their JVM has ended, are reaped when the next provider opens on the same root: each workspace is labelled
 * with its owner at birth. Open one with {@code WorkspaceProviders.open("local", options)} (see {@link LocalProviderFactory}).
 */
public final class LocalWorkspaceProvider implements WorkspaceProvider {
    private static final Logger LOG = LoggerFactory.getLogger(LocalWorkspaceProvider.class);

    /**
     * How the provider is set up.
     *
     * @param root           directory workspaces are created in
     * @param maxOutputBytes cap per captured stream of a command
     * @param defaultTimeout timeout of commands that give none
     * @param setupTimeout   timeout of the setup script
     * @param environment    the provider's environment (token lookup and command allow-list)
     * @param isolation      how commands are isolated
     * @param sandboxUid     uid of sandboxed commands when the provider runs as root ({@code null}: the default)
     * @param sandboxReadOnly more host paths mounted read-only into every sandbox
     * @param bubblewrap     the bwrap executable ({@code null}: found in /usr/bin, /bin, /usr/local/bin)
     * @param limits         memory, cpus and pids of each sandboxed workspace ({@link ResourceLimits#NONE}: none)
     * @param networkHostLoopback whether sandboxed phases with network "on" may reach the host's 127.0.0.1 (at 10.0.2.2)
     */
    public record Settings(Path root, long maxOutputBytes, Duration defaultTimeout, Duration setupTimeout,
                           Map<String, String> environment, Isolation isolation, Integer sandboxUid,
                           List<Path> sandboxReadOnly, Path bubblewrap, ResourceLimits limits,
                           boolean networkHostLoopback) {
        public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
        public static final Duration DEFAULT_SETUP_TIMEOUT = Duration.ofMinutes(30);

        public Settings {
            Objects.requireNonNull(root, "root");
            Objects.requireNonNull(defaultTimeout, "defaultTimeout");
            Objects.requireNonNull(setupTimeout, "setupTimeout");
            environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
            isolation = isolation == null ? Isolation.AUTO : isolation;
            sandboxReadOnly = List.copyOf(sandboxReadOnly == null ? List.of() : sandboxReadOnly);
            limits = limits == null ? ResourceLimits.NONE : limits;
        }

        /** No resource limits, host loopback unreachable. */
        public Settings(Path root, long maxOutputBytes, Duration defaultTimeout, Duration setupTimeout,
                        Map<String, String> environment, Isolation isolation, Integer sandboxUid,
                        List<Path> sandboxReadOnly, Path bubblewrap) {
            this(root, maxOutputBytes, defaultTimeout, setupTimeout, environment, isolation, sandboxUid, sandboxReadOnly,
                    bubblewrap, ResourceLimits.NONE, false);
        }

        /** Isolation {@code auto}, default sandbox uid, no extra read-only paths. */
        public Settings(Path root, long maxOutputBytes, Duration defaultTimeout, Duration setupTimeout,
                        Map<String, String> environment) {
            this(root, maxOutputBytes, defaultTimeout, setupTimeout, environment, Isolation.AUTO, null, List.of(), null);
        }

        @Override
        public String toString() {
            // the environment holds tokens: never print it
            return "Settings[root=" + root + ", maxOutputBytes=" + maxOutputBytes + ", defaultTimeout=" + defaultTimeout
                    + ", setupTimeout=" + setupTimeout + ", isolation=" + isolation.value() + ", limits=" + limits
                    + (networkHostLoopback ? ", networkHostLoopback" : "") + "]";
        }
    }

    private final Settings settings;
    private final Path root;
    private final Redactor redactor = new Redactor();
    private final GitClient git;
    private final CommandEnvironment commandEnvironment;
    private final Map<String, LocalWorkspace> workspaces = new ConcurrentHashMap<>();
    private final Set<LocalWorkspace> creating = ConcurrentHashMap.newKeySet();
    private final Reaper reaper;
    private final Thread shutdownHook;
    private final LocalCache cache;
    /** Creates workspaces: through {@link #cache} when it is on. */
    private final Provisioner<LocalBackend.Create, LocalBackend.Base, LocalBackend.Built> engine;
    private final ProcessRunner setupRunner = new ProcessRunner();
    private final SandboxSupport sandbox;
    private final SandboxControls controls;
    private volatile SandboxExtension.Factory extensions = SandboxExtension.Factory.NONE;
    private volatile boolean closed;

    /** A provider without the provisioning cache: every create clones and runs the setup script. */
    public LocalWorkspaceProvider(Settings settings) {
        this(settings, null, LocalCache.Mode.AUTO);
    }

    /**
     * A provider with the provisioning cache (see {@link LocalCache}); {@code cache == null} turns it off.
     *
     * @param mode how workspaces are made from cache entries (overlay mount or copy)
     */
    public LocalWorkspaceProvider(Settings settings, CacheOptions cache, LocalCache.Mode mode) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.root = settings.root().toAbsolutePath().normalize();
        this.git = new GitClient(settings.environment(), redactor);
        this.sandbox = sandboxSupport(settings, root);
        if (sandbox == null && !settings.limits().isEmpty()) {
            throw new DerrickException("the local provider cannot enforce options memory/cpus/pids ("
                    + settings.limits() + ") without its sandbox: isolation is "
                    + (settings.isolation() == Isolation.NONE ? "none" : "auto and no sandbox works here")
                    + "; use isolation=sandbox or drop the limits");
        }
        // network per phase and resource limits: every sandbox gets them
        this.controls = sandbox == null ? null : SandboxControls.start(sandbox, settings.limits(),
                settings.networkHostLoopback(), settings.isolation() == Isolation.SANDBOX);
        if (controls != null) {
            this.extensions = controls;
        }
        this.commandEnvironment = new CommandEnvironment(sandbox == null ? settings.environment()
                : sandboxEnvironment(settings.environment()));
        // Orphans first: their processes are killed before anything removes their directories.
        this.reaper = new Reaper(root, sandbox == null ? null : sandbox.cgroups());
        List<String> orphans = reaper.reapOrphans();
        if (controls != null) {
            orphans.forEach(controls::reapOrphan);
            controls.reapEmpty();
        }
        this.cache = cache == null ? null : new LocalCache(cache.dir(), git, mode, cache.eviction(),
                cache.requireFresh(), sandbox == null ? null : dir -> Ownership.give(sandbox, dir), sandbox == null,
                settings.setupTimeout());
        this.engine = this.cache != null ? this.cache.engine() : new Provisioner<>(
                new LocalBackend(null, git, null, sandbox != null, settings.setupTimeout()),
                Provisioner.Settings.of(null, null, false, git));
        this.shutdownHook = new Thread(this::closeEverything, "derrick-local-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * The sandbox machinery for {@code sandbox} and {@code auto}; {@code null} for {@code none} (or {@code auto}
     * where bubblewrap does not work). Logs what a provider without it does not protect.
     */
    private static SandboxSupport sandboxSupport(Settings settings, Path root) {
        if (settings.isolation() == Isolation.NONE) {
            warnUnisolated("isolation=none");
            return null;
        }
        SandboxSupport support = SandboxSupport.detect(settings.sandboxUid(), settings.sandboxReadOnly(),
                settings.bubblewrap());
        if (!support.available()) {
            if (settings.isolation() == Isolation.SANDBOX) {
                throw new DerrickException("the local provider cannot start with isolation=sandbox: "
                        + support.unavailableReason() + " (or use isolation=none, which isolates nothing)");
            }
            warnUnisolated("isolation=auto found no working sandbox: " + support.unavailableReason());
            return null;
        }
        LOG.info("local workspaces are sandboxed: {}", support.describe());
        return support;
    }

    private static void warnUnisolated(String why) {
        LOG.warn("local workspaces are NOT isolated ({}): commands run as this user and can read the provider's"
                + " environment and tokens (/proc/<pid>/environ), other workspaces, the cache and the whole machine,"
                + " and signal any of its processes", why);
    }

    /** In a sandbox the home, user and temp directory are the sandbox's own, and PATH the standard one. */
    private static Map<String, String> sandboxEnvironment(Map<String, String> provider) {
        Map<String, String> env = new java.util.HashMap<>(provider);
        env.put("PATH", CommandEnvironment.DEFAULT_PATH);
        env.put("HOME", Sandbox.HOME);
        env.put("USER", Sandbox.USER);
        env.put("LOGNAME", Sandbox.USER);
        env.put("SHELL", "/bin/bash");
        env.put("TMPDIR", "/tmp");
        return env;
    }

    /** {@code sandbox} or {@code none}: what new workspaces get. */
    public String isolation() {
        return sandbox != null ? "sandbox" : "none";
    }

    /** The sandbox machinery, or {@code null} without isolation. */
    public SandboxSupport sandboxSupport() {
        return sandbox;
    }

    /** The network and resource limits of this provider's sandboxes, or {@code null} without isolation. */
    public SandboxControls sandboxControls() {
        return controls;
    }

    /**
     * What the network/limits support adds to every sandbox of this provider's workspaces created from now on
     * (by default {@link #sandboxControls()}; tests replace it).
     */
    public void sandboxExtensions(SandboxExtension.Factory factory) {
        this.extensions = factory == null ? SandboxExtension.Factory.NONE : factory;
    }

    @Override
    public String name() {
        return LocalProviderFactory.NAME;
    }

    /** The directory workspaces are created in. */
    public Path root() {
        return root;
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        Objects.requireNonNull(config, "config");
        ProgressListener listener = ProgressListener.orNone(progress);
        ensureOpen();
        if (sandbox != null) {
            for (RepositoryConfig repo : config.repositories()) {
                String top = WorkspacePaths.normalizeRelative(repo.path(), "repository path").split("/", 2)[0];
                if (SandboxSupport.RESERVED.contains(top) || top.isEmpty()) {
                    throw new InvalidConfigException("repository path '" + repo.path() + "' is a system directory of the"
                            + " sandbox (" + String.join(", ", SandboxSupport.RESERVED) + " are mounted from the host); clone it elsewhere, e.g. code/"
                            + top);
                }
            }
        }
        if (sandbox == null && (!config.network().setup() || !config.network().commands())) {
            // unsandboxed commands share the host's network: "off" cannot be kept, so it is refused, never ignored
            throw new dev.derrick.api.InvalidConfigException("workspace config '" + config.name() + "' asks for network "
                    + config.network() + ", but commands of this local provider are not sandboxed (isolation=none) and"
                    + " share the host's network; use isolation=sandbox (bubblewrap) or the docker provider");
        }
        String id = dev.derrick.api.spi.WorkspaceIds.newId("local");
        Path dir = root.resolve(id);
        try {
            Files.createDirectories(root);
            reaper.claim(id);
            Files.createDirectory(dir);
        } catch (IOException e) {
            reaper.release(id);
            throw new DerrickException("cannot create workspace directory " + dir + ": " + e.getMessage(), e);
        }
        LocalWorkspace ws = new LocalWorkspace(id, config, dir, commandEnvironment, settings.maxOutputBytes(),
                settings.defaultTimeout(), redactor, this::forget, this::detached, sandbox, extensions);
        creating.add(ws);
        long start = System.nanoTime();
        try {
            LOG.debug("creating workspace {} from config '{}' in {}{}", id, config.name(), dir, cache == null ? "" : " (cache)");
            SetupRunner setup = cache == null
                    ? (d, script, env, p) -> ws.runSetup(script, settings.setupTimeout())
                    : (d, script, env, p) -> runScript(id, config, d, script, env, Sandbox.Phase.SETUP);
            // the update script runs in the workspace itself: the commands phase (see NetworkPolicy)
            SetupRunner update = (d, script, env, p) -> runScript(id, config, d, script, env, Sandbox.Phase.COMMANDS);
            LocalBackend.Built built = engine.create(new LocalBackend.Create(ws.root(), setup, update, config), config, listener);
            LocalInstance instance = built.instance();
            if (instance != null) {
                ws.attachCache(instance);
            } else {
                Ownership.give(sandbox, ws.root());
            }
            ws.startSandbox();
            ws.ready(instance != null ? instance.repositories() : built.states());
            ws.forkWith(this::fork);
            workspaces.put(id, ws);
            if (closed) {
                ws.close();
                throw new DerrickException("the local provider was closed while workspace " + id + " was being created");
            }
            LOG.info("workspace {} ready in {} ms from config '{}' in {}{}", id, millisSince(start), config.name(),
                    ws.root(), instance == null ? "" : " (" + instance.mode() + " of cache entry " + instance.cacheEntry().id() + ")");
            return ws;
        } catch (RuntimeException e) {
            ws.close();
            throw e;
        } finally {
            creating.remove(ws);
        }
    }

    /**
     * {@link Workspace#fork}: {@code count} new workspaces with the source's current files (its processes frozen while
     * they are copied) and its clean state, each with a cache instance of its own on the same entry and a sandbox of
     * its own. All or nothing: on a failure the ones made are closed.
     */
    private List<Workspace> fork(LocalWorkspace source, int count) {
        ensureOpen();
        long start = System.nanoTime();
        WorkspaceConfig config = source.config();
        List<String> ids = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        List<SetupRunner> runners = new ArrayList<>();
        List<LocalWorkspace> made = new ArrayList<>();
        long copied;
        try {
            for (int i = 0; i < count; i++) {
                String id = dev.derrick.api.spi.WorkspaceIds.newId("local");
                try {
                    reaper.claim(id);
                } catch (java.io.IOException e) {
                    throw new DerrickException("cannot record the owner of workspace " + id + ": " + e.getMessage(), e);
                }
                ids.add(id);
                dirs.add(root.resolve(id));
                runners.add((d, script, env, p) -> runScript(id, config, d, script, env, Sandbox.Phase.COMMANDS));
            }
            List<LocalInstance> instances = source.forkInstances(dirs, runners);
            copied = System.nanoTime();
            for (int i = 0; i < count; i++) {
                LocalWorkspace ws = new LocalWorkspace(ids.get(i), config, dirs.get(i), commandEnvironment,
                        settings.maxOutputBytes(), settings.defaultTimeout(), redactor, this::forget, this::detached,
                        sandbox, extensions);
                ws.attachCache(instances.get(i));
                made.add(ws);
            }
            List<java.util.concurrent.CompletableFuture<Void>> starts = new ArrayList<>();
            for (LocalWorkspace ws : made) {
                starts.add(java.util.concurrent.CompletableFuture.runAsync(ws::startSandbox, LocalWorkspace.FORKS));
            }
            dev.derrick.core.Futures.joinAll(starts); // a failure: the catch below closes what was made
            for (LocalWorkspace ws : made) {
                ws.ready(ws.info().repositories());
                ws.forkWith(this::fork);
                workspaces.put(ws.id(), ws);
            }
        } catch (RuntimeException e) {
            made.forEach(LocalWorkspace::close);
            for (int i = made.size(); i < ids.size(); i++) {
                reaper.release(ids.get(i));
            }
            throw e;
        }
        LOG.info("workspace {} forked into {} in {} ms ({} ms copying, {} ms starting sandboxes)", source.id(), ids,
                millisSince(start), (copied - start) / 1_000_000, millisSince(copied));
        return List.copyOf(made);
    }

    private ExecResult runScript(String id, WorkspaceConfig config, Path dir, String script, Map<String, String> env,
                                 Sandbox.Phase phase) {
        if (sandbox != null) {
            return LocalWorkspace.runSandboxed(sandbox, extensions, id, config, dir, script,
                    commandEnvironment.build(env, null), settings.setupTimeout(), settings.maxOutputBytes(), phase);
        }
        return setupRunner.run(new ProcessSpec(script, dir, commandEnvironment.build(env, null), settings.setupTimeout(),
                settings.maxOutputBytes()));
    }

    /** The provisioning cache, or {@code null} when it is off. */
    public LocalCache cache() {
        return cache;
    }

    @Override
    public List<Workspace> list() {
        List<LocalWorkspace> live = new ArrayList<>(workspaces.values());
        live.sort(Comparator.comparing(LocalWorkspace::created).thenComparing(LocalWorkspace::id));
        return List.copyOf(live);
    }

    @Override
    public java.util.Optional<Workspace> find(String id) {
        return java.util.Optional.ofNullable(workspaces.get(id));
    }

    /** Ends every workspace and every process this provider started. Idempotent, thread-safe. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closeEverything();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down
        }
    }

    private synchronized void closeEverything() {
        closed = true;
        List<LocalWorkspace> all = new ArrayList<>(creating);
        all.addAll(workspaces.values());
        if (!all.isEmpty()) {
            LOG.info("closing {} local workspace(s)", all.size());
        }
        // Kill first everywhere (in parallel), then remove directories.
        all.parallelStream().forEach(LocalWorkspace::close);
        workspaces.clear();
        setupRunner.close();
        engine.close(); // the cache's engine when it is on
        if (controls != null) {
            controls.close();
        }
    }

    private void forget(LocalWorkspace ws) {
        workspaces.remove(ws.id(), ws);
        reaper.release(ws.id());
    }

    /** A detached workspace leaves the list but keeps its owner record: the next start reaps it once this JVM ends. */
    private void detached(LocalWorkspace ws) {
        workspaces.remove(ws.id(), ws);
    }

    private void ensureOpen() {
        if (closed) {
            throw new DerrickException("the local provider is closed");
        }
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
