package dev.derrick.api;

import java.util.Objects;
import java.util.Optional;

/**
 * One repository of a workspace config.
 *
 * @param url       clone URL ({@code https://…}, {@code http://…}, {@code file://…} or a local path); never with
 *                  credentials in it
 * @param path      where it is checked out, relative to the workspace root (a leading {@code /} still means under
 *                  the root)
 * @param reference branch, tag or commit; {@code null} means the remote's HEAD
 * @param auth      credentials, or {@code null} for a public repository
 * @param name      a display name for logs and {@link WorkspaceInfo} (the original tool's {@code name}), or
 *                  {@code null}; it does not change the checkout or the cache entry
 */
public record RepositoryConfig(String url, String path, String reference, GitAuth auth, String name) {
    /** Validates: a URL without credentials, a path that stays under the root. */
    public RepositoryConfig {
        if (url == null || url.isBlank()) {
            throw new InvalidConfigException("repository 'url' is missing");
        }
        if (url.matches("(?i)^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@.*")) {
            throw new InvalidConfigException("repository url " + url.replaceAll("//[^/@]*@", "//****@")
                    + " carries credentials; use 'auth' with 'token_env' instead");
        }
        if (path == null || path.isBlank()) {
            throw new InvalidConfigException("repository " + url + " has no 'path'");
        }
        path = WorkspacePaths.normalizeRelative(path, "repository path");
        if (path.isEmpty()) {
            throw new InvalidConfigException("repository " + url + " has path '/' — give a directory under the workspace root");
        }
        if (reference != null && reference.isBlank()) {
            reference = null;
        }
        if (name != null && name.isBlank()) {
            name = null;
        }
    }

    /** A repository without a display name. */
    public RepositoryConfig(String url, String path, String reference, GitAuth auth) {
        this(url, path, reference, auth, null);
    }

    /** A public repository at the remote's HEAD. */
    public static RepositoryConfig of(String url, String path) {
        return new RepositoryConfig(url, path, null, null);
    }

    /**
     * @param ref branch, tag or commit; {@code null} for the remote's HEAD
     * @return a copy checking out {@code ref}
     */
    public RepositoryConfig withReference(String ref) {
        return new RepositoryConfig(url, path, ref, auth, name);
    }

    /**
     * @param newAuth credentials, or {@code null} for none
     * @return a copy with those credentials
     */
    public RepositoryConfig withAuth(GitAuth newAuth) {
        return new RepositoryConfig(url, path, reference, newAuth, name);
    }

    /**
     * @param newName a display name, or {@code null}
     * @return a copy with that name
     */
    public RepositoryConfig withName(String newName) {
        return new RepositoryConfig(url, path, reference, auth, newName);
    }

    /** @return the display name when one was given, else the path: what log lines call this repository */
    public String displayName() {
        return name != null ? name : path;
    }

    /** @return the reference, if one was given */
    public Optional<String> referenceIfSet() {
        return Optional.ofNullable(reference);
    }

    /** @return the credentials, if any */
    public Optional<GitAuth> authIfSet() {
        return Optional.ofNullable(auth);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RepositoryConfig r && url.equals(r.url) && path.equals(r.path)
                && Objects.equals(reference, r.reference) && Objects.equals(auth, r.auth) && Objects.equals(name, r.name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(url, path, reference, auth, name);
    }
}
