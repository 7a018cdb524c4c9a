package dev.derrick.api.spi;

import dev.derrick.api.ExecResult;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a backend implements so that the {@linkplain ProvisioningEngine provisioning engine} can create its workspaces:
 * operations on the backend's payload only. The engine owns everything else, once for every backend: the cache key,
 * the lease on a cache entry, the retries when an entry vanishes, the single flight (one build per key at a time),
 * cloning with the provider's tokens, running the setup script, publishing the entry, create-time fetch, the update
 * script, recording the clean state, the background rebuild when a {@code cache_key_files} file changed, cancellation,
 * progress, redaction of tokens and the exceptions a create throws.
 *
 * <h2>The flow, as the engine runs it</h2>
 * <pre>
 *   config'  = prepare(ctx, config)                   key = hash(name(), config')
 *   cache hit:   w = instantiate(ctx, snapshot, false) ; per repository fetch(w, repo) ; fetched(w, …)
 *                [something moved] runUpdate(w, update_script) ; markClean(w)
 *                [a cache_key_files file moved] background: build as below, publish, discardBase
 *   cache miss (this caller leads the single flight; others wait for its entry):
 *                b = makeBase(ctx, request)  — with startsBaseWhileCloning(), alongside the clones
 *                clone each repository into hostDirectory(b), or into a provider-side directory + addRepository(b, …)
 *                cloned(ctx, b, states) ; runStep(ctx, b, setup_script)
 *                s = snapshot(b, request) ; publish ; adopt(ctx, b, snapshot, states) or discardBase(b) + instantiate(ctx, snapshot, true)
 *   cache off:   b = makeBase(…) as above, without an entry directory ; adopt(ctx, b, null, states)
 *
 *   reset (engine.reset, from the backend's workspace): restoreClean(ctx, w)
 *                [a fetch moved repositories since] per repository fetchTo(w, repo, commit) ; fetched(w, …)
 *                [one moved] runUpdate(w, update_script) ; markClean(w)
 * </pre>
 * On any failure the engine calls {@link #discardWorkspace} or {@link #discardBase} on what exists, then throws a
 * {@code DerrickException} whose message it wrote (scrubbed of tokens). Methods may throw unchecked exceptions; the
 * engine turns those that are not a {@code DerrickException} into one, asking {@link #translate} first.
 *
 * <p>Only JDK and derrick-api types appear here: a third-party backend needs nothing else to compile. Thread safety:
 * the engine calls these methods from several threads at once (concurrent creates, background rebuilds), never twice
 * at once for the same base or workspace.
 *
 * @param <C> per-create context the backend needs (a workspace directory, a runner): passed through from
 *            {@link ProvisioningEngine#create} untouched; a background rebuild reuses the context of the create that
 *            triggered it
 * @param <B> a base: where a clean state is built (a started container, a directory)
 * @param <W> a workspace the engine hands back to the backend's provider
 */
public interface ProvisioningBackend<C, B, W> {

    /** The backend's name in cache keys and the cache directory ({@code local}, {@code docker}): stable, lowercase. */
    String name();

    /**
     * Called first, before anything is made: checks the config can work here (throw {@code InvalidConfigException})
     * and returns it as its cache key should see it (a resolved default image, say). The other methods get the
     * original config. The default returns the config.
     */
    default WorkspaceConfig prepare(C context, WorkspaceConfig config, ProgressListener progress) {
        return config;
    }

    /**
     * Makes an empty base to build a clean state in.
     *
     * @param request what the base is for; {@link BaseRequest#entryDirectory()} is where a payload that is files
     *                belongs (it becomes the cache entry's directory on publish), {@code null} when the cache is off
     */
    B makeBase(C context, BaseRequest request, ProgressListener progress);

    /**
     * Whether {@link #makeBase} may run on another thread while the engine clones on the provider side (a container
     * starting). Then repositories arrive through {@link #addRepository}. The default is {@code false}.
     */
    default boolean startsBaseWhileCloning() {
        return false;
    }

    /**
     * A directory on this machine that is the base's root, when it has one: the engine clones straight into it
     * (never with {@link #startsBaseWhileCloning()}). The default is empty: clones go through {@link #addRepository}.
     */
    default Optional<Path> hostDirectory(B base) {
        return Optional.empty();
    }

    /**
     * Copies a provider-side checkout into the base at the repository's path. Needed unless {@link #hostDirectory}
     * gives a directory. Afterwards the backend may keep the checkout (move it away, as a fetch mirror); the engine
     * deletes what is left.
     */
    default void addRepository(B base, RepositoryConfig repository, Path checkout, ProgressListener progress) {
        throw new OperationNotSupportedException("backend " + name() + " has no host directory and cannot add repositories");
    }

    /** Every repository is in the base, at these states; the setup script has not run. The default does nothing. */
    default void cloned(C context, B base, List<RepositoryState> states) {
    }

    /** Runs one step of building a clean state (the setup script) in the base, with the config's env. */
    ExecResult runStep(C context, B base, String script, WorkspaceConfig config);

    /** How long a step or update script may run, for the message when one times out; {@code null}: not said. */
    default Duration stepTimeout() {
        return null;
    }

    /**
     * Captures the base's state as a cache entry's payload. A base whose payload is files writes (or already has)
     * them under {@link BaseRequest#entryDirectory()}. The base stays usable.
     */
    Snapshot snapshot(B base, BaseRequest request);

    /**
     * Makes a workspace of the base itself, sparing a new one: after its snapshot was published ({@code snapshot}
     * leased for it; the workspace then owns it and closes it when it goes), or with the cache off
     * ({@code snapshot == null}). Empty: the engine discards the base and {@linkplain #instantiate instantiates} from
     * the snapshot instead (with the cache off, that is an error: implement this).
     */
    default Optional<W> adopt(C context, B base, CachedSnapshot snapshot, List<RepositoryState> states,
                              ProgressListener progress) {
        return Optional.empty();
    }

    /** Throws a base away (a failed build, a background rebuild after publishing). Must not throw. */
    void discardBase(B base);

    /**
     * Makes a workspace from a published snapshot. The workspace owns {@code snapshot}'s lease from here on and closes
     * it when the workspace goes.
     *
     * @param builtNow whether this create built the entry just now (its repositories are as fresh as the remotes)
     */
    W instantiate(C context, CachedSnapshot snapshot, boolean builtNow, ProgressListener progress);

    /**
     * Brings one repository of a workspace made from a snapshot up to date with its remote (fast-forward only).
     *
     * @return the outcome, or empty when there is nothing to fetch (pinned to a commit)
     * @throws dev.derrick.api.GitOperationException when the remote cannot be reached: the engine records it and
     *                                               goes on (or fails with {@code require_fresh})
     * @throws OperationNotSupportedException        when the workspace cannot fetch at all: the engine logs a WARN
     *                                               and hands it out as it is
     */
    Optional<RepositoryFetch> fetch(W workspace, RepositoryConfig repository, ProgressListener progress);

    /**
     * A git repository on this machine holding a repository's fetched commits (the workspace's own checkout, a
     * mirror), for the engine's {@code cache_key_files} comparison; {@code null}: not compared. Default {@code null}.
     */
    default Path gitDirectory(W workspace, RepositoryConfig repository) {
        return null;
    }

    /**
     * What the create's fetch found, for the workspace's {@code info()}: the outcomes and the paths whose remote could
     * not be reached. Called once per create from a snapshot, before any update script. The default does nothing.
     */
    default void fetched(W workspace, List<RepositoryFetch> fetches, Set<String> unreachable) {
    }

    /** The workspace's repositories as they are now (for the message about a repository left behind). */
    List<RepositoryState> repositories(W workspace);

    /** Runs the update script in the workspace (the commands phase). */
    ExecResult runUpdate(C context, W workspace, String script);

    /** Records the workspace's current state as its clean state: what its reset returns to. */
    void markClean(W workspace);

    /**
     * Returns a workspace to its clean state: the one {@link #markClean} last recorded for it, else the snapshot it
     * was made from — files, and whatever else the backend's payload holds (a container's processes). The first step
     * of the engine's {@link ProvisioningEngine#reset}. The default: the backend cannot reset.
     */
    default void restoreClean(C context, W workspace) {
        throw new OperationNotSupportedException("backend " + name() + " cannot reset a workspace");
    }

    /**
     * Moves one repository of a workspace to exactly {@code commit}, a commit an earlier fetch of this workspace
     * brought (a reset returning to the commits its fetches moved to): fast-forward only; the commit's objects may
     * have to be fetched again when they went with the discarded state. Needed for
     * {@link ProvisioningEngine#reset} with fetched commits; the default cannot.
     *
     * @return the outcome ({@code updated} when the repository moved)
     */
    default RepositoryFetch fetchTo(W workspace, RepositoryConfig repository, String commit, ProgressListener progress) {
        throw new OperationNotSupportedException("backend " + name() + " cannot return a repository to a fetched commit");
    }

    /** Throws a workspace away whose create failed, with its lease. Must not throw. */
    void discardWorkspace(W workspace);

    /** Whether a published payload still exists (an image removed behind derrick's back). Default {@code true}. */
    default boolean snapshotExists(String payload) {
        return true;
    }

    /** Deletes what of a payload lives outside its entry directory (an image), when the entry goes. Default: nothing. */
    default void deleteSnapshot(String payload) {
    }

    /**
     * The backend's own reading of a failure that is not a {@code DerrickException} (its client library's
     * exception, a lost connection), or {@code null} to let the engine say "creating a workspace failed". The
     * message must hold no secret.
     */
    default RuntimeException translate(RuntimeException failure, WorkspaceConfig config) {
        return null;
    }
}
