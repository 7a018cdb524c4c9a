package dev.derrick.docker;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.docker.internal.DockerSettings;

import java.util.Map;
import java.util.Set;

/** Registers the {@code docker} provider with {@link dev.derrick.api.WorkspaceProviders}. Does no I/O until used. */
public final class DockerProviderFactory implements WorkspaceProviderFactory {
    public DockerProviderFactory() {
        // found by ServiceLoader
    }

    @Override
    public String name() {
        return "docker";
    }

    @Override
    public String description() {
        return "workspaces as containers on a Docker engine (docker-java)";
    }

    @Override
    public Set<String> supportedOptions() {
        return DockerSettings.KEYS;
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        DockerSettings settings;
        try {
            settings = DockerSettings.parse(options, DockerSettings.environment(options, System.getenv()));
        } catch (IllegalArgumentException e) {
            return Availability.no(e.getMessage());
        }
        try (DockerEngine engine = DockerEngine.connect(settings)) {
            return Availability.yes(engine.describe());
        } catch (ProviderUnavailableException e) {
            return Availability.no(e.getMessage());
        }
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        // a pool (option 'pool') goes in front of the provider: claims and refills are the pool's, creates the provider's
        return dev.derrick.core.pool.WorkspacePool.wrapIfAsked(DockerWorkspaceProvider.open(options), options,
                DockerSettings.environment(options, System.getenv()));
    }
}
