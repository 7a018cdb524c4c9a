package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import org.eclipse.jgit.api.CloneCommand;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.MergeCommand;
import org.eclipse.jgit.api.MergeResult;
import org.eclipse.jgit.api.Status;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.BranchConfig;
import org.eclipse.jgit.lib.ConfigConstants;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ProgressMonitor;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Git on the provider side, through JGit. Tokens are resolved from the <em>provider's</em> environment, held in
 * memory for one operation, registered with the {@link Redactor}, and never written: the clone's remote URL and
 * {@code .git/config} contain no credentials.
 */
public final class GitClient {
    private static final Logger LOG = LoggerFactory.getLogger(GitClient.class);
    private static final int DEFAULT_TIMEOUT_SECONDS = 300;

    private final Map<String, String> providerEnvironment;
    private final Redactor redactor;
    private final int timeoutSeconds;

    /**
     * @param providerEnvironment where {@code auth.token_env} names are looked up (the provider's own environment)
     * @param redactor            told every token this client uses, so logs and errors elsewhere mask it too
     */
    public GitClient(Map<String, String> providerEnvironment, Redactor redactor) {
        this(providerEnvironment, redactor, Duration.ofSeconds(DEFAULT_TIMEOUT_SECONDS));
    }

    public GitClient(Map<String, String> providerEnvironment, Redactor redactor, Duration networkTimeout) {
        this.providerEnvironment = Map.copyOf(Objects.requireNonNull(providerEnvironment, "providerEnvironment"));
        this.redactor = Objects.requireNonNull(redactor, "redactor");
        this.timeoutSeconds = (int) Math.max(1, networkTimeout.toSeconds());
    }

    /** The environment tokens are looked up in. */
    public Map<String, String> environment() {
        return providerEnvironment;
    }

    /** The redactor told every token this client uses. */
    public Redactor redactor() {
        return redactor;
    }

    /**
     * Clones {@code repo} into {@code targetDir} (which must not exist or be empty) and checks out its reference.
     *
     * @throws GitOperationException on failure, with {@link GitOperationException#authenticationFailed()} for a
     *                               rejected or missing token; the target directory is removed if this call made it
     * @throws dev.derrick.api.InvalidConfigException when {@code auth.token_env} is not set
     */
    public RepositoryState cloneRepository(RepositoryConfig repo, Path targetDir, ProgressListener progress) {
        ProgressListener listener = ProgressListener.orNone(progress);
        HostBoundCredentials credentials = credentials(repo);
        boolean existed = Files.exists(targetDir);
        String url = redactor.redact(repo.url());
        LOG.info("cloning {} into {}{}", repo.name() == null ? url : repo.name() + " (" + url + ")", repo.path(),
                repo.reference() == null ? "" : " at " + repo.reference());
        long start = System.nanoTime();
        CloneCommand clone = Git.cloneRepository()
                .setURI(repo.url())
                .setDirectory(targetDir.toFile())
                .setTimeout(timeoutSeconds)
                .setProgressMonitor(new Monitor(listener, repo.path()));
        if (credentials != null) {
            credentials.applyTo(clone);
        }
        boolean commitReference = repo.reference() != null && ObjectId.isId(repo.reference());
        if (repo.reference() != null && !commitReference) {
            clone.setBranch(repo.reference());
        }
        try (Git git = clone.call()) {
            if (commitReference) {
                git.checkout().setName(repo.reference()).call();
            } else if (repo.reference() != null && git.getRepository().resolve(Constants.HEAD) == null) {
                throw new GitOperationException("reference '" + repo.reference() + "' not found in " + url, false, null);
            }
            RepositoryState described = describe(git.getRepository(), repo.path(), repo.url());
            RepositoryState state = new RepositoryState(described.path(), described.url(), described.commit(),
                    described.branch(), repo.name(), described.commit(), false, "cloned");
            if (repo.reference() != null && !commitReference && state.branch() == null
                    && !repo.reference().equals(state.branch())) {
                // A tag: checked out detached, which is what git does too.
                LOG.debug("{} is at tag {}", repo.path(), repo.reference());
            }
            LOG.info("cloned {} at {} in {} ms", repo.displayName(), state.commit().substring(0, 12),
                    (System.nanoTime() - start) / 1_000_000);
            return state;
        } catch (GitAPIException | IOException | RuntimeException e) {
            if (!existed) {
                FileTrees.deleteQuietly(targetDir);
            }
            if (e instanceof GitOperationException g) {
                throw g;
            }
            throw translate("clone", repo, e);
        }
    }

