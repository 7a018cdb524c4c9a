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
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.BranchConfig;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ProgressMonitor;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
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

    /**
     * Clones {@code repo} into {@code targetDir} (which must not exist or be empty) and checks out its reference.
     *
     * @throws GitOperationException on failure, with {@link GitOperationException#authenticationFailed()} for a
     *                               rejected or missing token; the target directory is removed if this call made it
     * @throws dev.derrick.api.InvalidConfigException when {@code auth.token_env} is not set
     */
    public RepositoryState cloneRepository(RepositoryConfig repo, Path targetDir, ProgressListener progress) {
        ProgressListener listener = ProgressListener.orNone(progress);
        CredentialsProvider credentials = credentials(repo);
        boolean existed = Files.exists(targetDir);
        String url = redactor.redact(repo.url());
        LOG.info("cloning {} into {}{}", url, repo.path(), repo.reference() == null ? "" : " at " + repo.reference());
        long start = System.nanoTime();
        CloneCommand clone = Git.cloneRepository()
                .setURI(repo.url())
                .setDirectory(targetDir.toFile())
                .setCredentialsProvider(credentials)
                .setTimeout(timeoutSeconds)
                .setProgressMonitor(new Monitor(listener, repo.path()));
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
            RepositoryState state = describe(git.getRepository(), repo.path(), repo.url());
            if (repo.reference() != null && !commitReference && state.branch() == null
                    && !repo.reference().equals(state.branch())) {
                // A tag: checked out detached, which is what git does too.
                LOG.debug("{} is at tag {}", repo.path(), repo.reference());
            }
            LOG.info("cloned {} at {} in {} ms", repo.path(), state.commit().substring(0, 12),
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
     * Fetches {@code origin} and fast-forwards the checked-out branch when the work tree is clean. A dirty tree or a
     * diverged branch is reported, never overwritten.
     */
    public RepositoryFetch fetch(Path repoDir, RepositoryConfig repo, ProgressListener progress) {
        CredentialsProvider credentials = credentials(repo);
        try (Git git = Git.open(repoDir.toFile())) {
            Repository repository = git.getRepository();
            ObjectId before = repository.resolve(Constants.HEAD);
            long start = System.nanoTime();
            git.fetch().setRemote("origin").setCredentialsProvider(credentials).setTimeout(timeoutSeconds)
                    .setProgressMonitor(new Monitor(ProgressListener.orNone(progress), repo.path())).call();
            String branch = repository.getBranch();
            Ref head = repository.exactRef(Constants.HEAD);
            if (head == null || !head.isSymbolic()) {
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "detached");
            }
            String tracking = new BranchConfig(repository.getConfig(), branch).getRemoteTrackingBranch();
            ObjectId upstream = tracking == null ? null : repository.resolve(tracking);
            if (upstream == null || upstream.equals(before)) {
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "up-to-date");
            }
            try (RevWalk walk = new RevWalk(repository)) {
                RevCommit headCommit = walk.parseCommit(before);
                RevCommit upstreamCommit = walk.parseCommit(upstream);
                if (walk.isMergedInto(upstreamCommit, headCommit)) {
                    return new RepositoryFetch(repo.path(), name(before), name(before), false, "up-to-date");
                }
                if (!walk.isMergedInto(headCommit, upstreamCommit)) {
                    return new RepositoryFetch(repo.path(), name(before), name(before), false, "diverged");
                }
            }
            long fetched = System.nanoTime();
            if (!git.status().call().isClean()) {
                return new RepositoryFetch(repo.path(), name(before), name(before), false, "dirty");
            }
            long checked = System.nanoTime();
            MergeResult merge = git.merge().include(upstream).setFastForward(MergeCommand.FastForwardMode.FF_ONLY)
                    .setCommit(true).call();
            ObjectId after = repository.resolve(Constants.HEAD);
            boolean moved = !after.equals(before);
            long done = System.nanoTime();
            LOG.info("fetched {}: {} -> {} ({}; fetch {} ms, clean check {} ms, merge {} ms)", repo.path(),
                    abbreviate(before), abbreviate(after), merge.getMergeStatus(), (fetched - start) / 1_000_000,
                    (checked - fetched) / 1_000_000, (done - checked) / 1_000_000);
            return new RepositoryFetch(repo.path(), name(before), name(after), moved,
                    moved ? "fast-forwarded" : "up-to-date");
        } catch (GitAPIException | IOException | RuntimeException e) {
            if (e instanceof GitOperationException g) {
                throw g;
            }
            throw translate("fetch", repo, e);
        }
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

    private CredentialsProvider credentials(RepositoryConfig repo) {
        GitAuth auth = repo.auth();
        if (auth == null) {
            return null;
        }
        String token = auth.resolveToken(providerEnvironment);
        redactor.add(token);
        return new UsernamePasswordCredentialsProvider(auth.username(), token);
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
