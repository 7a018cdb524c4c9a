package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Version;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.derrick.api.ProviderUnavailableException;

import java.io.IOException;

/**
 * A docker-java client for one engine, built from docker-java's standard configuration ({@code DOCKER_HOST},
 * {@code DOCKER_TLS_VERIFY}, {@code DOCKER_CERT_PATH}, {@code ~/.docker-java.properties}) with the provider's options
 * on top. No API version is pinned unless asked: requests then go to the engine's own version, which is how older
 * engines (API 1.41) keep working.
 */
public final class DockerEngine implements AutoCloseable {
    private final DockerClient client;
    private final String address;
    private final Version version;

    private DockerEngine(DockerClient client, String address, Version version) {
        this.client = client;
        this.address = address;
        this.version = version;
    }

    /**
     * Connects and pings.
     *
     * @throws ProviderUnavailableException naming the address when no engine answers there
     */
    public static DockerEngine connect(DockerSettings settings) {
        DefaultDockerClientConfig.Builder builder = DefaultDockerClientConfig.createDefaultConfigBuilder();
        if (settings.dockerHost() != null) {
            builder.withDockerHost(settings.dockerHost());
        }
        if (settings.apiVersion() != null) {
            builder.withApiVersion(settings.apiVersion());
        }
        if (settings.tlsVerify() != null) {
            builder.withDockerTlsVerify(settings.tlsVerify());
        }
        if (settings.certPath() != null) {
            builder.withDockerCertPath(settings.certPath());
        }
        DockerClientConfig config;
        try {
            config = builder.build();
        } catch (RuntimeException e) {
            throw new ProviderUnavailableException("cannot configure the Docker client: " + e.getMessage(), e);
        }
        String address = String.valueOf(config.getDockerHost());
        ApacheDockerHttpClient http = new ApacheDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .sslConfig(config.getSSLConfig())
                .connectionTimeout(settings.connectTimeout())
                .maxConnections(64)
                .build();
        DockerClient client = DockerClientImpl.getInstance(config, http);
        try {
            client.pingCmd().exec();
            Version version = client.versionCmd().exec();
            return new DockerEngine(client, address, version);
        } catch (RuntimeException e) {
            closeQuietly(client);
            throw new ProviderUnavailableException("no Docker engine at " + address + ": " + reason(e)
                    + " (start the engine, or point DOCKER_HOST or the option 'docker_host' at one)", e);
        }
    }

    /**
     * {@code e} as the API reports it: a failure to reach the engine (socket gone, connection refused or reset — dockerd
     * stopped or restarting) becomes a {@link dev.derrick.api.ProviderUnavailableException} saying so; anything else
     * is returned as is.
     */
    public static RuntimeException unreachable(RuntimeException e) {
        if (e instanceof dev.derrick.api.DerrickException) {
            return e;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) {
                String detail = null;
                for (Throwable c = e; c != null; c = c.getCause()) {
                    if (c.getMessage() != null && !c.getMessage().isBlank()) {
                        detail = c.getMessage().replaceAll("^[a-z.]+\\.[A-Z][A-Za-z]*Exception: ", "");
                    }
                }
                return new dev.derrick.api.ProviderUnavailableException("the Docker engine did not answer ("
                        + (detail == null ? "connection failed" : detail.strip())
                        + "): is dockerd running? The operation can be retried once it is", e);
            }
        }
        return e;
    }

    static String reason(Throwable e) {
        Throwable t = e;
        String message = null;
        while (t != null) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getClass().getSimpleName() + ": " + t.getMessage();
            }
            t = t.getCause();
        }
        return message == null ? e.getClass().getSimpleName() : message.strip();
    }

    public DockerClient client() {
        return client;
    }

    /** The address tried, e.g. {@code unix:///var/run/docker.sock}. */
    public String address() {
        return address;
    }

    /** "Docker 20.10.24 (API 1.41)". */
    public String describe() {
        return "Docker " + version.getVersion() + " (API " + version.getApiVersion() + ") at " + address;
    }

    @Override
    public void close() {
        closeQuietly(client);
    }

    private static void closeQuietly(DockerClient client) {
        try {
            client.close();
        } catch (IOException | RuntimeException ignored) {
            // closing a client that could not connect
        }
    }
}