    /**
     * The commit the remote's branch of {@code repo} is at now (its {@code reference}, else the remote's HEAD), read
     * with one {@code ls-remote} and the provider's token for that host: a cheap "has it moved?" that transfers no
     * objects. Empty for a repository pinned to a commit, or a reference that is not a branch (a tag).
     *
     * @throws GitOperationException when the remote cannot be reached
     */
    public java.util.Optional<String> remoteHead(RepositoryConfig repo) {
        if (repo.reference() != null && ObjectId.isId(repo.reference())) {
            return java.util.Optional.empty();
        }
        HostBoundCredentials credentials = credentials(repo);
        org.eclipse.jgit.api.LsRemoteCommand ls = Git.lsRemoteRepository().setRemote(repo.url())
                .setTimeout(timeoutSeconds).setHeads(repo.reference() != null);
        if (credentials != null) {
            credentials.applyTo(ls);
        }
        try {
            Map<String, Ref> refs = ls.callAsMap();
            Ref ref = refs.get(repo.reference() == null ? Constants.HEAD : Constants.R_HEADS + repo.reference());
            return ref == null || ref.getObjectId() == null ? java.util.Optional.empty()
                    : java.util.Optional.of(ref.getObjectId().name());
        } catch (GitAPIException | RuntimeException e) {
            throw translate("ls-remote", repo, e);
        }
    }

    /**
     * Fetches {@code origin} and fast-forwards the checked-out branch unless that would lose work: a change to a
     * tracked file, or an untracked file (a build directory, a marker, an {@code *.egg-info} a setup script left)
     * where an incoming commit adds one, leaves the work tree alone and reports {@code dirty}; untracked files the
     * incoming commits do not touch do not block. A diverged branch is reported, never overwritten.
     */
    public RepositoryFetch fetch(Path repoDir, RepositoryConfig repo, ProgressListener progress) {
        return update(repoDir, repo, progress, null);
    }

    /**
     * Fast-forwards the checked-out branch to exactly {@code commit} (fetching {@code origin} first only when the
     * commit is not there), under the same rules as {@link #fetch}: what a reset does to return to the commits an
     * earlier fetch brought.
     */
    public RepositoryFetch fastForwardTo(Path repoDir, RepositoryConfig repo, String commit, ProgressListener progress) {
        return update(repoDir, repo, progress, ObjectId.fromString(commit));
    }

