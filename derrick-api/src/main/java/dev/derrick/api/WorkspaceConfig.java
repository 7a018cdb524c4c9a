package dev.derrick.api;

import dev.derrick.api.spi.ConfigCodec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * What a workspace is made of: repositories to clone, a setup script to run, environment for the script and every
 * command. Its JSON form ({@code snake_case}) is the workspace-config file the CLI takes with {@code -w}.
 *
 * <pre>{@code
 * WorkspaceConfig config = WorkspaceConfig.builder("demo")
 *         .repository(RepositoryConfig.of("https://git.example.com/org/repo.git", "code/repo")
 *                 .withAuth(GitAuth.fromEnv("GIT_TOKEN")))
 *         .setupScript("cd code/repo && make deps")
 *         .env("CI", "true")
 *         .build();
 * }</pre>
 *
 * @param name          a name for people and cache entries
 * @param repositories  repositories, cloned in order
 * @param setupScript   shell script run in the workspace root after cloning; may be empty
 * @param env           environment of the setup script and every command
 * @param image         container image (docker provider only); {@code null} means the provider's default
 * @param updateScript  run after a create from a cache entry had to fetch new commits; may be {@code null}
 * @param cacheKeyFiles repository-relative files whose change in fetched commits makes a cache entry stale
 * @param network       network per phase (setup, commands); {@code null} means {@link NetworkPolicy#ON}
 */
public record WorkspaceConfig(String name, List<RepositoryConfig> repositories, String setupScript,
                              Map<String, String> env, String image, String updateScript,
                              List<String> cacheKeyFiles, NetworkPolicy network) {

    /** Validates: a name, non-overlapping repository paths, valid environment names; copies the collections. */
    public WorkspaceConfig {
        if (name == null || name.isBlank()) {
            throw new InvalidConfigException("workspace config has no 'name'");
        }
        repositories = List.copyOf(repositories == null ? List.of() : repositories);
        Set<String> paths = new HashSet<>();
        for (RepositoryConfig repo : repositories) {
            Objects.requireNonNull(repo, "repository");
            for (String other : paths) {
                if (other.equals(repo.path()) || other.startsWith(repo.path() + "/") || repo.path().startsWith(other + "/")) {
                    throw new InvalidConfigException("repositories at '" + other + "' and '" + repo.path() + "' overlap");
                }
            }
            paths.add(repo.path());
        }
        setupScript = setupScript == null ? "" : setupScript;
        Map<String, String> copy = new LinkedHashMap<>();
        if (env != null) {
            env.forEach((k, v) -> {
                if (k == null || k.isEmpty() || k.contains("=") || k.indexOf('\0') >= 0) {
                    throw new InvalidConfigException("env has an invalid variable name '" + k + "'");
                }
                if (v == null) {
                    throw new InvalidConfigException("env variable '" + k + "' has no value");
                }
                copy.put(k, v);
            });
        }
        env = java.util.Collections.unmodifiableMap(copy);
        if (image != null && image.isBlank()) {
            image = null;
        }
        if (updateScript != null && updateScript.isBlank()) {
            updateScript = null;
        }
        cacheKeyFiles = List.copyOf(cacheKeyFiles == null ? List.of() : cacheKeyFiles);
        network = network == null ? NetworkPolicy.ON : network;
    }

    /** A config with the default network ({@link NetworkPolicy#ON}). */
    public WorkspaceConfig(String name, List<RepositoryConfig> repositories, String setupScript,
                           Map<String, String> env, String image, String updateScript, List<String> cacheKeyFiles) {
        this(name, repositories, setupScript, env, image, updateScript, cacheKeyFiles, NetworkPolicy.ON);
    }

    /** A builder for a config of the given name. */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Reads a workspace-config JSON file. Needs {@code derrick-core} (or another {@link ConfigCodec}) on the class
     * path.
     *
     * @throws InvalidConfigException naming the file, and line and column for a syntax error
     */
    public static WorkspaceConfig fromFile(Path file) {
        return codec().read(file);
    }

    /** Parses workspace-config JSON; {@code source} names it in error messages. */
    public static WorkspaceConfig fromJson(String json, String source) {
        return codec().parse(json, source);
    }

    /** This config as workspace-config JSON (tokens given inline are kept: do not log it). */
    public String toJson() {
        return codec().toJson(this);
    }

    private static ConfigCodec codec() {
        for (ConfigCodec codec : ServiceLoader.load(ConfigCodec.class, WorkspaceConfig.class.getClassLoader())) {
            return codec;
        }
        throw new DerrickException("no workspace-config reader on the class path: add the derrick-core dependency");
    }

    /** A copy with extra environment on top of this config's. */
    public WorkspaceConfig withEnv(Map<String, String> extra) {
        if (extra == null || extra.isEmpty()) {
            return this;
        }
        Map<String, String> merged = new LinkedHashMap<>(env);
        merged.putAll(extra);
        return new WorkspaceConfig(name, repositories, setupScript, merged, image, updateScript, cacheKeyFiles, network);
    }

    /** A copy with another image. */
    public WorkspaceConfig withImage(String newImage) {
        return new WorkspaceConfig(name, repositories, setupScript, env, newImage, updateScript, cacheKeyFiles, network);
    }

    /** A copy with another network policy. */
    public WorkspaceConfig withNetwork(NetworkPolicy newNetwork) {
        return new WorkspaceConfig(name, repositories, setupScript, env, image, updateScript, cacheKeyFiles, newNetwork);
    }

    /** Builder; validation happens in the record's constructor, called by {@link #build()}. */
    public static final class Builder {
        private final String name;
        private final List<RepositoryConfig> repositories = new ArrayList<>();
        private String setupScript = "";
        private final Map<String, String> env = new LinkedHashMap<>();
        private String image;
        private String updateScript;
        private final List<String> cacheKeyFiles = new ArrayList<>();
        private NetworkPolicy network = NetworkPolicy.ON;

        private Builder(String name) {
            this.name = name;
        }

        /**
         * @param repository a repository to clone, after the ones added before
         * @return this builder
         */
        public Builder repository(RepositoryConfig repository) {
            repositories.add(Objects.requireNonNull(repository, "repository"));
            return this;
        }

        /**
         * @param url  a public repository's clone URL
         * @param path where to check it out, relative to the workspace root
         * @return this builder
         */
        public Builder repository(String url, String path) {
            return repository(RepositoryConfig.of(url, path));
        }

        /**
         * @param script shell script run in the workspace root after cloning
         * @return this builder
         */
        public Builder setupScript(String script) {
            this.setupScript = script;
            return this;
        }

        /**
         * @param key   variable name
         * @param value its value
         * @return this builder
         */
        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /**
         * @param values variables for the setup script and every command
         * @return this builder
         */
        public Builder env(Map<String, String> values) {
            env.putAll(values);
            return this;
        }

        /**
         * @param image container image for the docker provider
         * @return this builder
         */
        public Builder image(String image) {
            this.image = image;
            return this;
        }

        /**
         * @param script run after a create from a cache entry had to fetch new commits
         * @return this builder
         */
        public Builder updateScript(String script) {
            this.updateScript = script;
            return this;
        }

        /**
         * @param path repository-relative file whose change makes a cache entry stale
         * @return this builder
         */
        public Builder cacheKeyFile(String path) {
            cacheKeyFiles.add(path);
            return this;
        }

        /**
         * @param network network per phase, e.g. {@code new NetworkPolicy(true, false)}: downloads during setup, the
         *                agent's commands offline
         * @return this builder
         */
        public Builder network(NetworkPolicy network) {
            this.network = Objects.requireNonNull(network, "network");
            return this;
        }

        /**
         * @return the config
         * @throws InvalidConfigException naming what is invalid
         */
        public WorkspaceConfig build() {
            return new WorkspaceConfig(name, repositories, setupScript, env, image, updateScript, cacheKeyFiles, network);
        }
    }
}
