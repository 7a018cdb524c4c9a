package dev.derrick.local.internal.cache;

import dev.derrick.api.ProgressListener;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.git.GitClient;
import dev.derrick.core.provision.Provisioner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The local backend's provisioning cache. A cache entry is a snapshot directory of a workspace's clean state (the
 * repositories cloned, the setup script run) under {@code cacheDir/local/}. {@link #create} makes a workspace root
 * from the newest entry of the config's key — building the entry first, once, when there is none — by an overlay
 * mount (Linux as root: O(1) in repository size) or a copy, then fetches upstream commits the entry lacks. The flow is
 * {@link Provisioner}'s; this class holds the store and the options, and {@link LocalBackend} the local payload.
 */
public final class LocalCache implements AutoCloseable {
    /** The backend name in cache keys. */
    public static final String BACKEND = LocalBackend.NAME;
    private static final Logger LOG = LoggerFactory.getLogger(LocalCache.class);
    static final String SNAPSHOT = "snapshot";

    /** How a workspace is made from a snapshot. */
    public enum Mode {
        /** Overlay where possible, else copy. */
        AUTO,
        /** Linux overlayfs: snapshot as the lower layer, a per-workspace upper layer. Needs root. */
        OVERLAY,
        /** A copy of the snapshot ({@code cp -a --reflink=auto}). */
        COPY;

        public static Mode parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cache mode must be auto, overlay or copy, got '" + text + "'");
            }
        }
    }

    private final CacheStore store;
    private final GitClient git;
    private final boolean overlayPossible;
    private final Path instancesDir;
    private final boolean linkGitObjects;
    private final Provisioner<LocalBackend.Create, LocalBackend.Base, LocalBackend.Built> engine;

    /**
     * @param cacheDir the cache directory ({@code cache_dir} option)
     * @param git      the provider's git client (its environment holds the tokens)
     * @param mode     how to make workspaces from snapshots
     * @param eviction bounds applied after every new entry
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction) {
        this(cacheDir, git, mode, eviction, false, null, true, null);
    }

    /**
     * @param requireFresh   whether a create that cannot bring every repository up to date with its remote fails
     *                       (else it logs a WARN and {@code info()} reports the repository as behind)
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction, boolean requireFresh) {
        this(cacheDir, git, mode, eviction, requireFresh, null, true, null);
    }

    /**
     * @param requireFresh   as above
     * @param handOver       called on a directory after the provider (JGit) wrote into it, before any script runs
     *                       there or a workspace uses it: gives it to the sandbox user ({@code null}: nothing)
     * @param linkGitObjects whether copies share the snapshot's git objects by hard link (not with a sandbox: a
     *                       command owning the shared inode could make it writable and change the snapshot)
     * @param setupTimeout   the scripts' timeout, for the message when one runs out ({@code null}: not said)
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction, boolean requireFresh,
                      Consumer<Path> handOver, boolean linkGitObjects, java.time.Duration setupTimeout) {
        this.linkGitObjects = linkGitObjects;
        this.store = new CacheStore(cacheDir, BACKEND, null);
        this.instancesDir = cacheDir.toAbsolutePath().normalize().resolve("local-instances");
        this.git = Objects.requireNonNull(git, "git");
        Objects.requireNonNull(mode, "mode");
        EvictionPolicy bounds = eviction == null ? EvictionPolicy.NONE : eviction;
        this.overlayPossible = mode != Mode.COPY && Overlay.possible();
        if (mode == Mode.OVERLAY && !overlayPossible) {
            throw new IllegalArgumentException("cache mode 'overlay' needs Linux, root and overlayfs; use 'auto' or 'copy'");
        }
        this.engine = new Provisioner<>(new LocalBackend(this, git, handOver, handOver != null, setupTimeout),
                Provisioner.Settings.of(store, bounds, requireFresh, git));
        // Instances first: an overlay mount of a dead process must be gone before its entry's snapshot can go.
        int collected = LocalInstance.reapStale(instancesDir);
        collected += store.collectGarbage();
        store.recordPolicy(bounds);
        if (bounds.bounded()) {
            collected += store.prune(bounds).size(); // entries that aged out while no provider ran
        }
        if (collected > 0) {
            LOG.info("removed {} leftover(s) of interrupted work from {}", collected, store.directory());
        }
    }

    /** The engine that creates workspaces through this cache. */
    public Provisioner<LocalBackend.Create, LocalBackend.Base, LocalBackend.Built> engine() {
        return engine;
    }

    /** The store, for listing and pruning. */
    public CacheStore store() {
        return store;
    }

    /** Whether new workspaces will be overlay mounts. */
    public boolean usesOverlay() {
        return overlayPossible;
    }

    /**
     * Makes a workspace root at {@code root} (which must not exist) in the config's clean state, bringing its
     * repositories up to date with their remotes (see {@link Provisioner}).
     *
     * @throws SetupFailedException when cloning or the setup script fails (nothing is cached)
     */
    public LocalInstance create(WorkspaceConfig config, Path root, SetupRunner runner, ProgressListener progress) {
        return engine.create(new LocalBackend.Create(root, runner, runner, config), config, progress).instance();
    }

    /** Waits briefly for a background rebuild, then stops. */
    @Override
    public void close() {
        engine.close();
    }

    /** Waits for queued background rebuilds (tests, benchmarks). */
    public void awaitBackgroundWork(long timeout, TimeUnit unit) throws Exception {
        engine.awaitBackgroundWork(java.time.Duration.ofMillis(unit.toMillis(timeout)));
    }

    Path instancesDir() {
        return instancesDir;
    }

    GitClient git() {
        return git;
    }

    boolean linkGitObjects() {
        return linkGitObjects;
    }
}
