package dev.derrick.local.internal.cache;

import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.BaseRequest;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.Snapshot;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.git.GitClient;
import dev.derrick.core.provision.Failures;
import dev.derrick.core.provision.LeasedSnapshot;
import org.eclipse.jgit.lib.ObjectId;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The local backend's part of provisioning ({@link ProvisioningBackend}): a base is a directory on this machine — the
 * pending cache entry's {@code snapshot/} or, with the cache off, the workspace root itself — and a workspace from a
 * snapshot is a {@link LocalInstance} (overlay mount or copy). The engine ({@code Provisioner}) does the rest.
 */
public final class LocalBackend implements ProvisioningBackend<LocalBackend.Create, LocalBackend.Base, LocalBackend.Built> {
    /** The backend name in cache keys. */
    public static final String NAME = "local";

    /**
     * One create.
     *
     * @param root   the workspace root to make (must be empty or absent with the cache on; exists with it off)
     * @param setup  runs the setup script in a base directory
     * @param update runs the update script in the workspace root
     * @param config the config (for the update script's env)
     */
    public record Create(Path root, SetupRunner setup, SetupRunner update, WorkspaceConfig config) {
    }

    /** A base: a directory, and whether it is a cache entry's snapshot. */
    public record Base(Path dir, boolean cached) {
    }

    /**
     * What a create made: with the cache on, the instance (its repositories are read from disk); with it off, only
     * the cloned states (the root is the workspace's).
     */
    public record Built(LocalInstance instance, List<RepositoryState> states) {
    }

    private final LocalCache cache;
    private final GitClient git;
    private final Consumer<Path> handOver;
    private final boolean sandboxed;
    private final Duration setupTimeout;
    private final Failures failures;

    /**
     * @param cache        the cache whose instances this makes ({@code null}: the cache is off)
     * @param handOver     gives a directory the provider (JGit) wrote into to the sandbox user
     * @param sandboxed    whether commands run in sandboxes (a snapshot then gets the sandbox's mount points)
     * @param setupTimeout for the message of a timed-out script ({@code null}: not said)
     */
    public LocalBackend(LocalCache cache, GitClient git, Consumer<Path> handOver, boolean sandboxed, Duration setupTimeout) {
        this.cache = cache;
        this.git = git;
        this.handOver = handOver == null ? dir -> { } : handOver;
        this.sandboxed = sandboxed;
        this.setupTimeout = setupTimeout;
        this.failures = new Failures(git.redactor());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Base makeBase(Create context, BaseRequest request, ProgressListener progress) {
        if (request.entryDirectory() == null) {
            return new Base(context.root(), false);
        }
        Path snapshot = request.entryDirectory().resolve(LocalCache.SNAPSHOT);
        try {
            Files.createDirectories(snapshot);
        } catch (IOException e) {
            throw new dev.derrick.api.SetupFailedException("cannot prepare the cache directory: " + e.getMessage(), e);
        }
        return new Base(snapshot, true);
    }

    @Override
    public Optional<Path> hostDirectory(Base base) {
        return Optional.of(base.dir());
    }

    @Override
    public void cloned(Create context, Base base, List<RepositoryState> states) {
        if (!base.cached()) {
            return; // the root: the setup runner hands it over itself
        }
        handOver.accept(base.dir());
        if (context.config().setupScript().isBlank() && sandboxed) {
            // the sandbox's mount points (usr, etc, proc, dev, tmp, home, bin…) belong to the clean state, so that a
            // workspace's sandbox adds nothing a diff or reset would see
            ExecResult result = context.setup().run(base.dir(), "true", context.config().env(), ProgressListener.NONE);
            if (!result.succeeded()) {
                throw failures.script("preparing the sandbox", context.config(), result, setupTimeout);
            }
        }
    }

    @Override
    public ExecResult runStep(Create context, Base base, String script, WorkspaceConfig config) {
        return context.setup().run(base.dir(), script, config.env(), ProgressListener.NONE);
    }

    @Override
    public Duration stepTimeout() {
        return setupTimeout;
    }

    @Override
    public Snapshot snapshot(Base base, BaseRequest request) {
        return new Snapshot(LocalCache.SNAPSHOT, FileTrees.size(base.dir()), Map.of());
    }

    @Override
    public Optional<Built> adopt(Create context, Base base, CachedSnapshot snapshot, List<RepositoryState> states,
                                 ProgressListener progress) {
        // with the cache off the root is the workspace; a snapshot is the entry's: workspaces are made from it
        return base.cached() ? Optional.empty() : Optional.of(new Built(null, states));
    }

    @Override
    public void discardBase(Base base) {
        // a snapshot goes with its pending entry; the root with the workspace, which its provider closes
    }

    @Override
    public Built instantiate(Create context, CachedSnapshot snapshot, boolean builtNow, ProgressListener progress) {
        LocalInstance instance = LocalInstance.open(cache, context.config(), ((LeasedSnapshot) snapshot).lease(),
                context.root(), cache.instancesDir(), cache.usesOverlay(), progress, context.update());
        if (builtNow) {
            instance.rememberCloned(); // cloned just now: as fresh as the remote
        }
        return new Built(instance, null);
    }

    @Override
    public Optional<RepositoryFetch> fetch(Built workspace, RepositoryConfig repository, ProgressListener progress) {
        if (repository.reference() != null && ObjectId.isId(repository.reference())) {
            return Optional.empty(); // pinned to a commit: nothing to fetch
        }
        return Optional.of(git.fetch(workspace.instance().root().resolve(repository.path()), repository, progress));
    }

    @Override
    public Path gitDirectory(Built workspace, RepositoryConfig repository) {
        return workspace.instance().root().resolve(repository.path());
    }

    @Override
    public void fetched(Built workspace, List<RepositoryFetch> fetches, Set<String> unreachable) {
        if (fetches.stream().anyMatch(RepositoryFetch::updated)) {
            handOver.accept(workspace.instance().root());
        }
        workspace.instance().remember(fetches, unreachable);
    }

    @Override
    public List<RepositoryState> repositories(Built workspace) {
        return workspace.instance().repositories();
    }

    @Override
    public ExecResult runUpdate(Create context, Built workspace, String script) {
        return context.update().run(workspace.instance().root(), script, context.config().env(), ProgressListener.NONE);
    }

    @Override
    public void markClean(Built workspace) {
        workspace.instance().markClean();
    }

    @Override
    public void restoreClean(Create context, Built workspace) {
        workspace.instance().restoreClean();
    }

    @Override
    public RepositoryFetch fetchTo(Built workspace, RepositoryConfig repository, String commit, ProgressListener progress) {
        return workspace.instance().fetchTo(repository, commit);
    }

    @Override
    public void discardWorkspace(Built workspace) {
        if (workspace.instance() != null) {
            workspace.instance().close(); // unmounts, deletes the root and the bookkeeping, releases the lease
        }
    }
}