    private RepositoryFetch update(Path repoDir, RepositoryConfig repo, ProgressListener progress, ObjectId target) {
        HostBoundCredentials credentials = credentials(repo);
        try (Git git = Git.open(repoDir.toFile())) {
            Repository repository = git.getRepository();
            // JGit runs an auto gc after every fetch, detached into a background thread by default: it would go on
            // writing into .git (as this process's user) after the provider hands the tree to the sandbox user.
            // Kept in this process (not written to the workspace's config): a gc, if due, finishes inside fetch.
            repository.getConfig().setBoolean(ConfigConstants.CONFIG_GC_SECTION, null,
                    ConfigConstants.CONFIG_KEY_AUTODETACH, false);
            ObjectId before = repository.resolve(Constants.HEAD);
            long start = System.nanoTime();
            if (target == null || !repository.getObjectDatabase().has(target)) {
                // The workspace may have rewritten its .git/config (origin's URL, url.*.insteadOf): the credentials
                // still only go to the configured URL's host.
                org.eclipse.jgit.api.FetchCommand fetch = git.fetch().setRemote("origin").setTimeout(timeoutSeconds)
                        .setProgressMonitor(new Monitor(ProgressListener.orNone(progress), repo.path()));
                if (credentials != null) {
                    credentials.applyTo(fetch);
                }
                fetch.call();
            }
            String branch = repository.getBranch();
            Ref head = repository.exactRef(Constants.HEAD);
            if (head == null || !head.isSymbolic()) {
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "detached", null);
            }
            String tracking = new BranchConfig(repository.getConfig(), branch).getRemoteTrackingBranch();
            ObjectId upstream = target != null ? target : tracking == null ? null : repository.resolve(tracking);
            String remote = name(upstream);
            if (upstream == null || upstream.equals(before)) {
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "up-to-date", remote);
            }
            try (RevWalk walk = new RevWalk(repository)) {
                RevCommit headCommit = walk.parseCommit(before);
                RevCommit upstreamCommit = walk.parseCommit(upstream);
                if (walk.isMergedInto(upstreamCommit, headCommit)) {
                    return new RepositoryFetch(repo.path(), name(before), name(before), false, "up-to-date", remote);
                }
                if (!walk.isMergedInto(headCommit, upstreamCommit)) {
                    return new RepositoryFetch(repo.path(), name(before), name(before), false, "diverged", remote);
                }
            }
            long fetched = System.nanoTime();
            String blocker = blocker(git, before, upstream);
            if (blocker != null) {
                LOG.debug("{}: not fast-forwarding to {}: {}", repo.displayName(), abbreviate(upstream), blocker);
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "dirty", remote);
            }
            long checked = System.nanoTime();
            MergeResult merge;
            try {
                merge = git.merge().include(upstream).setFastForward(MergeCommand.FastForwardMode.FF_ONLY)
                        .setCommit(true).call();
            } catch (org.eclipse.jgit.api.errors.CheckoutConflictException conflict) {
                // A file in the way that status does not show (an ignored one the incoming commits add): left alone.
                LOG.debug("{}: not fast-forwarding to {}: {}", repo.displayName(), abbreviate(upstream), conflict.getMessage());
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "dirty", remote);
            }
            ObjectId after = repository.resolve(Constants.HEAD);
            boolean moved = !after.equals(before);
            long done = System.nanoTime();
            LOG.info("fetched {}: {} -> {} ({}; fetch {} ms, clean check {} ms, merge {} ms)", repo.displayName(),
                    abbreviate(before), abbreviate(after), merge.getMergeStatus(), (fetched - start) / 1_000_000,
                    (checked - fetched) / 1_000_000, (done - checked) / 1_000_000);
            return new RepositoryFetch(repo.path(), name(before), name(after), moved,
                    moved ? "fast-forwarded" : after.equals(upstream) ? "up-to-date" : "dirty", remote);
        } catch (GitAPIException | IOException | RuntimeException e) {
            if (e instanceof GitOperationException g) {
                throw g;
            }
            throw translate("fetch", repo, e);
        }
    }

    /**
     * Why a fast-forward from {@code from} to {@code to} would lose work, or {@code null}: a tracked file changed,
     * or an untracked path where the incoming commits add or change one (a file, or a directory over a file).
     */
    private static String blocker(Git git, ObjectId from, ObjectId to) throws GitAPIException, IOException {
        Status status = git.status().call();
        java.util.Set<String> tracked = new java.util.TreeSet<>();
        tracked.addAll(status.getModified());
        tracked.addAll(status.getChanged());
        tracked.addAll(status.getAdded());
        tracked.addAll(status.getRemoved());
        tracked.addAll(status.getMissing());
        tracked.addAll(status.getConflicting());
        if (!tracked.isEmpty()) {
            return "local changes to " + tracked;
        }
        java.util.Set<String> untracked = status.getUntracked();
        java.util.Set<String> untrackedDirs = status.getUntrackedFolders();
        if (untracked.isEmpty() && untrackedDirs.isEmpty()) {
            return null;
        }
        Repository repository = git.getRepository();
        try (RevWalk walk = new RevWalk(repository); org.eclipse.jgit.treewalk.TreeWalk tree =
                new org.eclipse.jgit.treewalk.TreeWalk(repository)) {
            tree.addTree(walk.parseCommit(from).getTree());
            tree.addTree(walk.parseCommit(to).getTree());
            tree.setRecursive(true);
            tree.setFilter(org.eclipse.jgit.treewalk.filter.TreeFilter.ANY_DIFF);
            while (tree.next()) {
                if (tree.getRawMode(1) == 0) {
                    continue; // deleted upstream: an untracked file cannot collide with it
                }
                String incoming = tree.getPathString();
                for (String u : untracked) {
                    if (u.equals(incoming) || incoming.startsWith(u + "/") || u.startsWith(incoming + "/")) {
                        return "untracked '" + u + "' where the incoming commits put '" + incoming + "'";
                    }
                }
                for (String d : untrackedDirs) {
                    String dir = d.endsWith("/") ? d : d + "/";
                    if (incoming.startsWith(dir) || incoming.equals(d)) {
                        return "untracked directory '" + d + "' where the incoming commits put '" + incoming + "'";
                    }
                }
            }
        }
        return null;
    }

    /** The state of a repository checked out at {@code repoDir}. */
    public static RepositoryState describe(Path repoDir, String relPath, String url) {
        try (Git git = Git.open(repoDir.toFile())) {
            return describe(git.getRepository(), relPath, url);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read git repository at " + repoDir, e);
        }
    }

    private static RepositoryState describe(Repository repository, String relPath, String url) throws IOException {
        ObjectId head = repository.resolve(Constants.HEAD);
        Ref headRef = repository.exactRef(Constants.HEAD);
        String branch = headRef != null && headRef.isSymbolic() ? Repository.shortenRefName(headRef.getTarget().getName()) : null;
        return new RepositoryState(relPath, Redactor.redactUrls(url), name(head), branch);
    }

    /** The repository's credentials, bound to its URL's host; {@code null} when it has none. */
    HostBoundCredentials credentials(RepositoryConfig repo) {
        return HostBoundCredentials.forRepository(repo, providerEnvironment, redactor);
    }

    private GitOperationException translate(String what, RepositoryConfig repo, Exception e) {
        return GitFailures.translate(what, repo, e, redactor);
    }

    private static String name(ObjectId id) {
        return id == null ? null : id.name();
    }

    private static String abbreviate(ObjectId id) {
        return id == null ? "(none)" : id.name().substring(0, 12);
    }

    /** Adapts JGit's progress to ours, with cancellation. */
    private static final class Monitor implements ProgressMonitor {
        private final ProgressListener listener;
        private final String prefix;

        Monitor(ProgressListener listener, String prefix) {
            this.listener = listener;
            this.prefix = prefix;
        }

        @Override
        public void start(int totalTasks) {
        }

        @Override
        public void beginTask(String title, int totalWork) {
            listener.beginTask(prefix + ": " + title, totalWork);
        }

        @Override
        public void update(int completed) {
            listener.update(completed);
        }

        @Override
        public void endTask() {
            listener.endTask();
        }

        @Override
        public boolean isCancelled() {
            return listener.isCancelled();
        }

        @Override
        public void showDuration(boolean enabled) {
        }
    }
}
