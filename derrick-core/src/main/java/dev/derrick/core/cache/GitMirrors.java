package dev.derrick.core.cache;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.GitOperationException;
import dev.derrick.core.Redactor;
import dev.derrick.core.git.GitClient;
import org.eclipse.jgit.api.errors.GitAPIException;
import dev.derrick.core.git.HostBoundCredentials;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.NullProgressMonitor;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.BundleWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Provider-side clones of remote repositories, kept up to date with the provider's credentials, from which new
 * commits are handed to a workspace that must never see a token (a container) as a {@code git bundle}: the
 * workspace runs {@code git fetch <bundle>} and fast-forwards without any network access.
 *
 * <p>One mirror per repository URL under {@code dir/<sha-256(url)[0..16]>}; the clone's config holds no token.
 */
public final class GitMirrors {
    private final Path dir;
    private final GitClient git;
    private final Map<String, String> providerEnvironment;
    private final Redactor redactor;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    /**
     * @param git                 clones new mirrors
     * @param providerEnvironment where {@code auth.token_env} is looked up for fetches (the provider's environment)
     * @param redactor            told every token used
     */
    public GitMirrors(Path dir, GitClient git, Map<String, String> providerEnvironment, Redactor redactor) {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.git = Objects.requireNonNull(git, "git");
        this.providerEnvironment = Map.copyOf(providerEnvironment);
        this.redactor = Objects.requireNonNull(redactor, "redactor");
    }

    /** The directory mirrors live in. */
    public Path directory() {
        return dir;
    }

    /** Clones the mirror of {@code repo} the first time, fetches it afterwards; returns its directory. */
    public Path update(RepositoryConfig repo, ProgressListener progress) {
        Path mirror = mirrorDir(repo);
        synchronized (locks.computeIfAbsent(mirror.toString(), k -> new Object())) {
            if (Files.isDirectory(mirror.resolve(".git"))) {
                fetchRefs(mirror, repo);
            } else {
                Path tmp = mirror.resolveSibling(mirror.getFileName() + ".tmp-" + ProcessHandle.current().pid());
                FileTrees.deleteQuietly(tmp);
                git.cloneRepository(repo, tmp, progress);
                try {
                    Files.createDirectories(dir);
                    Files.move(tmp, mirror, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    FileTrees.deleteQuietly(tmp);
                    throw new DerrickException("cannot store mirror of " + repo.path() + ": " + e.getMessage(), e);
                }
            }
            return mirror;
        }
    }

    /**
     * Takes a fresh provider-side clone of {@code repo} (made with {@link GitClient}, so without credentials in its
     * config) as the mirror when there is none yet: the next {@link #update} then negotiates instead of cloning. The
     * clone is moved, or left alone when a mirror exists.
     *
     * @return whether it was taken
     */
    public boolean adopt(RepositoryConfig repo, Path clone) {
        Path mirror = mirrorDir(repo);
        synchronized (locks.computeIfAbsent(mirror.toString(), k -> new Object())) {
            if (Files.isDirectory(mirror.resolve(".git")) || !Files.isDirectory(clone.resolve(".git"))) {
                return false;
            }
            try {
                Files.createDirectories(dir);
                Files.move(clone, mirror);
                return true;
            } catch (IOException e) {
                try {
                    FileTrees.copy(clone, mirror);
                    return true;
                } catch (RuntimeException again) {
                    FileTrees.deleteQuietly(mirror);
                    return false;
                }
            }
        }
    }

    /** Fetches {@code origin} into the remote-tracking refs only: no checkout, no status walk of the work tree. */
    private void fetchRefs(Path mirror, RepositoryConfig repo) {
        HostBoundCredentials credentials = HostBoundCredentials.forRepository(repo, providerEnvironment, redactor);
        try (Git g = Git.open(mirror.toFile())) {
            org.eclipse.jgit.api.FetchCommand fetch = g.fetch().setRemote("origin").setTimeout(300);
            if (credentials != null) {
                credentials.applyTo(fetch);
            }
            fetch.call();
        } catch (IOException | GitAPIException | RuntimeException e) {
            throw dev.derrick.core.git.GitFailures.translate("fetch", repo, e, redactor);
        }
    }

    /** The commit {@code origin/branch} points to in the mirror, if any. */
    public Optional<String> tip(RepositoryConfig repo, String branch) {
        Path mirror = mirrorDir(repo);
        if (!Files.isDirectory(mirror.resolve(".git"))) {
            return Optional.empty();
        }
        try (Git g = Git.open(mirror.toFile())) {
            ObjectId id = g.getRepository().resolve("refs/remotes/origin/" + branch);
            return Optional.ofNullable(id).map(ObjectId::name);
        } catch (IOException e) {
            throw new DerrickException("cannot read mirror of " + repo.path() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a bundle whose one ref, {@code refs/heads/<branch>}, is the mirror's {@code origin/<branch>}, holding only
     * what is not reachable from {@code targetHas} (commits the receiver already has; unknown ones are ignored).
     *
     * @return the tip written, or empty when the branch is not in the mirror or the receiver already has it
     */
    public Optional<String> writeBundle(RepositoryConfig repo, String branch, Collection<String> targetHas, OutputStream out) {
        return writeBundle(repo, branch, null, targetHas, out);
    }

    /**
     * As {@link #writeBundle(RepositoryConfig, String, Collection, OutputStream)}, with the bundle's ref at
     * {@code tipCommit} instead of the mirror's {@code origin/<branch>} (a commit an earlier fetch brought, which the
     * mirror keeps); {@code null} means the branch's tip.
     */
    public Optional<String> writeBundle(RepositoryConfig repo, String branch, String tipCommit, Collection<String> targetHas,
                                        OutputStream out) {
        Path mirror = mirrorDir(repo);
        synchronized (locks.computeIfAbsent(mirror.toString(), k -> new Object())) {
            try (Git g = Git.open(mirror.toFile()); RevWalk walk = new RevWalk(g.getRepository())) {
                Repository repository = g.getRepository();
                ObjectId tip = tipCommit != null ? ObjectId.fromString(tipCommit)
                        : repository.resolve("refs/remotes/origin/" + branch);
                if (tip == null || !repository.getObjectDatabase().has(tip)) {
                    return Optional.empty();
                }
                BundleWriter writer = new BundleWriter(repository);
                writer.include("refs/heads/" + branch, tip);
                for (String have : targetHas) {
                    if (have == null || !ObjectId.isId(have)) {
                        continue;
                    }
                    ObjectId id = ObjectId.fromString(have);
                    if (id.equals(tip)) {
                        return Optional.empty();
                    }
                    if (repository.getObjectDatabase().has(id)) {
                        RevCommit commit = walk.parseCommit(id);
                        writer.assume(commit);
                    }
                }
                writer.writeBundle(NullProgressMonitor.INSTANCE, out);
                return Optional.of(tip.name());
            } catch (IOException e) {
                throw new DerrickException("cannot write a bundle of " + repo.path() + ": " + e.getMessage(), e);
            }
        }
    }

    /** The directory of the mirror of {@code repo} (which may not exist yet). */
    public Path mirrorDir(RepositoryConfig repo) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(repo.url().getBytes(StandardCharsets.UTF_8));
            return dir.resolve(HexFormat.of().formatHex(hash).substring(0, 16));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
