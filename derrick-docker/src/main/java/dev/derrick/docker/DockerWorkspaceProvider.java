package dev.derrick.docker;

import dev.derrick.api.ProgressListener;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.docker.internal.DockerProvider;

import java.util.List;
import java.util.Map;

/**
 * The {@code docker} provider: every workspace is a container on a Docker engine, reached through docker-java.
 * Usually opened by name, {@code WorkspaceProviders.open("docker", options)}; this class allows an explicit instance.
 *
 * <p>Repositories are cloned on the provider side with JGit and copied into the container through the archive API,
 * so no token ever enters a container. Every container is labelled at birth ({@code derrick.managed},
 * {@code derrick.session}, {@code derrick.workspace}, {@code derrick.config}, {@code derrick.version} and its owner
 * process); {@link #close()} and a JVM shutdown hook remove this provider's containers, and opening a provider
 * removes the containers of derrick processes that died without cleaning up.
 *
 * <p>Options (all optional): {@code docker_host}, {@code api_version}, {@code tls_verify}, {@code cert_path},
 * {@code default_image} ({@value dev.derrick.docker.internal.DockerSettings#DEFAULT_IMAGE}), {@code root}
 * ({@code /}), {@code network_mode} (of phases with network "on": {@code bridge}, or {@code none} on an engine
 * without a bridge network, said in a WARN at start), {@code cpus}, {@code memory}, {@code pids}, {@code labels},
 * {@code exec_timeout}, {@code setup_timeout}, {@code max_output_bytes}, {@code pull} ({@code true}),
 * {@code connect_timeout}, {@code reap_orphans} ({@code true}), {@code environment} (a map replacing the process
 * environment as the provider's own). See the module README.
 */
public final class DockerWorkspaceProvider implements WorkspaceProvider {
    private final DockerProvider delegate;

    private DockerWorkspaceProvider(DockerProvider delegate) {
        this.delegate = delegate;
    }

    /**
     * Opens a provider with the process's environment (for {@code DOCKER_HOST} and {@code auth.token_env}).
     *
     * @throws IllegalArgumentException                      for an unknown option or a bad value
     * @throws dev.derrick.api.ProviderUnavailableException naming the address tried when no engine answers
     */
    public static DockerWorkspaceProvider open(Map<String, ?> options) {
        return open(options, System.getenv());
    }

    /**
     * Opens a provider that looks up {@code DOCKER_HOST} and token variables in {@code providerEnvironment}.
     *
     * @throws IllegalArgumentException                      for an unknown option or a bad value
     * @throws dev.derrick.api.ProviderUnavailableException naming the address tried when no engine answers
     */
    public static DockerWorkspaceProvider open(Map<String, ?> options, Map<String, String> providerEnvironment) {
        return new DockerWorkspaceProvider(DockerProvider.open(options, providerEnvironment));
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        try {
            return delegate.create(config, progress);
        } catch (RuntimeException e) {
            throw dev.derrick.docker.internal.DockerEngine.unreachable(e);
        }
    }

    @Override
    public List<Workspace> list() {
        return delegate.list();
    }

    /**
     * The network a workspace of this config gets, per phase (config field {@code network}), e.g. {@code network mode
     * bridge during setup, none for commands}; says so when "on" cannot mean a network on this engine.
     */
    public String describeNetwork(WorkspaceConfig config) {
        return delegate.describeNetwork(config);
    }

    /** The id written in the {@code derrick.session} label of every container this provider creates. */
    public String sessionId() {
        return delegate.session();
    }

    /** The engine address in use, e.g. {@code unix:///var/run/docker.sock}. */
    public String engineAddress() {
        return delegate.engine().address();
    }

    /**
     * Removes containers of derrick processes on this host that are gone (also done when the provider opens).
     *
     * @return how many containers were removed
     */
    public int reapOrphans() {
        return delegate.reapOrphans();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return "DockerWorkspaceProvider[" + engineAddress() + ", session " + sessionId() + "]";
    }
}
