package dev.derrick.docker.internal;

import dev.derrick.api.WorkspacePaths;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.core.exec.OutputCapture;
import dev.derrick.core.limits.ResourceLimits;

import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * The docker provider's options, parsed and validated once. Every key is documented in the module README.
 *
 * @param dockerHost     engine address, or {@code null} for docker-java's default ({@code DOCKER_HOST}, then the
 *                       default socket)
 * @param apiVersion     API version to speak, or {@code null} to let the engine choose (no version prefix)
 * @param tlsVerify      {@code DOCKER_TLS_VERIFY}, or {@code null} for the default
 * @param certPath       {@code DOCKER_CERT_PATH}, or {@code null}
 * @param defaultImage   image used when the workspace config names none
 * @param root           workspace root inside the container, absolute and normalized
 * @param networkMode    network mode of containers in a phase with network "on" (config field {@code network});
 *                       {@code null}: {@code bridge} when the engine has that network, else {@code none} (said at
 *                       start); phases with network "off" always get {@code none}
 * @param nanoCpus       CPU limit in billionths of a CPU, 0 for none
 * @param memoryBytes    memory limit, 0 for none
 * @param pidsLimit      the most processes in a container, 0 for none
 * @param labels         extra labels put on every container
 * @param execTimeout    default timeout of a command
 * @param setupTimeout   timeout of the setup script
 * @param maxOutputBytes output cap per stream of a command
 * @param pull           whether an image missing from the engine is pulled
 * @param connectTimeout how long to wait for the engine's socket
 * @param reapOrphans    whether opening removes containers of dead derrick processes
 */
public record DockerSettings(String dockerHost, String apiVersion, Boolean tlsVerify, String certPath,
                             String defaultImage, String root, String networkMode, long nanoCpus, long memoryBytes,
                             long pidsLimit, Map<String, String> labels, Duration execTimeout, Duration setupTimeout,
                             long maxOutputBytes, boolean pull, Duration connectTimeout, boolean reapOrphans) {

    /** The image used when a config has none. */
    public static final String DEFAULT_IMAGE = "debian:bookworm-slim";

    /** Option keys. */
    public static final Set<String> KEYS = Set.of("docker_host", "api_version", "tls_verify", "cert_path",
            "default_image", "root", "network_mode", "cpus", "memory", "pids", "labels", "exec_timeout", "setup_timeout",
            "max_output_bytes", "pull", "connect_timeout", "reap_orphans", "environment",
            "cache", "cache_dir", "cache_max_bytes", "cache_max_age", "require_fresh", // cache options: core's CacheOptions
            dev.derrick.core.pool.WorkspacePool.OPTION);

    /**
     * The provider environment: the {@code environment} option (a map, for embedding and tests) when given, else
     * {@code fallback} (normally the process's own). {@code DOCKER_HOST} and {@code auth.token_env} are looked up in it.
     */
    public static Map<String, String> environment(Map<String, ?> options, Map<String, String> fallback) {
        ProviderOptions o = ProviderOptions.of("docker", options, KEYS);
        return o.raw("environment").isPresent() ? o.stringMap("environment") : fallback;
    }

    public DockerSettings {
        labels = Map.copyOf(labels);
        for (String key : labels.keySet()) {
            if (key.startsWith("derrick.")) {
                throw new IllegalArgumentException("option 'labels' of provider 'docker' may not set '" + key
                        + "': labels starting with 'derrick.' are the provider's own");
            }
        }
    }

    /**
     * Parses an option map.
     *
     * @param providerEnv the provider's environment, where {@code DOCKER_HOST} is looked up when no option gives it
     * @throws IllegalArgumentException for an unknown key or a bad value, naming it
     */
    public static DockerSettings parse(Map<String, ?> options, Map<String, String> providerEnv) {
        ProviderOptions o = ProviderOptions.of("docker", options, KEYS);
        String host = o.string("docker_host").orElse(nonBlank(providerEnv.get("DOCKER_HOST")));
        if (host != null && !host.matches("(?i)^(unix|tcp|npipe)://.*")) {
            throw new IllegalArgumentException("option 'docker_host' of provider 'docker' must look like"
                    + " unix:///var/run/docker.sock or tcp://host:2375, got '" + host + "'");
        }
        String api = o.string("api_version").orElse(null);
        if (api != null && !api.matches("v?1\\.\\d+")) {
            throw new IllegalArgumentException("option 'api_version' of provider 'docker' must look like 1.41, got '"
                    + api + "'");
        }
        Boolean tls = o.raw("tls_verify").isPresent() ? o.bool("tls_verify", false) : null;
        String rootOption = o.string("root", "/");
        if (!rootOption.startsWith("/")) {
            throw new IllegalArgumentException("option 'root' of provider 'docker' must be an absolute container path, got '"
                    + rootOption + "'");
        }
        String root = "/" + WorkspacePaths.normalizeRelative(rootOption, "option 'root'");
        ResourceLimits limits = ResourceLimits.parse(o, "docker");
        long maxOutput = o.longValue("max_output_bytes", OutputCapture.DEFAULT_MAX_BYTES);
        if (maxOutput <= 0) {
            throw new IllegalArgumentException("option 'max_output_bytes' of provider 'docker' must be positive");
        }
        Duration execTimeout = positive(o.duration("exec_timeout", Duration.ofMinutes(30)), "exec_timeout");
        Duration setupTimeout = positive(o.duration("setup_timeout", Duration.ofMinutes(30)), "setup_timeout");
        Duration connectTimeout = positive(o.duration("connect_timeout", Duration.ofSeconds(5)), "connect_timeout");
        return new DockerSettings(host, api == null ? null : api.replaceFirst("^v", ""), tls,
                o.string("cert_path").orElse(null), o.string("default_image", DEFAULT_IMAGE), root,
                o.string("network_mode").map(String::trim).orElse(null), limits.nanoCpus(), limits.memoryBytes(),
                limits.pids(), o.stringMap("labels"),
                execTimeout, setupTimeout, maxOutput, o.bool("pull", true), connectTimeout, o.bool("reap_orphans", true));
    }

    private static Duration positive(Duration d, String key) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("option '" + key + "' of provider 'docker' must be positive, got " + d);
        }
        return d;
    }

    /** "512m", "2g", "1048576", "64k" → bytes (docker's notation; see {@link ResourceLimits#parseBytes}). */
    static long parseBytes(String s) {
        return ResourceLimits.parseBytes(s, "docker");
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
