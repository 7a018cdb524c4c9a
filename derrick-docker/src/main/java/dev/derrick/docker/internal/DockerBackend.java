package dev.derrick.docker.internal;

import dev.derrick.api.ExecResult;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.BaseRequest;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.api.spi.Snapshot;
import dev.derrick.api.spi.WorkspaceIds;
import dev.derrick.core.provision.LeasedSnapshot;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Predicate;

/**
 * The docker backend's part of provisioning ({@link ProvisioningBackend}; the flow is {@code Provisioner}'s): a base
 * is the setup container (network of the setup phase), started while the repositories are cloned on the provider
 * side and then copied in; a snapshot is a commit of it to an image; a workspace from a snapshot is a container of
 * that image, brought up to date through provider-side mirrors. The context of a create is its config.
 */
final class DockerBackend implements ProvisioningBackend<WorkspaceConfig, DockerWorkspace, DockerWorkspace> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DockerBackend.class);
    private final DockerSettings settings;
    private final DockerCache cache;
    private final Images images;
    private final Containers containers;
    private final DockerFailures failures;
    private final Executor io;
    /** Whether a config's setup and commands phases get different networks (its setup container is not its own). */
    private final Predicate<WorkspaceConfig> phasesDiffer;
    /** Container starts of forks, a few at a time. */
    private static final java.util.concurrent.ExecutorService FORKS = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "derrick-docker-fork");
        t.setDaemon(true);
        return t;
    });
    /** The engine running this backend: a workspace's reset goes through it. */
    private volatile ProvisioningEngine<WorkspaceConfig, DockerWorkspace> engine;

    DockerBackend(DockerSettings settings, DockerCache cache, Images images, Containers containers,
                  DockerFailures failures, Executor io, Predicate<WorkspaceConfig> phasesDiffer) {
        this.settings = settings;
        this.cache = cache;
        this.images = images;
        this.containers = containers;
        this.failures = failures;
        this.io = io;
        this.phasesDiffer = phasesDiffer;
    }

    /** Called once, by the provider, with the engine made for this backend. */
    void engine(ProvisioningEngine<WorkspaceConfig, DockerWorkspace> engine) {
        this.engine = engine;
    }

    private CachedState cachedState(CachedSnapshot snapshot) {
        return new CachedState(cache, snapshot == null ? null : ((LeasedSnapshot) snapshot).lease(),
                containers::replacement, (w, moved) -> engine.reset(w.config(), w, w.config(), moved));
    }

    /**
     * {@link DockerWorkspace#fork}: one commit of the source (not paused: see {@link DockerCache#commit}; processes
     * that write while it is taken may leave a torn file), then {@code count} containers of it, each tagged
     * with the fork's own name for the commit and the clean image, so that any of them can go first. All or nothing.
     */
    List<dev.derrick.api.Workspace> fork(DockerWorkspace source, int count) {
        long start = System.nanoTime();
        CachedState state = source.cached();
        String forkTag = "fork-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        String base = cache.commit(source.containerId(), source.id(), forkTag, false);
        List<DockerWorkspace> made = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        List<String> strayTags = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        List<java.util.concurrent.CompletableFuture<DockerWorkspace>> starts = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            // containers start side by side: each is a create, a start and a root probe on the engine
            starts.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                String id = WorkspaceIds.newId(DockerCache.BACKEND);
                String baseTag = cache.tag(base, "derrick-checkpoint/" + id, "base");
                strayTags.add(baseTag);
                DockerWorkspace ws = containers.start(id, base, source.config(), NetworkPolicy.Phase.COMMANDS);
                made.add(ws);
                ws.cached(state.forkFor(id, state.leaseAgain(), baseTag));
                strayTags.remove(baseTag); // the fork's now: removed when it closes
                ws.repositories(source.repositoriesAtClean());
                ws.repositories(source.repositories());
                ws.forkWith(this::fork);
                return ws;
            }, FORKS));
        }
        List<DockerWorkspace> ordered;
        try {
            ordered = dev.derrick.core.Futures.joinAll(starts);
        } catch (RuntimeException e) {
            new java.util.ArrayList<>(made).forEach(DockerWorkspace::close);
            new java.util.ArrayList<>(strayTags).forEach(cache::removeImageQuietly);
            throw e;
        } finally {
            cache.removeImageQuietly("derrick-checkpoint/" + source.id() + ":" + forkTag); // untags: the forks' tags hold it
        }
        LOG.info("workspace {} forked into {} in {} ms", source.id(), ordered.stream().map(DockerWorkspace::id).toList(),
                (System.nanoTime() - start) / 1_000_000);
        return List.copyOf(ordered);
    }

    @Override
    public String name() {
        return DockerCache.BACKEND;
    }

    private String image(WorkspaceConfig config) {
        return config.image() != null ? config.image() : settings.defaultImage();
    }

    @Override
    public WorkspaceConfig prepare(WorkspaceConfig context, WorkspaceConfig config, ProgressListener progress) {
        String image = image(config);
        images.ensure(image, progress);
        return config.withImage(image); // the key of a config whose image has been resolved
    }

    @Override
    public DockerWorkspace makeBase(WorkspaceConfig context, BaseRequest request, ProgressListener progress) {
        return containers.start(request.workspaceId(), image(request.config()), request.config(), NetworkPolicy.Phase.SETUP);
    }

    @Override
    public boolean startsBaseWhileCloning() {
        return true; // clone on this side (the container never sees a token) while the container starts
    }

    @Override
    public void addRepository(DockerWorkspace base, RepositoryConfig repository, Path checkout, ProgressListener progress) {
        TarUpload.tree(base, checkout, base.resolve(repository.path(), "path"), io);
        cache.adoptMirror(repository, checkout); // later fetches negotiate with the mirror instead of cloning
    }

    @Override
    public void cloned(WorkspaceConfig context, DockerWorkspace base, List<RepositoryState> states) {
        base.repositories(states);
    }

    @Override
    public ExecResult runStep(WorkspaceConfig context, DockerWorkspace base, String script, WorkspaceConfig config) {
        return base.runScript(script, settings.setupTimeout());
    }

    @Override
    public java.time.Duration stepTimeout() {
        return settings.setupTimeout();
    }

    @Override
    public Snapshot snapshot(DockerWorkspace base, BaseRequest request) {
        List<String> paths = request.config().repositories().stream().map(r -> base.resolve(r.path(), "path")).toList();
        return cache.commit(request.cacheKey(), request.generation(), request.config(), base.containerId(), paths);
    }

    @Override
    public Optional<DockerWorkspace> adopt(WorkspaceConfig context, DockerWorkspace base, CachedSnapshot snapshot,
                                           List<RepositoryState> states, ProgressListener progress) {
        CachedState state = cachedState(snapshot);
        base.cached(state);
        base.forkWith(this::fork);
        if (phasesDiffer.test(base.config())) {
            if (snapshot == null) {
                // the clean state becomes an image of the workspace's own; its container gets the commands' network
                state.markClean(base);
                state.reset(base);
            } else {
                // setup ran with the setup phase's network; commands get a container with theirs
                base.swapContainer(containers.replacement(base, snapshot.payload()));
            }
        }
        return Optional.of(base);
    }

    @Override
    public void discardBase(DockerWorkspace base) {
        base.close();
    }

    @Override
    public DockerWorkspace instantiate(WorkspaceConfig config, CachedSnapshot snapshot, boolean builtNow,
                                       ProgressListener progress) {
        progress.beginTask("container from cache image " + snapshot.details().get("image"), ProgressListener.UNKNOWN);
        DockerWorkspace workspace = containers.start(WorkspaceIds.newId(DockerCache.BACKEND), snapshot.payload(), config,
                NetworkPolicy.Phase.COMMANDS);
        progress.endTask();
        workspace.cached(cachedState(snapshot));
        workspace.forkWith(this::fork);
        workspace.repositories(snapshot.repositories());
        return workspace;
    }

    @Override
    public Optional<RepositoryFetch> fetch(DockerWorkspace workspace, RepositoryConfig repository, ProgressListener progress) {
        return Optional.of(workspace.cached().fetchForCreate(workspace, repository, progress));
    }

    @Override
    public Path gitDirectory(DockerWorkspace workspace, RepositoryConfig repository) {
        return cache.mirrors().mirrorDir(repository);
    }

    @Override
    public void fetched(DockerWorkspace workspace, List<RepositoryFetch> fetches, Set<String> unreachable) {
        CachedState.record(workspace, fetches, unreachable);
    }

    @Override
    public List<RepositoryState> repositories(DockerWorkspace workspace) {
        return workspace.repositories();
    }

    @Override
    public ExecResult runUpdate(WorkspaceConfig context, DockerWorkspace workspace, String script) {
        return workspace.runScript(script, settings.setupTimeout());
    }

    @Override
    public void markClean(DockerWorkspace workspace) {
        workspace.cached().markClean(workspace);
    }

    @Override
    public void restoreClean(WorkspaceConfig context, DockerWorkspace workspace) {
        workspace.cached().restoreClean(workspace);
    }

    @Override
    public RepositoryFetch fetchTo(DockerWorkspace workspace, RepositoryConfig repository, String commit,
                                   ProgressListener progress) {
        return workspace.cached().fetchTo(workspace, repository, commit);
    }

    @Override
    public void discardWorkspace(DockerWorkspace workspace) {
        workspace.close(); // and with it the cache state's lease
    }

    @Override
    public boolean snapshotExists(String payload) {
        return cache.imageExists(payload);
    }

    @Override
    public void deleteSnapshot(String payload) {
        cache.removeImageQuietly(payload);
    }

    @Override
    public RuntimeException translate(RuntimeException failure, WorkspaceConfig config) {
        return failures.translate(failure, config);
    }
}
