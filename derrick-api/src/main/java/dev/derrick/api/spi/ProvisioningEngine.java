package dev.derrick.api.spi;

import dev.derrick.api.ProgressListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.WorkspaceConfig;

import java.time.Duration;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Creates workspaces for a {@link ProvisioningBackend}: the whole create flow (cache key, lease, single flight, clone,
 * setup, publish, instantiate, fetch, update script, clean state, {@code cache_key_files} rebuild, cancellation,
 * progress, redaction, errors), once for every backend. Derrick's implementation lives in {@code derrick-core}
 * ({@code dev.derrick.core.provision.Provisioner}) and is found with {@link ServiceLoader}, so a backend compiled
 * against derrick-api alone uses it:
 *
 * <pre>{@code
 * public WorkspaceProvider open(Map<String, ?> options) {          // in a WorkspaceProviderFactory
 *     MyBackend backend = new MyBackend(options);
 *     ProvisioningEngine<MyContext, MyWorkspace> engine = ProvisioningEngine.open(backend, options, System.getenv());
 *     return new MyProvider(engine);                              // create() calls engine.create(ctx, config, progress)
 * }
 * }</pre>
 *
 * The factory should accept {@link #OPTIONS} among its {@code supportedOptions()}: the engine reads them.
 *
 * @param <C> the backend's per-create context
 * @param <W> the backend's workspace
 */
public interface ProvisioningEngine<C, W> extends AutoCloseable {
    /**
     * The provider options the engine reads (same meaning for every backend): {@code cache} (default true),
     * {@code cache_dir}, {@code cache_max_bytes}, {@code cache_max_age}, {@code require_fresh}.
     */
    Set<String> OPTIONS = Set.of("cache", "cache_dir", "cache_max_bytes", "cache_max_age", "require_fresh");

    /**
     * Creates a workspace in the config's clean state, through the cache when it is on.
     *
     * @param context passed to the backend's methods as it is
     * @throws dev.derrick.api.SetupFailedException        a setup or update script failed, or a repository was left
     *                                                     behind with {@code require_fresh}
     * @throws dev.derrick.api.GitOperationException       a clone failed, or a remote was unreachable with
     *                                                     {@code require_fresh}
     * @throws dev.derrick.api.WorkspaceCancelledException {@code progress} was cancelled
     */
    W create(C context, WorkspaceConfig config, ProgressListener progress);

    /**
     * Resets a workspace this engine created (a backend's {@code Workspace.reset()} calls this): the backend
     * {@linkplain ProvisioningBackend#restoreClean restores the clean state}; when the workspace's own fetches moved
     * repositories since, each returns to the commit it was moved to ({@link ProvisioningBackend#fetchTo}), the update
     * script runs, and that becomes the clean state ({@link ProvisioningBackend#markClean}) — as after a create that
     * fetched — so that later resets need no network. A repository that cannot return is a WARN and stays at the
     * clean state's commit. The backend forgets {@code fetchedSinceClean} afterwards, whatever the outcome.
     *
     * @param fetchedSinceClean per repository path, the commit the workspace's fetches moved it to since its clean
     *                          state (the backend keeps this: its {@code fetch()} records every move)
     * @throws dev.derrick.api.SetupFailedException the update script failed (the repositories are at the fetched
     *                                              commits; the clean state is the one before)
     * @throws dev.derrick.api.OperationNotSupportedException the backend cannot reset
     */
    void reset(C context, W workspace, WorkspaceConfig config, Map<String, String> fetchedSinceClean);

    /** Whether creates go through the cache ({@code cache=true}). */
    boolean caching();

    /** Waits until background rebuilds queued so far are done (tests, benchmarks). */
    void awaitBackgroundWork(Duration timeout) throws Exception;

    /** Stops background rebuilds (waits briefly). Workspaces already made are the backend's. */
    @Override
    void close();

    /**
     * Opens derrick's engine for {@code backend}: parses {@link #OPTIONS} out of {@code options} (other keys are
     * ignored), collects leftovers of interrupted builds and applies the cache's bounds.
     *
     * @param environment the provider's environment: tokens ({@code GitAuth.fromEnv}) and {@code DERRICK_CACHE_DIR}
     * @throws ProviderUnavailableException when no engine is on the class path (add derrick-core)
     */
    static <C, B, W> ProvisioningEngine<C, W> open(ProvisioningBackend<C, B, W> backend, Map<String, ?> options,
                                                   Map<String, String> environment) {
        for (Factory factory : ServiceLoader.load(Factory.class, ProvisioningEngine.class.getClassLoader())) {
            return factory.open(backend, options, environment);
        }
        for (Factory factory : ServiceLoader.load(Factory.class)) {
            return factory.open(backend, options, environment);
        }
        throw new ProviderUnavailableException("no provisioning engine on the class path: backend '" + backend.name()
                + "' needs derrick-core (it registers dev.derrick.api.spi.ProvisioningEngine$Factory)");
    }

    /** How {@link #open} finds the engine: registered in {@code META-INF/services/dev.derrick.api.spi.ProvisioningEngine$Factory}. */
    interface Factory {
        /** See {@link ProvisioningEngine#open}. */
        <C, B, W> ProvisioningEngine<C, W> open(ProvisioningBackend<C, B, W> backend, Map<String, ?> options,
                                                Map<String, String> environment);
    }
}
