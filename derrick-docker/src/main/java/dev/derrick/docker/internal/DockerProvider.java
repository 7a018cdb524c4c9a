package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PullResponseItem;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheKeyFiles;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.git.GitClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/** The docker provider's machinery; see {@code dev.derrick.docker.DockerWorkspaceProvider} for the public face. */
public final class DockerProvider implements WorkspaceProvider {
    private static final Logger LOG = LoggerFactory.getLogger(DockerProvider.class);

    public static final String LABEL_MANAGED = "derrick.managed";
    public static final String LABEL_SESSION = "derrick.session";
    public static final String LABEL_WORKSPACE = "derrick.workspace";
    public static final String LABEL_CONFIG = "derrick.config";
    public static final String LABEL_VERSION = "derrick.version";
    /** Keeps the container alive and reaps orphaned children; needs only {@code /bin/sh} and {@code sleep}. */
    static final String KEEP_ALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

    private final DockerSettings settings;
    private final DockerEngine engine;
    private final DockerClient client;
    private final Map<String, String> providerEnv;
    private final Redactor redactor = new Redactor();
    private final GitClient git;
    private final String session = UUID.randomUUID().toString();
    private final Owner owner = Owner.current();
    private final Map<String, DockerWorkspace> workspaces = new LinkedHashMap<>();
    /** Workspace ids of detached workspaces: their containers carry this session but are not removed with it. */
    private final java.util.Set<String> detached = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook;
    private final CacheOptions cacheOptions;
    private final DockerCache cache;
    /** The network mode of a phase with network "on" (see {@link DockerSettings#networkMode()}). */
    private final String onNetworkMode;
    /** Why "on" is not what it says (the engine has no bridge network), or {@code null}. */
    private final String networkCaveat;
    private final ExecutorService background = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "derrick-docker-io");
        t.setDaemon(true);
        return t;
    });

    private DockerProvider(DockerSettings settings, CacheOptions cacheOptions, DockerEngine engine,
                           Map<String, String> providerEnv) {
        this.settings = settings;
        this.engine = engine;
        this.client = engine.client();
        this.providerEnv = Map.copyOf(providerEnv);
        this.git = new GitClient(this.providerEnv, redactor);
        this.cacheOptions = cacheOptions;
        this.cache = new DockerCache(cacheOptions.dir(), client, git, this.providerEnv, redactor,
                cacheOptions.eviction());
        this.shutdownHook = new Thread(this::removeSessionContainers, "derrick-docker-reaper-" + session.substring(0, 8));
        if (settings.networkMode() != null) {
            this.onNetworkMode = settings.networkMode();
            this.networkCaveat = settings.networkMode().equals("none")
                    ? "option network_mode is none: phases with network \"on\" have no network either" : null;
        } else if (hasNetwork("bridge")) {
            this.onNetworkMode = "bridge";
            this.networkCaveat = null;
        } else {
            this.onNetworkMode = "none";
            this.networkCaveat = "the engine has no 'bridge' network (dockerd --bridge=none?): phases with network \"on\""
                    + " run with network mode none; set option network_mode to a network of the engine";
            LOG.warn("docker provider: {}", networkCaveat);
        }
    }

    private boolean hasNetwork(String name) {
        try {
            client.inspectNetworkCmd().withNetworkId(name).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        } catch (RuntimeException e) {
            LOG.debug("cannot inspect network {}: {}", name, DockerEngine.reason(e));
            return false;
        }
    }

    /** The container network mode of a phase of this config: {@code none} when the config turns it off. */
    public String networkMode(WorkspaceConfig config, NetworkPolicy.Phase phase) {
        return config.network().allows(phase) ? onNetworkMode : "none";
    }

    /** e.g. {@code setup: bridge, commands: none}, with the caveat when "on" cannot mean network here. */
    public String describeNetwork(WorkspaceConfig config) {
        String setup = networkMode(config, NetworkPolicy.Phase.SETUP);
        String commands = networkMode(config, NetworkPolicy.Phase.COMMANDS);
        String modes = setup.equals(commands) ? "network mode " + setup
                : "network mode " + setup + " during setup, " + commands + " for commands";
        boolean anyOn = config.network().setup() || config.network().commands();
        return modes + (anyOn && networkCaveat != null ? " (" + networkCaveat + ")" : "");
    }

    /**
     * Parses options, connects to the engine, reaps containers of dead derrick processes and registers a shutdown
     * hook.
     *
     * @throws IllegalArgumentException         for a bad option
     * @throws ProviderUnavailableException naming the engine address when no engine answers
     */
    public static DockerProvider open(Map<String, ?> options, Map<String, String> processEnv) {
        Map<String, String> providerEnv = DockerSettings.environment(options, processEnv);
        DockerSettings settings = DockerSettings.parse(options, providerEnv);
        CacheOptions cacheOptions = CacheOptions.parse(ProviderOptions.of("docker", options, DockerSettings.KEYS), providerEnv);
        DockerEngine engine = DockerEngine.connect(settings);
        DockerProvider provider = new DockerProvider(settings, cacheOptions, engine, providerEnv);
        LOG.info("docker provider session {} on {}", provider.session, engine.describe());
        if (settings.reapOrphans()) {
            provider.reapOrphans();
            provider.cache.collectGarbage();
        }
        if (cacheOptions.enabled() && cacheOptions.eviction().bounded()) {
            provider.cache.store().prune(cacheOptions.eviction()); // entries that aged out while no provider ran
        }
        Runtime.getRuntime().addShutdownHook(provider.shutdownHook);
        return provider;
    }

    @Override
    public String name() {
        return "docker";
    }

    public String session() {
        return session;
    }

    public DockerEngine engine() {
        return engine;
    }

    public DockerSettings settings() {
        return settings;
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        ensureOpen();
        ProgressListener listener = ProgressListener.orNone(progress);
        String image = config.image() != null ? config.image() : settings.defaultImage();
        String id = newId();
        // Token variables are checked before anything is started.
        for (RepositoryConfig repo : config.repositories()) {
            repo.authIfSet().ifPresent(a -> redactor.add(a.resolveToken(providerEnv)));
        }
        ensureImage(image, listener);
        checkCancelled(listener);
        if (!cacheOptions.enabled()) {
            DockerWorkspace workspace = build(id, image, config, listener);
            CachedState state = new CachedState(cache, null, this::startReplacement, settings.setupTimeout());
            workspace.cached(state);
            if (phasesDiffer(config)) {
                // the clean state becomes an image of the workspace's own; its container gets the commands' network
                try {
                    state.markClean(workspace);
                    state.reset(workspace);
                } catch (RuntimeException e) {
                    workspace.close();
                    throw translate(e, config);
                }
            }
            return workspace;
        }
        CacheKey key = DockerCache.key(config, image);
        Optional<CacheStore.Lease> lease = cache.acquire(key);
        AtomicReference<DockerWorkspace> built = new AtomicReference<>();
        for (int attempt = 0; lease.isEmpty(); attempt++) {
            if (attempt >= 3) {
                throw new DerrickException("the cache entry of '" + config.name() + "' disappeared right after it was built");
            }
            cache.flights().run(key, () -> cache.store().find(key).orElseGet(() -> {
                DockerWorkspace workspace = build(id, image, config, listener);
                try {
                    listener.beginTask("commit cache image", ProgressListener.UNKNOWN);
                    CacheStore.Lease mine = cache.publish(key, config, workspace.containerId(), workspace.repositories(),
                            repositoryPaths(workspace, config));
                    listener.endTask();
                    workspace.cached(new CachedState(cache, mine, this::startReplacement, settings.setupTimeout()));
                    if (phasesDiffer(config)) {
                        // setup ran with the setup phase's network; commands get a container with theirs
                        workspace.swapContainer(startReplacement(workspace, mine.entry().payload()));
                    }
                    built.set(workspace);
                    return mine.entry();
                } catch (RuntimeException e) {
                    workspace.close();
                    throw translate(e, config);
                }
            }));
            if (built.get() != null) {
                return built.get();
            }
            lease = cache.acquire(key);
        }
        return fromCache(id, image, config, lease.get(), listener);
    }

    private boolean phasesDiffer(WorkspaceConfig config) {
        return !networkMode(config, NetworkPolicy.Phase.SETUP).equals(networkMode(config, NetworkPolicy.Phase.COMMANDS));
    }

    private static List<String> repositoryPaths(DockerWorkspace workspace, WorkspaceConfig config) {
        return config.repositories().stream().map(r -> workspace.resolve(r.path(), "path")).toList();
    }

    private static String newId() {
        return dev.derrick.api.spi.WorkspaceIds.newId(DockerCache.BACKEND);
    }

    /** A workspace from a cache entry's image, brought up to date with its remotes through the mirrors. */
    private DockerWorkspace fromCache(String id, String image, WorkspaceConfig config, CacheStore.Lease lease,
                                      ProgressListener listener) {
        DockerWorkspace workspace = null;
        CachedState state = new CachedState(cache, lease, this::startReplacement, settings.setupTimeout());
        try {
            listener.beginTask("container from cache image " + lease.entry().details().get("image"), ProgressListener.UNKNOWN);
            workspace = startContainer(id, lease.entry().payload(), config, NetworkPolicy.Phase.COMMANDS);
            listener.endTask();
            workspace.cached(state);
            workspace.repositories(lease.entry().repositories());
            List<RepositoryFetch> fetched;
            dev.derrick.core.cache.Freshness freshness = new dev.derrick.core.cache.Freshness(config, lease.entry().id());
            try {
                fetched = state.fetch(workspace, listener, freshness);
            } catch (OperationNotSupportedException e) {
                LOG.warn("not checking {} for new commits: {}", config.name(), e.getMessage());
                fetched = List.of();
            }
            java.util.Map<String, String> commits = new java.util.HashMap<>();
            workspace.repositories().forEach(r -> commits.put(r.path(), r.commit()));
            freshness.report(commits, cacheOptions.requireFresh());
            if (fetched.stream().anyMatch(RepositoryFetch::updated)) {
                if (config.updateScript() != null) {
                    listener.beginTask("update script", ProgressListener.UNKNOWN);
                    ExecResult r = workspace.runScript(config.updateScript(), settings.setupTimeout());
                    listener.endTask();
                    if (!r.succeeded()) {
                        String output = redactor.redact(r.output());
                        throw new SetupFailedException("update script of workspace config '" + config.name() + "' "
                                + (r.timedOut() ? "timed out" : "exited with code " + r.exitCode()) + tail(output),
                                r.exitCode(), output);
                    }
                }
                state.markClean(workspace);
                boolean stale = false;
                for (RepositoryFetch f : fetched) {
                    RepositoryConfig repo = config.repositories().stream().filter(r -> r.path().equals(f.path()))
                            .findFirst().orElseThrow();
                    stale |= f.updated() && CacheKeyFiles.changed(cache.mirrors().mirrorDir(repo),
                            lease.entry().commitOf(f.path()), f.after(), config.cacheKeyFiles());
                }
                if (stale) {
                    scheduleRebuild(DockerCache.key(config, image), image, config, lease.entry());
                }
            }
            return workspace;
        } catch (RuntimeException e) {
            if (workspace != null) {
                workspace.close();
            } else {
                state.close();
            }
            throw translate(e, config);
        }
    }

    private void scheduleRebuild(CacheKey key, String image, WorkspaceConfig config, CacheEntry stale) {
        LOG.info("{}: a cache key file changed upstream; rebuilding cache entry {} in the background", config.name(),
                key.shortHex());
        try {
            background.submit(() -> {
                try {
                    cache.flights().run(key, () -> {
                        CacheEntry newest = cache.store().find(key).orElse(null);
                        if (newest != null && !newest.generation().equals(stale.generation())) {
                            return newest;
                        }
                        DockerWorkspace workspace = build(newId(), image, config, ProgressListener.NONE);
                        try (CacheStore.Lease fresh = cache.publish(key, config, workspace.containerId(),
                                workspace.repositories(), repositoryPaths(workspace, config))) {
                            return fresh.entry();
                        } finally {
                            workspace.close();
                        }
                    });
                } catch (RuntimeException e) {
                    LOG.warn("background rebuild of {} failed: {}", config.name(), redactor.redact(String.valueOf(e.getMessage())));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("not rebuilding {}: the provider is closing", config.name());
        }
    }

    /** Waits until background rebuilds queued so far are done (tests, benchmarks). */
    public void awaitBackgroundWork() throws Exception {
        // The pool is a cached pool: rebuilds run at once; wait for any single flight to finish.
        for (int i = 0; i < 600 && cache.flights().isAnyRunning(); i++) {
            Thread.sleep(100);
        }
    }

    public DockerCache cache() {
        return cache;
    }

    /** Clones, copies into a new container and runs the setup script: the full, uncached way. */
    private DockerWorkspace build(String id, String image, WorkspaceConfig config, ProgressListener listener) {
        long t0 = System.nanoTime();
        long tImage = t0;
        Path checkouts = tempDir();
        DockerWorkspace workspace = null;
        try {
            // Clone on this side (the container never sees a token) while the container is created and started.
            CompletableFuture<DockerWorkspace> container = CompletableFuture.supplyAsync(
                    () -> startContainer(id, image, config, NetworkPolicy.Phase.SETUP), background);
            List<RepositoryState> states;
            long tClone;
            try {
                states = cloneAll(config, checkouts, listener);
                tClone = System.nanoTime();
            } catch (RuntimeException e) {
                container.handle((ws, err) -> {
                    if (ws != null) {
                        ws.close();
                    }
                    return null;
                }).join();
                throw e;
            }
            workspace = join(container);
            long tContainer = System.nanoTime();
            checkCancelled(listener);
            for (int i = 0; i < config.repositories().size(); i++) {
                RepositoryConfig repo = config.repositories().get(i);
                listener.beginTask("copy " + repo.path() + " into the container", ProgressListener.UNKNOWN);
                upload(workspace, checkouts.resolve(Integer.toString(i)), workspace.resolve(repo.path(), "path"));
                listener.endTask();
            }
            workspace.repositories(states);
            long tCopy = System.nanoTime();
            checkCancelled(listener);
            if (!config.setupScript().isBlank()) {
                listener.beginTask("setup script", ProgressListener.UNKNOWN);
                ExecResult r = workspace.runScript(config.setupScript(), settings.setupTimeout());
                listener.endTask();
                if (!r.succeeded()) {
                    String output = redactor.redact(r.output());
                    String why = r.timedOut() ? "timed out after " + settings.setupTimeout().toSeconds() + " s"
                            : "exited with code " + r.exitCode();
                    throw new SetupFailedException("setup script of workspace config '" + config.name() + "' " + why
                            + tail(output), r.exitCode(), output);
                }
            }
            long tEnd = System.nanoTime();
            LOG.info("workspace {} ready in container {} from {} in {} ms (clone {} ms and container {} ms"
                    + " side by side, copy {} ms, setup {} ms)", id, workspace.containerId().substring(0, 12), image,
                    ms(tEnd - t0), ms(tClone - tImage), ms(tContainer - tImage), ms(tCopy - tContainer),
                    ms(tEnd - tCopy));
            for (int i = 0; i < config.repositories().size(); i++) {
                cache.adoptMirror(config.repositories().get(i), checkouts.resolve(Integer.toString(i)));
            }
            return workspace;
        } catch (RuntimeException e) {
            if (workspace != null) {
                workspace.close();
            }
            throw translate(e, config);
        } finally {
            FileTrees.deleteQuietly(checkouts);
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static DockerWorkspace join(CompletableFuture<DockerWorkspace> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    private RuntimeException translate(RuntimeException e, WorkspaceConfig config) {
        if (e instanceof SetupFailedException || e instanceof InvalidConfigException
                || e instanceof ProviderUnavailableException) {
            return e;
        }
        if (e instanceof GitOperationException g) {
            // Already scrubbed by GitClient; callers tell a rejected token apart by authenticationFailed().
            return g;
        }
        if (e instanceof DerrickException d) {
            return d;
        }
        if (e instanceof DockerException) {
            return new DerrickException("creating a workspace for '" + config.name() + "' failed: "
                    + redactor.redact(DockerWorkspace.firstLine(String.valueOf(e.getMessage()))), e);
        }
        if (isConnectionFailure(e)) {
            return new ProviderUnavailableException("lost the Docker engine at " + engine.address() + ": "
                    + DockerEngine.reason(e), e);
        }
        return new DerrickException("creating a workspace for '" + config.name() + "' failed: "
                + redactor.redact(DockerEngine.reason(e)), e);
    }

    private static boolean isConnectionFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    private List<RepositoryState> cloneAll(WorkspaceConfig config, Path checkouts, ProgressListener listener) {
        List<RepositoryState> states = new ArrayList<>();
        for (int i = 0; i < config.repositories().size(); i++) {
            RepositoryConfig repo = config.repositories().get(i);
            checkCancelled(listener);
            states.add(git.cloneRepository(repo, checkouts.resolve(Integer.toString(i)), listener));
        }
        return states;
    }

    private void ensureImage(String image, ProgressListener listener) {
        try {
            client.inspectImageCmd(image).exec();
            return;
        } catch (NotFoundException e) {
            // pull below
        }
        if (!settings.pull()) {
            throw new InvalidConfigException("image '" + image + "' is not in the Docker engine at " + engine.address()
                    + " and pulling is off (option 'pull')");
        }
        listener.beginTask("pull " + image, ProgressListener.UNKNOWN);
        LOG.info("pulling image {}", image);
        String[] ref = splitImage(image);
        try {
            var pull = client.pullImageCmd(ref[0]);
            if (ref[1] != null) {
                pull.withTag(ref[1]);
            }
            PullCallback callback = pull.exec(new PullCallback());
            if (!callback.awaitCompletion(30, TimeUnit.MINUTES)) {
                callback.close();
                throw new InvalidConfigException("pulling image '" + image + "' took more than 30 minutes");
            }
            if (callback.error != null) {
                throw new DerrickException(DockerEngine.reason(callback.error), callback.error);
            }
            client.inspectImageCmd(image).exec();
        } catch (IOException e) {
            throw new InvalidConfigException("pulling image '" + image + "' failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while pulling image '" + image + "'");
        } catch (RuntimeException e) {
            if (e instanceof InvalidConfigException i) {
                throw i;
            }
            throw new InvalidConfigException("image '" + image + "' is not in the Docker engine at " + engine.address()
                    + " and could not be pulled: " + DockerWorkspace.firstLine(DockerEngine.reason(e)), e);
        } finally {
            listener.endTask();
        }
    }

    /** Records a pull's error instead of logging it; the caller turns it into one clear exception. */
    private static final class PullCallback extends ResultCallback.Adapter<PullResponseItem> {
        private volatile Throwable error;

        @Override
        public void onError(Throwable throwable) {
            error = throwable;
            try {
                close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    /** "repo:tag" → {repo, tag}; a digest stays in the repository part; no tag → "latest". */
    static String[] splitImage(String image) {
        if (image.contains("@")) {
            return new String[] {image, null};
        }
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        if (colon > slash) {
            return new String[] {image.substring(0, colon), image.substring(colon + 1)};
        }
        return new String[] {image, "latest"};
    }

    /** A new container for an existing workspace (reset, restore): same id and labels, started and prepared. */
    private String startReplacement(DockerWorkspace workspace, String image) {
        ensureOpen();
        CreateContainerResponse created = createContainer(workspace.id(),
                "derrick-" + workspace.id() + "-" + UUID.randomUUID().toString().substring(0, 6), image, workspace.config(),
                NetworkPolicy.Phase.COMMANDS);
        try {
            client.startContainerCmd(created.getId()).exec();
            ExecResult probe = new ContainerExec(client, created.getId()).runInternal(
                    List.of("/bin/sh", "-c", "mkdir -p -- \"$1\"", "derrick-probe", settings.root()), Duration.ofSeconds(60));
            if (probe.exitCode() != 0) {
                throw new DerrickException("cannot prepare workspace root " + settings.root() + ": " + probe.output().strip());
            }
            return created.getId();
        } catch (RuntimeException e) {
            DockerWorkspace.removeContainer(client, created.getId());
            throw e;
        }
    }

    private DockerWorkspace startContainer(String id, String image, WorkspaceConfig config, NetworkPolicy.Phase phase) {
        CreateContainerResponse created = createContainer(id, "derrick-" + id, image, config, phase);
        DockerWorkspace workspace = new DockerWorkspace(id, created.getId(), client, settings, config, this::forget,
                this::detached);
        synchronized (workspaces) {
            workspaces.put(id, workspace);
        }
        return startAndProbe(workspace, image);
    }

    private CreateContainerResponse createContainer(String id, String name, String image, WorkspaceConfig config,
                                                    NetworkPolicy.Phase phase) {
        Map<String, String> labels = new LinkedHashMap<>(settings.labels());
        labels.put(LABEL_MANAGED, "true");
        labels.put(LABEL_SESSION, session);
        labels.put(LABEL_WORKSPACE, id);
        labels.put(LABEL_CONFIG, config.name());
        labels.put(LABEL_VERSION, version());
        labels.putAll(owner.labels());
        HostConfig host = HostConfig.newHostConfig().withNetworkMode(networkMode(config, phase));
        if (settings.pidsLimit() > 0) {
            host.withPidsLimit(settings.pidsLimit());
        }
        if (settings.nanoCpus() > 0) {
            host.withNanoCPUs(settings.nanoCpus());
        }
        if (settings.memoryBytes() > 0) {
            host.withMemory(settings.memoryBytes());
        }
        CreateContainerResponse created;
        synchronized (workspaces) {
            // Checked under the lock so close() either sees this container or refuses to create it.
            ensureOpen();
            created = client.createContainerCmd(image)
                    .withName(name)
                    .withLabels(labels)
                    .withEntrypoint("/bin/sh", "-c", KEEP_ALIVE)
                    .withCmd(List.of())
                    .withWorkingDir(settings.root())
                    .withHostConfig(host)
                    .exec();
        }
        return created;
    }

    private DockerWorkspace startAndProbe(DockerWorkspace workspace, String image) {
        try {
            client.startContainerCmd(workspace.containerId()).exec();
            if (!settings.root().equals("/")) {
                workspace.upload(new java.io.ByteArrayInputStream(Tars.directory(settings.root().substring(1))));
            }
            return workspace;
        } catch (RuntimeException e) {
            workspace.close();
            String message = String.valueOf(e.getMessage());
            if (message.contains("/bin/sh") && message.contains("no such file")) {
                throw new InvalidConfigException("image '" + image + "' has no /bin/sh, which derrick needs to run commands");
            }
            throw e;
        }
    }

    private void upload(DockerWorkspace workspace, Path checkout, String containerPath) {
        try (PipedInputStream in = new PipedInputStream(1 << 16);
             PipedOutputStream out = new PipedOutputStream(in)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (out) {
                    Tars.writeTree(checkout, containerPath.substring(1), out);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, background);
            try {
                workspace.upload(in);
            } finally {
                in.close();
            }
            writer.join();
        } catch (IOException e) {
            throw new DerrickException("copying " + containerPath + " into the container failed: " + e.getMessage(), e);
        } catch (java.util.concurrent.CompletionException e) {
            throw new DerrickException("copying " + containerPath + " into the container failed: "
                    + DockerEngine.reason(e), e);
        }
    }

    @Override
    public List<Workspace> list() {
        synchronized (workspaces) {
            return List.copyOf(workspaces.values());
        }
    }

    private void forget(DockerWorkspace workspace) {
        synchronized (workspaces) {
            workspaces.remove(workspace.id(), workspace);
        }
    }

    /** Forgets a detached workspace and keeps its containers out of {@link #removeSessionContainers()}. */
    private void detached(DockerWorkspace workspace) {
        detached.add(workspace.id());
        forget(workspace);
    }

    /**
     * Removes containers of derrick sessions whose owner process is gone (killed, or ended with detached workspaces),
     * and the checkpoint images of their workspaces. Returns how many containers.
     */
    public int reapOrphans() {
        int removed = 0;
        try {
            List<Container> containers = client.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(LABEL_MANAGED, "true")).exec();
            for (Container c : containers) {
                Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
                if (session.equals(labels.get(LABEL_SESSION)) || !owner.isDeadOwner(labels)) {
                    continue;
                }
                LOG.info("removing orphaned container {} (workspace {}, owner pid {} on {} is gone)",
                        c.getId().substring(0, 12), labels.get(LABEL_WORKSPACE), labels.get(Owner.LABEL_PID),
                        labels.get(Owner.LABEL_HOST));
                DockerWorkspace.removeContainer(client, c.getId());
                String workspace = labels.get(LABEL_WORKSPACE);
                if (workspace != null) {
                    removeCheckpointImages(workspace);
                }
                removed++;
            }
        } catch (RuntimeException e) {
            LOG.warn("could not look for orphaned containers: {}", DockerEngine.reason(e));
        }
        return removed;
    }

    private void removeCheckpointImages(String workspaceId) {
        try {
            for (var image : client.listImagesCmd().withLabelFilter(Map.of(DockerCache.LABEL_CHECKPOINT, workspaceId)).exec()) {
                cache.removeImageQuietly(image.getId());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not remove the checkpoint images of workspace {}: {}", workspaceId, DockerEngine.reason(e));
        }
    }

    /** Removes every container labelled with this session, except those of detached workspaces. */
    void removeSessionContainers() {
        try {
            List<Container> containers = client.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(LABEL_SESSION, session)).exec();
            for (Container c : containers) {
                Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
                if (detached.contains(labels.get(LABEL_WORKSPACE))) {
                    continue;
                }
                DockerWorkspace.removeContainer(client, c.getId());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not remove the containers of session {}: {}", session, DockerEngine.reason(e));
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<DockerWorkspace> open;
        synchronized (workspaces) {
            open = new ArrayList<>(workspaces.values());
        }
        open.parallelStream().forEach(DockerWorkspace::close);
        removeSessionContainers();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // shutting down: the hook runs anyway
        }
        background.shutdown();
        engine.close();
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new DerrickException("the docker provider was closed");
        }
    }

    private static void checkCancelled(ProgressListener listener) {
        if (listener.isCancelled()) {
            throw new DerrickException("workspace creation was cancelled");
        }
    }

    private static String tail(String output) {
        String s = output.strip();
        if (s.isEmpty()) {
            return "";
        }
        String[] lines = s.split("\n");
        int from = Math.max(0, lines.length - 10);
        return ":\n" + String.join("\n", java.util.Arrays.asList(lines).subList(from, lines.length));
    }

    static String version() {
        String v = DockerProvider.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("derrick-docker-");
        } catch (IOException e) {
            throw new DerrickException("cannot create a temporary directory for cloning: " + e.getMessage(), e);
        }
    }
}
