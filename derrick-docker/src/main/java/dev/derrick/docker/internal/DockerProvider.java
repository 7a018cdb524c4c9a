package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.git.GitClient;
import dev.derrick.core.provision.Provisioner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The docker provider's machinery; see {@code dev.derrick.docker.DockerWorkspaceProvider} for the public face. A
 * create is {@link Provisioner}'s flow over {@link DockerBackend}; containers are {@link Containers}', images
 * {@link Images}', clean-up {@link DockerReaper}'s.
 */
public final class DockerProvider implements WorkspaceProvider {
    private static final Logger LOG = LoggerFactory.getLogger(DockerProvider.class);

    private final DockerSettings settings;
    private final DockerEngine engine;
    private final DockerClient client;
    private final String session = UUID.randomUUID().toString();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook;
    private final DockerCache cache;
    private final Containers containers;
    private final DockerReaper reaper;
    private final Provisioner<WorkspaceConfig, DockerWorkspace, DockerWorkspace> provisioner;
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
        Redactor redactor = new Redactor();
        GitClient git = new GitClient(Map.copyOf(providerEnv), redactor);
        this.cache = new DockerCache(cacheOptions.dir(), client, git, Map.copyOf(providerEnv), redactor,
                cacheOptions.eviction());
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
        Owner owner = Owner.current();
        this.containers = new Containers(client, settings, session, owner, this::networkMode, closed::get);
        this.reaper = new DockerReaper(client, session, owner, cache, containers.detachedIds());
        DockerBackend backend = new DockerBackend(settings, cache, new Images(engine, settings), containers,
                new DockerFailures(redactor), background, this::phasesDiffer);
        this.provisioner = new Provisioner<>(backend, Provisioner.Settings.of(
                cacheOptions.enabled() ? cache.store() : null, cacheOptions.eviction(), cacheOptions.requireFresh(), git));
        backend.engine(provisioner);
        this.shutdownHook = new Thread(reaper::removeSessionContainers, "derrick-docker-reaper-" + session.substring(0, 8));
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

    private boolean phasesDiffer(WorkspaceConfig config) {
        return !networkMode(config, NetworkPolicy.Phase.SETUP).equals(networkMode(config, NetworkPolicy.Phase.COMMANDS));
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

    public DockerCache cache() {
        return cache;
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        ensureOpen();
        return provisioner.create(config, config, progress);
    }

    /** Waits until background rebuilds queued so far are done (tests, benchmarks). */
    public void awaitBackgroundWork() throws Exception {
        provisioner.awaitBackgroundWork(Duration.ofMinutes(1));
    }

    /** "repo:tag" → {repo, tag}; a digest stays in the repository part; no tag → "latest". */
    static String[] splitImage(String image) {
        return Images.splitImage(image);
    }

    @Override
    public List<Workspace> list() {
        return List.copyOf(containers.open());
    }

    /**
     * Removes containers of derrick sessions whose owner process is gone (killed, or ended with detached workspaces),
     * and the checkpoint images of their workspaces. Returns how many containers.
     */
    public int reapOrphans() {
        return reaper.reapOrphans();
    }

    /** Removes every container labelled with this session, except those of detached workspaces. */
    void removeSessionContainers() {
        reaper.removeSessionContainers();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        containers.open().parallelStream().forEach(DockerWorkspace::close);
        reaper.removeSessionContainers();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // shutting down: the hook runs anyway
        }
        provisioner.close();
        background.shutdown();
        engine.close();
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new DerrickException("the docker provider was closed");
        }
    }
}
