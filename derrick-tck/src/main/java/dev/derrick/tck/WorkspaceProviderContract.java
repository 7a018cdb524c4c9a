package dev.derrick.tck;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.Capability;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.InvalidPathException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProviderNotFoundException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.WorkspaceIds;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behavioural contract every {@link WorkspaceProvider} meets. A provider's test extends this class and names
 * its provider; everything else has a default that a provider may override:
 *
 * <pre>{@code
 * class LocalProviderIT extends WorkspaceProviderContract {
 *     protected String providerName() { return "local"; }
 *     protected Map<String, Object> providerOptions(Map<String, String> environment) {
 *         return Map.of("environment", environment, "root", tmp.toString());
 *     }
 * }
 * }</pre>
 *
 * <p>The suite starts a token-protected {@link GitTestServer} and hands the provider an environment holding that
 * token in {@link #TOKEN_ENV} (plus a decoy secret in {@link #DECOY_ENV} that must never reach a workspace). Providers
 * that take their environment elsewhere (a remote agent) use {@link #providerEnvironment()} to start it and override
 * {@link #openProvider(Map)}. {@link #customize(WorkspaceConfig.Builder)} adjusts every config (e.g. an image).
 *
 * <p>Commands used are POSIX sh with busybox tools ({@code head}, {@code tr}, {@code sort}, {@code grep}), so a
 * minimal image works. One workspace is shared by the tests that only read or write their own files; each test
 * that needs a fresh one makes it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class WorkspaceProviderContract {
    /** The provider environment variable holding the git server's token. */
    public static final String TOKEN_ENV = "DERRICK_TCK_GIT_TOKEN";
    /** A provider environment variable holding a wrong token. */
    public static final String WRONG_TOKEN_ENV = "DERRICK_TCK_WRONG_TOKEN";
    /** A provider environment variable holding a secret that must never reach a workspace. */
    public static final String DECOY_ENV = "DERRICK_TCK_PROVIDER_SECRET";
    /** The repository every workspace of the suite clones, and where. */
    protected static final String REPO = "app";
    protected static final String REPO_PATH = "code/app";
    protected static final String README = "hello from the tck\n";

    protected final String token = "tck-token-" + UUID.randomUUID();
    protected final String wrongToken = "tck-wrong-" + UUID.randomUUID();
    protected final String decoy = "tck-decoy-" + UUID.randomUUID();
    protected GitTestServer git;
    protected String firstCommit;
    protected WorkspaceProvider provider;
    private Workspace shared;

    /** The name the provider is registered under, e.g. {@code local}. */
    protected abstract String providerName();

    /** Options to open the provider with, for {@link WorkspaceProviders#open(String, Map)}; gets the environment to inject. */
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        return Map.of("environment", environment);
    }

    /** Opens the provider under test so that it sees {@code environment} as its own. */
    protected WorkspaceProvider openProvider(Map<String, String> environment) {
        return WorkspaceProviders.open(providerName(), providerOptions(environment));
    }

    /** Adjusts every config the suite builds, e.g. sets an image. */
    protected WorkspaceConfig.Builder customize(WorkspaceConfig.Builder builder) {
        return builder;
    }

    /** The provider's cap on captured output per stream, as opened by {@link #providerOptions(Map)}. */
    protected long outputLimitBytes() {
        return 4L * 1024 * 1024;
    }

    /**
     * Whether {@code exec(request, listener)} hands output to the listener while the command still runs. Every
     * built-in provider does, and so should a new one. A provider whose transport can only bring the output back with
     * the result (request/reply without streaming) overrides this to return {@code false}, stating the limitation
     * where it is tested; {@link #outputReachesTheListenerWhileTheCommandRuns()} then still demands that the
     * listener gets the whole output, in order, before {@code exec} returns.
     */
    protected boolean streamsOutputWhileRunning() {
        return true;
    }

    /**
     * Whether the provider implements {@link Workspace#reset()}. When it does not, the TCK demands a clear
     * {@link OperationNotSupportedException} instead of a state change.
     */
    protected boolean supportsReset() {
        return true;
    }

    /** Whether the provider implements {@link Workspace#checkpoint()} / {@link Workspace#restore(String)}. */
    protected boolean supportsCheckpoints() {
        return true;
    }

    /** Whether the provider implements {@link Workspace#fetch()}. */
    protected boolean supportsFetch() {
        return true;
    }

    /**
     * Whether the provider implements the file API beyond read/write/list: {@link Workspace#stat}, {@code delete},
     * {@code move}, {@code mkdirs} and the recursive {@code listFiles}. When it does not, the TCK demands a clear
     * {@link OperationNotSupportedException}.
     */
    protected boolean supportsFileOperations() {
        return true;
    }

    /**
     * Whether {@link Workspace#diff()} works in the suite's workspaces (it runs {@code git} in the workspace; an image
     * without git cannot). When not, the TCK demands a clear {@link DerrickException} naming git or saying that diff
     * is not supported.
     */
    protected boolean supportsDiff() {
        return true;
    }

    /** Whether {@link dev.derrick.api.WorkspaceDiff#outsideTracked()}: the provider reports changes outside repositories. */
    protected boolean tracksChangesOutsideRepositories() {
        return true;
    }

    /** Whether the provider runs background processes ({@link Workspace#start}). */
    protected boolean supportsBackgroundProcesses() {
        return true;
    }

    /**
     * Whether a path that climbs or leads out of the workspace is refused with {@link InvalidPathException} (the
     * default), or only with its supertype {@link InvalidConfigException}: a remote client gets the wire's
     * {@code invalid_request}, which does not tell a path error from another bad request.
     */
    protected boolean pathErrorsAreTyped() {
        return true;
    }

    /** The exception type a path out of the workspace must raise: see {@link #pathErrorsAreTyped()}. */
    protected final Class<? extends InvalidConfigException> pathError() {
        return pathErrorsAreTyped() ? InvalidPathException.class : InvalidConfigException.class;
    }

    /**
     * Whether {@code ws} supports {@code capability} by its {@link Workspace#capabilities()}, which decides what the
     * suite tests; asserts that this agrees with what the test class declares ({@code declared}, one of the
     * {@code supports…()} hooks), so a provider can neither claim an operation it does not have nor hide one.
     */
    protected final boolean supports(Workspace ws, Capability capability, boolean declared) {
        boolean claimed = ws.capabilities().contains(capability);
        assertThat(claimed).as("%s in capabilities() of %s (the test class declares %s)", capability,
                providerName(), declared ? "it supported" : "it unsupported").isEqualTo(declared);
        return claimed;
    }

    /**
     * Asserts that no process whose environment holds {@code marker} is left after a timeout. The default looks
     * through {@code /proc} from inside the workspace, which works for local directories and containers alike.
     */
    protected void assertNoProcessLeft(Workspace ws, String marker) throws InterruptedException {
        String scan = "n=0; for f in /proc/[0-9]*/environ; do grep -q " + marker + " \"$f\" 2>/dev/null && n=$((n+1)); done; echo $n";
        String count = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < deadline) {
            count = ws.exec(scan).stdout().trim();
            if (count.equals("0")) {
                return;
            }
            Thread.sleep(100);
        }
        assertThat(count).as("processes with the timed-out command's marker still running").isEqualTo("0");
    }

    /**
     * The absolute form of a path under the workspace root, as file operations and working directories take it.
     * The default, {@code "/" + path}, fits providers whose absolute paths mean "under the root"; a provider whose
     * absolute paths belong to another file system (docker: container paths, with a root that need not be {@code /})
     * overrides it.
     */
    protected String absolutePath(String pathUnderRoot) {
        return "/" + pathUnderRoot;
    }

    /** A promise of isolation the opt-in isolation contract checks (see {@link #isolationGuarantees()}). */
    public enum IsolationGuarantee {
        /** No provider secret (token, API token, any of its environment) reachable through /proc or the environment. */
        SECRETS,
        /** Another workspace's processes and files cannot be seen. */
        SIBLINGS,
        /** {@code /tmp} is the workspace's own. */
        PRIVATE_TMP,
        /** The provider's process cannot be seen or signalled. */
        PROVIDER_SIGNALS,
        /** An absolute path means the same to a command and to the file API. */
        ABSOLUTE_PATHS,
        /** Background daemons ({@code setsid nohup … &}) are gone once the workspace is closed. */
        DAEMONS_END
    }

    /**
     * The isolation promises this provider keeps: each one named is a test of the isolation contract; the rest are
     * not tested (the provider's documentation should say it does not keep them). The default is none: providers
     * opt in.
     */
    protected Set<IsolationGuarantee> isolationGuarantees() {
        return Set.of();
    }

    /**
     * Asserts that no process anywhere on this machine carries {@code marker} in its environment, within a few
     * seconds. The default scans the host's {@code /proc}, which sees local sandboxes and local containers alike.
     */
    protected void assertNoProcessAnywhere(String marker) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> found = hostProcessesWith(marker);
        while (!found.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            found = hostProcessesWith(marker);
        }
        assertThat(found).as("processes carrying %s after close()", marker).isEmpty();
    }

    private static List<String> hostProcessesWith(String marker) {
        List<String> found = new ArrayList<>();
        java.io.File[] procs = new java.io.File("/proc").listFiles(f -> f.getName().chars().allMatch(Character::isDigit));
        if (procs == null) {
            return found;
        }
        for (java.io.File proc : procs) {
            try {
                String stat = java.nio.file.Files.readString(proc.toPath().resolve("stat"), StandardCharsets.ISO_8859_1);
                if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                    continue;
                }
                if (new String(java.nio.file.Files.readAllBytes(proc.toPath().resolve("environ")), StandardCharsets.ISO_8859_1)
                        .contains(marker)) {
                    found.add(proc.getName());
                }
            } catch (java.io.IOException | RuntimeException e) {
                // gone meanwhile, or not readable
            }
        }
        return found;
    }

    /**
     * Whether a walk over all of a workspace's files skips this entry (a path relative to the root): e.g. the host's
     * system directories a sandbox mounts read-only at its top ({@code usr}, {@code etc}, {@code proc}, …), which are
     * not the workspace's files. The default skips nothing.
     */
    protected boolean skipWhenWalkingFiles(String path) {
        return false;
    }

    /** Asserts that a failed create left nothing (beyond not being listed); e.g. no directory, no container. */
    protected void assertNothingLeftBehind(Set<String> idsBefore) {
    }

    /** The environment the provider is given: the JVM's, plus the token, a wrong token and a decoy secret. */
    protected Map<String, String> providerEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put(TOKEN_ENV, token);
        env.put(WRONG_TOKEN_ENV, wrongToken);
        env.put(DECOY_ENV, decoy);
        return env;
    }

    @BeforeAll
    void startContract() {
        git = GitTestServer.start(token);
        firstCommit = git.createRepository(REPO, Map.of("README.md", README, "src/Main.java", "class Main {}\n"));
        provider = openProvider(providerEnvironment());
        shared = provider.create(config("tck-shared")
                .setupScript("echo \"setup saw $CONFIG_ONLY\" > setup-out.txt\ncat " + REPO_PATH + "/README.md > copied-readme.txt")
                .build());
    }

    @AfterAll
    void stopContract() {
        try {
            if (shared != null) {
                shared.close();
            }
            if (provider != null) {
                provider.close();
            }
        } finally {
            if (git != null) {
                git.close();
            }
        }
    }

    /** A config cloning the suite's repository with the token from the provider's environment. */
    protected WorkspaceConfig.Builder config(String name) {
        return customize(WorkspaceConfig.builder(name)
                .repository(RepositoryConfig.of(git.url(REPO), REPO_PATH).withAuth(GitAuth.fromEnv(TOKEN_ENV)))
                .env("CONFIG_ONLY", "from-config")
                .env("LAYERED", "config"));
    }

    /** The workspace shared by tests that only touch their own files. */
    protected Workspace shared() {
        return shared;
    }

    private Set<String> ids() {
        Set<String> ids = new java.util.HashSet<>();
        provider.list().forEach(w -> ids.add(w.id()));
        return ids;
    }

    // ---- create -------------------------------------------------------------------------------------------------

    @Test
    void createClonesTheRepositoryFromTheTokenProtectedServer() {
        assertThat(shared.readString(REPO_PATH + "/README.md")).isEqualTo(README);
        assertThat(shared.readString(REPO_PATH + "/src/Main.java")).isEqualTo("class Main {}\n");
        List<RepositoryState> repos = shared.info().repositories();
        assertThat(repos).hasSize(1);
        assertThat(repos.get(0).path()).isEqualTo(REPO_PATH);
        assertThat(repos.get(0).commit()).isEqualTo(firstCommit);
        assertThat(repos.get(0).url()).isEqualTo(git.url(REPO));
        assertThat(shared.info().provider()).isEqualTo(providerName());
        assertThat(shared.info().configName()).isEqualTo("tck-shared");
    }

    @Test
    void workspaceIdsHaveTheOneShape() {
        assertThat(shared.id()).as("<provider>-<12 hex digits>, see WorkspaceIds").matches(WorkspaceIds.PATTERN);
        assertThat(shared.info().id()).isEqualTo(shared.id());
    }

    @Test
    void setupScriptRanInTheRootWithTheConfigEnvAfterCloning() {
        assertThat(shared.readString("setup-out.txt")).isEqualTo("setup saw from-config\n");
        assertThat(shared.readString("copied-readme.txt")).isEqualTo(README);
    }

    @Test
    void workspacesAreListedAndFoundById() {
        assertThat(provider.list()).extracting(Workspace::id).contains(shared.id());
        assertThat(provider.get(shared.id()).id()).isEqualTo(shared.id());
        assertThat(provider.find("no-such-workspace")).isEmpty();
        assertThatThrownBy(() -> provider.get("no-such-workspace")).isInstanceOf(WorkspaceNotFoundException.class);
    }

    @Test
    void failingSetupReportsOutputAndExitCodeAndLeavesNothing() {
        Set<String> before = ids();
        assertThatThrownBy(() -> provider.create(config("tck-failing-setup")
                .setupScript("echo setup-says-hello\necho setup-complains >&2\nexit 3").build()))
                .isInstanceOfSatisfying(SetupFailedException.class, e -> {
                    assertThat(e.exitCode()).isEqualTo(3);
                    assertThat(e.output()).contains("setup-says-hello").contains("setup-complains");
                    assertThat(e.getMessage()).contains("3");
                });
        assertThat(ids()).isEqualTo(before);
        assertNothingLeftBehind(before);
    }

    @Test
    void wrongTokenFailsWithAuthenticationErrorShowingNoToken() {
        Set<String> before = ids();
        WorkspaceConfig bad = customize(WorkspaceConfig.builder("tck-wrong-token")
                .repository(RepositoryConfig.of(git.url(REPO), REPO_PATH).withAuth(GitAuth.fromEnv(WRONG_TOKEN_ENV))))
                .build();
        assertThatThrownBy(() -> provider.create(bad))
                .isInstanceOfSatisfying(GitOperationException.class, e -> assertThat(e.authenticationFailed()).isTrue())
                .hasMessageContaining("authentication failed")
                .satisfies(e -> assertThat(messages(e)).doesNotContain(wrongToken).doesNotContain(token));
        assertThat(ids()).isEqualTo(before);
        assertNothingLeftBehind(before);
    }

    @Test
    void noTokenOrProviderSecretInAnyFileOrInTheCommandEnvironment() {
        List<String> files = new ArrayList<>();
        collectFiles(shared, "", files);
        assertThat(files).contains(REPO_PATH + "/.git/config", REPO_PATH + "/README.md");
        for (String file : files) {
            String content = new String(shared.readFile(file), StandardCharsets.ISO_8859_1);
            assertThat(content).as("content of %s", file).doesNotContain(token).doesNotContain(decoy);
        }
        String env = shared.exec("env").stdout();
        assertThat(env).contains("CONFIG_ONLY=from-config")
                .doesNotContain(token).doesNotContain(decoy).doesNotContain(wrongToken)
                .doesNotContain(TOKEN_ENV).doesNotContain(DECOY_ENV);
    }

    private void collectFiles(Workspace ws, String dir, List<String> into) {
        for (FileEntry entry : ws.listFiles(dir)) {
            if (skipWhenWalkingFiles(entry.path())) {
                continue;
            }
            if (entry.directory()) {
                collectFiles(ws, entry.path(), into);
            } else {
                into.add(entry.path());
            }
        }
    }

    // ---- exec ---------------------------------------------------------------------------------------------------

    @Test
    void exitCodesAreReportedNotThrown() {
        assertThat(shared.exec("true").exitCode()).isZero();
        assertThat(shared.exec("true").succeeded()).isTrue();
        ExecResult failed = shared.exec("false");
        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.succeeded()).isFalse();
        assertThat(shared.exec("exit 7").exitCode()).isEqualTo(7);
        assertThat(shared.exec("no-such-command-tck").exitCode()).isEqualTo(127);
    }

    @Test
    void stdoutAndStderrAreSeparate() {
        ExecResult r = shared.exec("echo to-stdout; echo to-stderr >&2");
        assertThat(r.stdout()).isEqualTo("to-stdout\n");
        assertThat(r.stderr()).isEqualTo("to-stderr\n");
        assertThat(r.output()).contains("to-stdout\n", "to-stderr\n");
        assertThat(r.timedOut()).isFalse();
        assertThat(r.truncated()).isFalse();
        assertThat(r.elapsed()).isPositive();
    }

    /**
     * Both streams alternate. Each stream keeps its own order and the interleaved output holds every line, each
     * stream in order. (Writes microseconds apart on two pipes have no observable order; see the next test.)
     */
    @Test
    void commandAlternatingStreamsKeepsEachStreamInOrder() {
        ExecResult r = shared.exec("for i in 1 2 3; do echo out$i; echo err$i >&2; done");
        assertThat(r.stdout()).isEqualTo("out1\nout2\nout3\n");
        assertThat(r.stderr()).isEqualTo("err1\nerr2\nerr3\n");
        List<String> lines = r.output().lines().toList();
        assertThat(lines).containsExactlyInAnyOrder("out1", "out2", "out3", "err1", "err2", "err3");
        assertThat(lines.stream().filter(l -> l.startsWith("out")).toList()).containsExactly("out1", "out2", "out3");
        assertThat(lines.stream().filter(l -> l.startsWith("err")).toList()).containsExactly("err1", "err2", "err3");
    }

    @Test
    void interleavedOutputFollowsWriteOrder() {
        ExecResult r = shared.exec("for i in 1 2 3; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done");
        assertThat(r.output()).isEqualTo("out1\nerr1\nout2\nerr2\nout3\nerr3\n");
    }

    @Test
    void outputStreamsToAListenerWhileRunning() {
        List<String> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = shared.exec(ExecRequest.of("echo streamed-out; echo streamed-err >&2"),
                (stream, chunk) -> chunks.add(stream + ":" + chunk));
        assertThat(String.join("", chunks)).contains("STDOUT:streamed-out\n", "STDERR:streamed-err\n");
        assertThat(r.stdout()).isEqualTo("streamed-out\n");
    }

    @Test
    void outputReachesTheListenerWhileTheCommandRuns() {
        List<String> chunks = new CopyOnWriteArrayList<>();
        long[] earlyAt = {0};
        ExecResult r = shared.exec(ExecRequest.of("echo early; sleep 1.5; echo late"), (stream, chunk) -> {
            synchronized (earlyAt) {
                if (earlyAt[0] == 0 && String.join("", chunks).concat(chunk).contains("early")) {
                    earlyAt[0] = System.nanoTime();
                }
            }
            chunks.add(chunk);
        });
        long returnedAt = System.nanoTime();
        assertThat(r.stdout()).isEqualTo("early\nlate\n");
        assertThat(String.join("", chunks)).as("everything the listener got").isEqualTo("early\nlate\n");
        if (streamsOutputWhileRunning()) {
            assertThat(Duration.ofNanos(returnedAt - earlyAt[0]))
                    .as("time from the first line reaching the listener to exec returning (the command sleeps 1.5 s "
                            + "after it); a provider that cannot stream overrides streamsOutputWhileRunning()")
                    .isGreaterThan(Duration.ofMillis(700));
        }
    }

    @Test
    void requestEnvIsLayeredOverConfigEnv() {
        ExecResult r = shared.exec(ExecRequest.of("echo \"$CONFIG_ONLY $LAYERED $REQUEST_ONLY\"")
                .withEnv(Map.of("LAYERED", "request", "REQUEST_ONLY", "r")));
        assertThat(r.stdout()).isEqualTo("from-config request r\n");
        assertThat(shared.exec("echo \"$LAYERED\"").stdout()).isEqualTo("config\n");
    }

    @Test
    void commandsRunInTheRootOrTheGivenWorkingDirectory() {
        assertThat(shared.exec("cat copied-readme.txt").stdout()).isEqualTo(README);
        ExecResult r = shared.exec(ExecRequest.of("pwd; cat README.md").withWorkingDir(REPO_PATH));
        assertThat(r.stdout()).endsWith("/" + REPO_PATH + "\n" + README);
        ExecResult absolute = shared.exec(ExecRequest.of("cat README.md").withWorkingDir(absolutePath(REPO_PATH)));
        assertThat(absolute.stdout()).isEqualTo(README);
    }

    @Test
    void aMissingWorkingDirectoryIsAClearError() {
        assertThatThrownBy(() -> shared.exec(ExecRequest.of("true").withWorkingDir("tck-no-such-dir")))
                .isInstanceOf(DerrickException.class).hasMessageContaining("tck-no-such-dir");
    }

    @Test
    void heredocsMultiLineScriptsPipesAndVariablesWork() {
        ExecResult r = shared.exec("""
                cat <<'EOF' > tck-heredoc.txt
                first $NOT_EXPANDED
                second
                EOF
                x=20
                y=22
                echo "sum=$((x + y))"
                printf 'b\\na\\nc\\n' | sort | tr -d '\\n'
                echo
                cat tck-heredoc.txt | grep -c line || true
                cat tck-heredoc.txt
                """);
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).isEqualTo("sum=42\nabc\n0\nfirst $NOT_EXPANDED\nsecond\n");
    }

    @Test
    void argvPassesEveryArgumentVerbatimWithoutAShell() {
        String tricky = "a b  'single' \"double\" $HOME ${PATH} `id` $(id) ; | & * ~ \\ end";
        ExecResult r = shared.exec(ExecRequest.argv("printf", "%s\\n", tricky, "", "second line\nhere", "-n"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.stdout()).isEqualTo(tricky + "\n\nsecond line\nhere\n-n\n");

        ExecResult inDir = shared.exec(ExecRequest.argv("cat", "README.md").withWorkingDir(REPO_PATH)
                .withEnv("TCK_ARGV", "x $HOME y"));
        assertThat(inDir.stdout()).isEqualTo(README);
        // the script is one argument, passed to sh as written; the variable's value is not expanded again
        assertThat(shared.exec(ExecRequest.argv("sh", "-c", "printf '%s|' \"$TCK_ARGV\" \"$0\" \"$1\"", "zero $HOME",
                "one 'q'").withEnv("TCK_ARGV", "x $HOME y")).stdout()).isEqualTo("x $HOME y|zero $HOME|one 'q'|");
        shared.writeString("tck argv file.txt", "spaced\n");
        assertThat(shared.exec(ExecRequest.argv("cat", "tck argv file.txt")).stdout()).isEqualTo("spaced\n");
        assertThat(shared.exec(ExecRequest.argv("tck-no-such-program", "x")).exitCode())
                .as("a program that is not there: 127, as a shell says").isEqualTo(127);
        assertThat(shared.exec(ExecRequest.argv("sh", "-c", "exit 7")).exitCode()).isEqualTo(7);
        assertThatThrownBy(() -> ExecRequest.argv(new String[0])).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> ExecRequest.argv("")).isInstanceOf(InvalidConfigException.class);
    }

    @Test
    void timeoutKillsTheCommandQuicklyAndMarksTheResult() throws InterruptedException {
        String marker = "tckmarker" + UUID.randomUUID().toString().replace("-", "");
        long start = System.nanoTime();
        ExecResult r = shared.exec(ExecRequest.of("sleep 60").withEnv("TCK_MARKER", marker).withTimeout(Duration.ofSeconds(2)));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).as("a timed-out command's exit code, the same in every provider")
                .isEqualTo(ExecResult.TIMED_OUT_EXIT_CODE).isEqualTo(124);
        assertThat(r.succeeded()).isFalse();
        assertThat(took).isLessThan(Duration.ofSeconds(5));
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
        assertNoProcessLeft(shared, marker);
    }

    @Test
    void outputFarPastTheCapIsTruncated() {
        long limit = outputLimitBytes();
        ExecResult r = shared.exec("head -c " + limit * 3 + " /dev/zero | tr '\\0' x; echo done >&2");
        assertThat(r.truncated()).isTrue();
        assertThat(r.exitCode()).isZero();
        assertThat((long) r.stdout().length()).isLessThanOrEqualTo(limit).isGreaterThan(0);
        assertThat(r.stdout()).matches("x+");
    }

    // ---- files --------------------------------------------------------------------------------------------------

    @Test
    void filesAreWrittenReadAndListed() {
        byte[] binary = new byte[256];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) i;
        }
        shared.writeFile("tck-files/nested/deeper/binary.bin", binary);
        shared.writeString("tck-files/a.txt", "alpha");
        shared.writeString("tck-files/a.txt", "alpha, replaced");
        assertThat(shared.readFile("tck-files/nested/deeper/binary.bin")).isEqualTo(binary);
        assertThat(shared.readString(absolutePath("tck-files/a.txt"))).isEqualTo("alpha, replaced");
        assertThat(shared.exec("cat tck-files/a.txt").stdout()).isEqualTo("alpha, replaced");

        List<FileEntry> entries = shared.listFiles("tck-files");
        assertThat(entries).extracting(FileEntry::name).containsExactly("a.txt", "nested");
        assertThat(entries.get(0).directory()).isFalse();
        assertThat(entries.get(0).size()).isEqualTo("alpha, replaced".length());
        assertThat(entries.get(0).path()).isEqualTo("tck-files/a.txt");
        assertThat(entries.get(1).directory()).isTrue();
        assertThat(shared.listFiles("")).extracting(FileEntry::name).contains("code", "tck-files", "setup-out.txt");
    }

    @Test
    void missingFilesAndEscapingPathsAreClearErrors() {
        assertThatThrownBy(() -> shared.readFile("tck-no-such-file.txt"))
                .isInstanceOf(WorkspaceFileNotFoundException.class).hasMessageContaining("tck-no-such-file.txt");
        assertThatThrownBy(() -> shared.listFiles("tck-no-such-dir"))
                .isInstanceOf(WorkspaceFileNotFoundException.class).hasMessageContaining("tck-no-such-dir");
        // The wrong kind of path is bad input (400 over the wire), not a fault.
        assertThatThrownBy(() -> shared.readFile("code"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("code");
        assertThatThrownBy(() -> shared.readFile("../outside.txt"))
                .isInstanceOf(DerrickException.class).hasMessageContaining("../outside.txt");
        assertThatThrownBy(() -> shared.writeString("code/../../outside.txt", "x"))
                .isInstanceOf(DerrickException.class).hasMessageContaining("outside.txt");
    }

    // ---- isolation (opt-in: isolationGuarantees()) ------------------------------------------------------------------

    /**
     * One test per promise the provider declares in {@link #isolationGuarantees()}; a promise it does not declare is
     * not a test at all (neither run nor reported as skipped: it is documented as not kept, not left out).
     */
    @TestFactory
    Stream<DynamicTest> isolationContract() {
        Map<IsolationGuarantee, org.junit.jupiter.api.function.Executable> checks = new java.util.EnumMap<>(IsolationGuarantee.class);
        checks.put(IsolationGuarantee.SECRETS, this::isolationNoProviderSecretIsReachableThroughProcOrTheEnvironment);
        checks.put(IsolationGuarantee.SIBLINGS, this::isolationSiblingsAreInvisible);
        checks.put(IsolationGuarantee.PRIVATE_TMP, this::isolationTmpIsPrivate);
        checks.put(IsolationGuarantee.PROVIDER_SIGNALS, this::isolationTheProviderCannotBeSeenOrSignalled);
        checks.put(IsolationGuarantee.ABSOLUTE_PATHS, this::isolationAbsolutePathsMeanTheSameToCommandsAndTheFileApi);
        checks.put(IsolationGuarantee.DAEMONS_END, this::isolationBackgroundDaemonsAreGoneAfterClose);
        return isolationGuarantees().stream().sorted()
                .map(g -> DynamicTest.dynamicTest(providerName() + " keeps " + g, checks.get(g)));
    }

    private static String uniqueMarker() {
        return "tckiso" + UUID.randomUUID().toString().replace("-", "");
    }

    private void isolationNoProviderSecretIsReachableThroughProcOrTheEnvironment() {
        String everything = shared.exec("env; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < $f; done 2>/dev/null; true")
                .stdout();
        assertThat(everything).contains("CONFIG_ONLY=from-config")
                .doesNotContain(token).doesNotContain(decoy).doesNotContain(wrongToken).doesNotContain(DECOY_ENV);
    }

    private void isolationSiblingsAreInvisible() throws InterruptedException {
        String m = uniqueMarker();
        try (Workspace other = provider.create(config("tck-sibling").build())) {
            other.writeString(m + ".txt", "sibling");
            other.exec(ExecRequest.of("nohup sleep 3141 >/dev/null 2>&1 &").withEnv("TCK_SIBLING", m));
            String seen = shared.exec("grep -l " + m + " /proc/[0-9]*/environ 2>/dev/null; ps -ef 2>/dev/null | grep -c '[s]leep 3141';"
                    + " find / -xdev -name '" + m + ".txt' 2>/dev/null; test -e '" + other.info().root() + "/" + m + ".txt' && echo ROOT-VISIBLE; true")
                    .stdout();
            assertThat(seen).isEqualTo("0\n");
        }
    }

    private void isolationTmpIsPrivate() {
        String m = uniqueMarker();
        try (Workspace other = provider.create(config("tck-tmp").build())) {
            assertThat(other.exec("echo mine > /tmp/" + m).exitCode()).isZero();
            assertThat(shared.exec("test -e /tmp/" + m).exitCode()).as("the sibling's /tmp file").isNotZero();
            assertThat(java.nio.file.Files.exists(java.nio.file.Path.of("/tmp", m))).as("the host's /tmp").isFalse();
        }
    }

    private void isolationTheProviderCannotBeSeenOrSignalled() {
        long self = ProcessHandle.current().pid();
        assertThat(shared.exec("kill -0 " + self).exitCode()).isNotZero();
        assertThat(shared.exec("kill -TERM " + self + " || kill -KILL " + self).exitCode()).isNotZero();
        assertThat(shared.exec("test -e /proc/" + self + "/environ && grep -c " + TOKEN_ENV + " /proc/" + self + "/environ").stdout())
                .doesNotContain("1");
        assertThat(ProcessHandle.current().isAlive()).isTrue();
    }

    private void isolationAbsolutePathsMeanTheSameToCommandsAndTheFileApi() {
        String m = uniqueMarker();
        assertThat(shared.exec("echo from-command > /tmp/" + m).exitCode()).isZero();
        assertThat(shared.readString("/tmp/" + m)).isEqualTo("from-command\n");
        shared.writeString("/tmp/" + m + "-api", "from-api");
        assertThat(shared.exec("cat /tmp/" + m + "-api").stdout()).isEqualTo("from-api");
        shared.writeString(absolutePath(REPO_PATH + "/" + m), "repo");
        assertThat(shared.exec("cat " + absolutePath(REPO_PATH + "/" + m)).stdout()).isEqualTo("repo");
        assertThat(shared.exec("rm /tmp/" + m + " /tmp/" + m + "-api " + absolutePath(REPO_PATH + "/" + m)).exitCode()).isZero();
    }

    private void isolationBackgroundDaemonsAreGoneAfterClose() throws InterruptedException {
        String m = uniqueMarker();
        Workspace ws = provider.create(config("tck-daemons").build());
        try {
            ExecResult r = ws.exec(ExecRequest.of("setsid nohup sleep 300 >/dev/null 2>&1 & (cd / && nohup sleep 301 >/dev/null 2>&1 &); true")
                    .withEnv("TCK_DAEMON", m));
            assertThat(r.exitCode()).isZero();
        } finally {
            ws.close();
        }
        assertNoProcessAnywhere(m);
    }

    /**
     * Whether the file API addresses the workspace's whole machine, so that a symbolic link to {@code /etc/passwd}
     * stays inside it (a container: the file API takes absolute container paths and the engine resolves links within
     * the container). Default {@code false}: the workspace is a directory, and a link out of it must not be followed.
     */
    protected boolean fileApiSpansTheWholeMachine() {
        return false;
    }

    @Test
    void symbolicLinksPointingOutOfTheWorkspaceAreNeverFollowedByTheFileApi() throws IOException {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        // Targets outside: a file every machine has (read only), and paths that do not exist anywhere, so that a
        // backend that follows a link on write would create them (the test checks, and removes them).
        Path plantedDir = Path.of("/derrick-tck-" + tag);
        Path plantedFile = Path.of("/derrick-tck-" + tag + ".txt");
        ExecResult made = shared.exec("ln -s /etc/passwd tck-link-file-" + tag + " && ln -s /etc tck-link-dir-" + tag
                + " && ln -s ../../../../../../../../../../etc/passwd tck-link-rel-" + tag
                + " && ln -s " + plantedDir + " tck-link-newdir-" + tag + " && ln -s " + plantedFile + " tck-link-newfile-" + tag);
        assertThat(made.exitCode()).as(made.output()).isZero();
        try {
            String passwd = shared.exec("cat /etc/passwd").stdout();
            for (String link : List.of("tck-link-file-" + tag, "tck-link-dir-" + tag + "/passwd", "tck-link-rel-" + tag)) {
                if (fileApiSpansTheWholeMachine()) {
                    // Inside the container: what its commands see, never the provider's own file.
                    assertThat(shared.readString(link)).as(link).isEqualTo(passwd);
                } else {
                    assertThatThrownBy(() -> shared.readFile(link)).as("reading " + link).isInstanceOf(DerrickException.class);
                }
            }
            if (!fileApiSpansTheWholeMachine()) {
                List<FileEntry> listed;
                try {
                    listed = shared.listFiles("tck-link-dir-" + tag);
                } catch (DerrickException refused) {
                    listed = List.of();
                }
                assertThat(listed).as("listing a link to /etc").extracting(FileEntry::name).doesNotContain("passwd");
                // Listing the directory holding the links describes the links, not what they point to.
                long passwdSize = passwd.getBytes(StandardCharsets.UTF_8).length;
                assertThat(shared.listFiles("")).filteredOn(e -> e.name().endsWith("-" + tag)).hasSize(5)
                        .allSatisfy(e -> {
                            assertThat(e.directory()).as(e.name() + " is listed as a directory").isFalse();
                            assertThat(e.size()).as(e.name() + " is listed with its target's size").isNotEqualTo(passwdSize);
                        });
            }
            // Writes through a link must not create anything where it points, whatever else they do.
            try {
                shared.writeString("tck-link-newdir-" + tag + "/planted.txt", "planted");
            } catch (DerrickException refused) {
                // refusing is right
            }
            try {
                shared.writeString("tck-link-newfile-" + tag, "planted");
            } catch (DerrickException refused) {
                // so is refusing, or replacing the link itself
            }
            if (!fileApiSpansTheWholeMachine()) {
                assertThat(plantedDir).as("the provider followed a link out of the workspace on write").doesNotExist();
                assertThat(plantedFile).as("the provider followed a link out of the workspace on write").doesNotExist();
                assertThat(shared.exec("test -e " + plantedDir + " || test -e " + plantedFile).exitCode())
                        .as("the workspace sees nothing planted outside it").isNotZero();
            }
        } finally {
            shared.exec("rm -f tck-link-*-" + tag);
            if (Files.exists(plantedDir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(plantedFile, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(plantedDir.resolve("planted.txt"));
                Files.deleteIfExists(plantedDir);
                Files.deleteIfExists(plantedFile);
            }
        }
    }

    // ---- capabilities ---------------------------------------------------------------------------------------------

    @Test
    void capabilitiesAreFixedAndEveryOperationMissingFromThemIsRefusedAsNotSupported() {
        java.util.Set<Capability> caps = shared.capabilities();
        assertThat(caps).isNotNull();
        assertThatThrownBy(() -> caps.add(Capability.RESET)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(shared.capabilities()).as("the same set every time").isEqualTo(caps);
        for (Capability c : Capability.values()) {
            if (caps.contains(c)) {
                continue; // what is claimed is tested to work by the tests of that operation
            }
            org.assertj.core.api.ThrowableAssert.ThrowingCallable op = switch (c) {
                case LIST_FILES_RECURSIVE -> () -> shared.listFiles("", 1, 1);
                case STAT -> () -> shared.stat("");
                case DELETE -> () -> shared.delete("tck-none", true);
                case MOVE -> () -> shared.move("tck-none", "tck-else");
                case MKDIRS -> () -> shared.mkdirs("tck-none");
                case DIFF -> shared::diff;
                case BACKGROUND_PROCESSES -> () -> shared.start(ExecRequest.of("true"));
                case FETCH -> shared::fetch;
                case RESET -> shared::reset;
                case CHECKPOINT -> shared::checkpoint;
                case FORK -> () -> shared.fork(1);
                case DETACH -> shared::detach;
            };
            assertThatThrownBy(op).as("%s is not in capabilities(): it must be refused", c)
                    .isInstanceOf(OperationNotSupportedException.class);
        }
    }

    // ---- clean state: fetch, reset, checkpoints -------------------------------------------------------------------

    @Test
    void fetchBringsANewUpstreamCommitIntoACleanCheckoutAndLeavesADirtyOneAlone() {
        String repo = "tck-fetch-" + UUID.randomUUID().toString().substring(0, 8);
        String before = git.createRepository(repo, Map.of("README.md", "v1\n"));
        WorkspaceConfig config = customize(WorkspaceConfig.builder("tck-fetch")
                .repository(RepositoryConfig.of(git.url(repo), "code/fetch").withAuth(GitAuth.fromEnv(TOKEN_ENV))))
                .build();
        try (Workspace clean = provider.create(config); Workspace dirty = provider.create(config)) {
            if (!supports(clean, Capability.FETCH, supportsFetch())) {
                assertThatThrownBy(clean::fetch).isInstanceOf(OperationNotSupportedException.class);
                return;
            }
            assertThat(clean.fetch()).singleElement().satisfies(f -> {
                assertThat(f.updated()).isFalse();
                assertThat(f.after()).isEqualTo(before);
            });
            String pushed = git.commit(repo, Map.of("NEW.md", "new\n"), "upstream change");
            dirty.writeString("code/fetch/README.md", "a task's edit\n");

            assertThat(clean.fetch()).singleElement().satisfies(f -> {
                assertThat(f.path()).isEqualTo("code/fetch");
                assertThat(f.before()).isEqualTo(before);
                assertThat(f.after()).isEqualTo(pushed);
                assertThat(f.updated()).isTrue();
            });
            assertThat(clean.readString("code/fetch/NEW.md")).isEqualTo("new\n");
            assertThat(clean.info().repositories()).singleElement()
                    .satisfies(r -> assertThat(r.commit()).isEqualTo(pushed));

            assertThat(dirty.fetch()).singleElement().satisfies(f -> {
                assertThat(f.updated()).isFalse();
                assertThat(f.status()).isEqualTo("dirty");
                assertThat(f.fetchStatus()).isEqualTo(dev.derrick.api.FetchStatus.DIRTY);
            });
            assertThat(dirty.readString("code/fetch/README.md")).isEqualTo("a task's edit\n");
        }
    }

    @Test
    void resetUndoesEveryChangeInAndOutsideTheRepositoryAndKeepsTheId() {
        try (Workspace ws = provider.create(config("tck-reset").setupScript("echo built > tck-setup.txt").build())) {
            if (!supports(ws, Capability.RESET, supportsReset())) {
                assertThatThrownBy(ws::reset).isInstanceOf(OperationNotSupportedException.class);
                return;
            }
            String id = ws.id();
            ws.writeString(REPO_PATH + "/README.md", "edited by a task");
            ws.writeString(REPO_PATH + "/added.txt", "added by a task");
            ws.writeString("tck-task/out.txt", "outside the repository");
            ws.writeString("tck-setup.txt", "overwritten");
            assertThat(ws.exec("rm " + REPO_PATH + "/src/Main.java").succeeded()).isTrue();

            ws.reset();

            assertThat(ws.id()).isEqualTo(id);
            assertThat(provider.find(id)).isPresent();
            assertThat(ws.readString(REPO_PATH + "/README.md")).isEqualTo(README);
            assertThat(ws.readString(REPO_PATH + "/src/Main.java")).isEqualTo("class Main {}\n");
            assertThat(ws.readString("tck-setup.txt")).isEqualTo("built\n");
            assertThatThrownBy(() -> ws.readFile(REPO_PATH + "/added.txt")).isInstanceOf(WorkspaceFileNotFoundException.class);
            assertThatThrownBy(() -> ws.listFiles("tck-task")).isInstanceOf(WorkspaceFileNotFoundException.class);
            assertThat(ws.exec("cat " + REPO_PATH + "/README.md").stdout()).isEqualTo(README);
        }
    }

    @Test
    void forksHaveTheCurrentFilesTheirOwnIdsAndTheSourcesCleanState() {
        try (Workspace ws = provider.create(config("tck-fork").setupScript("echo built > tck-setup.txt").build())) {
            if (!ws.capabilities().contains(Capability.FORK)) {
                assertThatThrownBy(() -> ws.fork(1)).isInstanceOf(OperationNotSupportedException.class);
                return;
            }
            ws.writeString(REPO_PATH + "/README.md", "edited before the fork");
            ws.writeString("tck-task/out.txt", "outside the repository");
            List<Workspace> forks = ws.fork(2);
            try {
                assertThat(forks).hasSize(2);
                assertThat(forks).extracting(Workspace::id).doesNotHaveDuplicates().doesNotContain(ws.id());
                for (Workspace f : forks) {
                    assertThat(provider.find(f.id())).isPresent();
                    assertThat(f.readString(REPO_PATH + "/README.md")).isEqualTo("edited before the fork");
                    assertThat(f.exec("cat tck-task/out.txt").stdout()).isEqualTo("outside the repository");
                }
                forks.get(0).writeString("tck-task/only-0.txt", "0");
                assertThat(forks.get(1).exists("tck-task/only-0.txt")).isFalse();
                assertThat(ws.exists("tck-task/only-0.txt")).isFalse();
                if (forks.get(1).capabilities().contains(Capability.RESET)) {
                    forks.get(1).reset();
                    assertThat(forks.get(1).readString(REPO_PATH + "/README.md")).isEqualTo(README);
                    assertThat(forks.get(1).readString("tck-setup.txt")).isEqualTo("built\n");
                }
                assertThatThrownBy(() -> ws.fork(0)).isInstanceOf(dev.derrick.api.InvalidConfigException.class);
            } finally {
                forks.forEach(Workspace::close);
            }
            for (Workspace f : forks) {
                assertThat(provider.find(f.id())).isEmpty();
            }
        }
    }

    @Test
    void restoreReturnsToTheCheckpointNotToTheCleanState() {
        try (Workspace ws = provider.create(config("tck-checkpoint").build())) {
            if (!supports(ws, Capability.CHECKPOINT, supportsCheckpoints())) {
                assertThatThrownBy(ws::checkpoint).isInstanceOf(OperationNotSupportedException.class);
                assertThatThrownBy(() -> ws.restore("cp-any")).isInstanceOf(OperationNotSupportedException.class);
                return;
            }
            ws.writeString("tck-notes/a.txt", "first");
            String checkpoint = ws.checkpoint();
            assertThat(checkpoint).isNotBlank();
            ws.writeString("tck-notes/a.txt", "changed");
            ws.writeString("tck-notes/b.txt", "new");
            ws.writeString(REPO_PATH + "/README.md", "edited after the checkpoint");

            ws.restore(checkpoint);
            assertThat(ws.readString("tck-notes/a.txt")).isEqualTo("first");
            assertThatThrownBy(() -> ws.readFile("tck-notes/b.txt")).isInstanceOf(WorkspaceFileNotFoundException.class);
            assertThat(ws.readString(REPO_PATH + "/README.md")).isEqualTo(README);
            ws.writeString("tck-notes/a.txt", "again");
            ws.restore(checkpoint);   // a checkpoint can be returned to more than once
            assertThat(ws.exec("cat tck-notes/a.txt").stdout()).isEqualTo("first");

            assertThatThrownBy(() -> ws.restore("tck-no-such-checkpoint"))
                    .isInstanceOf(CheckpointNotFoundException.class).hasMessageContaining("tck-no-such-checkpoint");
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    @Test
    void providersAreFoundByNameAndUnknownNamesListTheAvailableOnes() {
        assertThat(WorkspaceProviders.available()).contains(providerName());
        assertThatThrownBy(() -> WorkspaceProviders.open("no-such-provider-tck"))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining("no-such-provider-tck")
                .hasMessageContaining(providerName());
        try (WorkspaceProvider byName = WorkspaceProviders.open(providerName(), providerOptions(providerEnvironment()))) {
            assertThat(byName.name()).isEqualTo(providerName());
            assertThat(byName.list()).isEmpty();
        }
    }

    @Test
    void closeIsIdempotentAndEndsTheWorkspace() {
        Workspace ws = provider.create(config("tck-close").build());
        String id = ws.id();
        assertThat(ws.exec("true").succeeded()).isTrue();
        ws.close();
        ws.close();
        assertThat(provider.find(id)).isEmpty();
        assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(DerrickException.class);
        // info() fails like every other call on a closed workspace, rather than describing what is gone.
        Throwable execError = org.assertj.core.api.Assertions.catchThrowable(() -> ws.exec("true"));
        assertThatThrownBy(ws::info).isInstanceOf(DerrickException.class).isInstanceOf(execError.getClass());
        assertThatThrownBy(() -> ws.readString("x")).isInstanceOf(execError.getClass());
    }

    @Test
    void closingTheProviderEndsItsWorkspacesAndIsIdempotent() {
        WorkspaceProvider other = openProvider(providerEnvironment());
        Workspace ws = other.create(config("tck-provider-close").build());
        assertThat(other.list()).extracting(Workspace::id).containsExactly(ws.id());
        other.close();
        other.close();
        assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(DerrickException.class);
        assertThatThrownBy(() -> other.create(config("tck-after-close").build())).isInstanceOf(DerrickException.class);
    }

    @Test
    void concurrentWorkspacesDoNotInterfere() throws Exception {
        int n = 3;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Callable<String>> tasks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String mine = "tck-concurrent-" + i;
                tasks.add(() -> {
                    try (Workspace ws = provider.create(config(mine).build())) {
                        ws.writeString("mine.txt", mine);
                        ws.exec("echo " + mine + " > from-exec.txt");
                        ExecResult r = ws.exec("cat mine.txt from-exec.txt; ls");
                        assertThat(ws.readString(REPO_PATH + "/README.md")).isEqualTo(README);
                        return ws.id() + "|" + r.stdout();
                    }
                });
            }
            Map<String, String> seen = new LinkedHashMap<>();
            List<Future<String>> futures = pool.invokeAll(tasks, 90, TimeUnit.SECONDS);
            for (int i = 0; i < n; i++) {
                String[] parts = futures.get(i).get().split("\\|", 2);
                seen.put(parts[0], parts[1]);
                assertThat(parts[1]).startsWith("tck-concurrent-" + i + "tck-concurrent-" + i + "\n");
                for (int j = 0; j < n; j++) {
                    if (j != i) {
                        assertThat(parts[1]).doesNotContain("tck-concurrent-" + j);
                    }
                }
            }
            assertThat(seen).hasSize(n);
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- the agent's tools: file API, edit, diff, background processes ----------------------------------------

    @Test
    void orThrowReturnsASuccessAndThrowsTheFailureWithItsOutput() {
        assertThat(shared.exec("echo fine").orThrow().stdout()).isEqualTo("fine\n");
        assertThatThrownBy(() -> shared.exec("echo tck-bad-output; exit 3").orThrow())
                .isInstanceOf(dev.derrick.api.CommandFailedException.class)
                .hasMessageContaining("exited with code 3").hasMessageContaining("tck-bad-output")
                .satisfies(e -> assertThat(((dev.derrick.api.CommandFailedException) e).exitCode()).isEqualTo(3));
    }

    @Test
    void fileOperationsStatMoveDeleteMkdirsAndListRecursivelyWithLimits() {
        boolean fileOps = supportsFileOperations();
        for (Capability c : Capability.FILE_OPERATIONS) {
            supports(shared, c, fileOps);
        }
        if (!fileOps) {
            assertThatThrownBy(() -> shared.stat("code")).isInstanceOf(OperationNotSupportedException.class);
            assertThatThrownBy(() -> shared.exists("code")).isInstanceOf(OperationNotSupportedException.class);
            assertThatThrownBy(() -> shared.listFiles("code", 2, 10)).isInstanceOf(OperationNotSupportedException.class);
            assertThatThrownBy(() -> shared.delete("tck-none", true)).isInstanceOf(OperationNotSupportedException.class);
            assertThatThrownBy(() -> shared.move("tck-none", "tck-else")).isInstanceOf(OperationNotSupportedException.class);
            assertThatThrownBy(() -> shared.mkdirs("tck-none")).isInstanceOf(OperationNotSupportedException.class);
            return;
        }
        String d = "tck-fileops-" + UUID.randomUUID().toString().substring(0, 8);
        shared.mkdirs(d + "/a/b/c");
        shared.mkdirs(d + "/a/b/c"); // existing: fine
        shared.writeString(d + "/a/one.txt", "one");
        shared.writeString(d + "/a/b/two.txt", "two!");
        shared.exec("chmod 755 " + d + "/a/one.txt && ln -s one.txt " + d + "/a/link && ln -s /etc/passwd " + d
                + "/a/out-link").orThrow();

        dev.derrick.api.FileStat file = shared.stat(d + "/a/one.txt").orElseThrow();
        assertThat(file.type()).isEqualTo(dev.derrick.api.FileType.FILE);
        assertThat(file.size()).isEqualTo(3);
        assertThat(file.mode() & 0777).isEqualTo(0755);
        assertThat(file.path()).isEqualTo(d + "/a/one.txt");
        assertThat(file.modified()).isAfter(java.time.Instant.now().minus(Duration.ofHours(1)));
        assertThat(shared.stat(d + "/a").orElseThrow().type()).isEqualTo(dev.derrick.api.FileType.DIRECTORY);
        dev.derrick.api.FileStat link = shared.stat(d + "/a/link").orElseThrow();
        assertThat(link.type()).isEqualTo(dev.derrick.api.FileType.SYMLINK);
        assertThat(link.linkTarget()).isEqualTo("one.txt");
        // a link pointing out of the workspace is described, never followed
        assertThat(shared.stat(d + "/a/out-link").orElseThrow().type()).isEqualTo(dev.derrick.api.FileType.SYMLINK);
        assertThat(shared.stat(d + "/nothing")).isEmpty();
        assertThat(shared.exists(d + "/a/b/two.txt")).isTrue();
        assertThat(shared.exists(d + "/a/nothing")).isFalse();

        dev.derrick.api.FileListing all = shared.listFiles(d, 10, 100);
        assertThat(all.truncated()).isFalse();
        assertThat(all.entries()).extracting(dev.derrick.api.FileStat::path).containsExactly(
                d + "/a", d + "/a/b", d + "/a/b/c", d + "/a/b/two.txt", d + "/a/link", d + "/a/one.txt",
                d + "/a/out-link");
        assertThat(shared.listFiles(d, 2, 100).entries()).extracting(dev.derrick.api.FileStat::path)
                .containsExactly(d + "/a", d + "/a/b", d + "/a/link", d + "/a/one.txt", d + "/a/out-link");
        dev.derrick.api.FileListing cut = shared.listFiles(d, 10, 3);
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.entries()).extracting(dev.derrick.api.FileStat::path)
                .containsExactly(d + "/a", d + "/a/b", d + "/a/b/c");
        assertThatThrownBy(() -> shared.listFiles(d + "/nothing", 1, 10))
                .isInstanceOf(WorkspaceFileNotFoundException.class).hasMessageContaining("nothing");
        assertThatThrownBy(() -> shared.listFiles(d, 0, 10)).isInstanceOf(InvalidConfigException.class);

        shared.move(d + "/a/one.txt", d + "/moved/deep/one.txt");
        assertThat(shared.readString(d + "/moved/deep/one.txt")).isEqualTo("one");
        assertThat(shared.exists(d + "/a/one.txt")).isFalse();
        shared.writeString(d + "/x.txt", "x");
        shared.move(d + "/x.txt", d + "/moved/deep/one.txt"); // replaces a file
        assertThat(shared.readString(d + "/moved/deep/one.txt")).isEqualTo("x");
        assertThatThrownBy(() -> shared.move(d + "/a/b/two.txt", d + "/a/b/c"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("directory");
        assertThatThrownBy(() -> shared.move(d + "/nothing", d + "/else"))
                .isInstanceOf(WorkspaceFileNotFoundException.class);
        assertThatThrownBy(() -> shared.move(d + "/a", "../escaped")).isInstanceOf(pathError());

        assertThatThrownBy(() -> shared.delete(d + "/a", false))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("recursive");
        shared.delete(d + "/a/link", false);
        assertThat(shared.exists(d + "/a/link")).isFalse();
        assertThat(shared.exists(d + "/moved/deep/one.txt")).isTrue();
        shared.delete(d + "/a", true);
        assertThat(shared.exists(d + "/a")).isFalse();
        assertThatThrownBy(() -> shared.delete(d + "/a", true)).isInstanceOf(WorkspaceFileNotFoundException.class);
        assertThatThrownBy(() -> shared.delete("", true)).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> shared.delete("../x", true)).isInstanceOf(pathError());
        assertThatThrownBy(() -> shared.stat("../x")).isInstanceOf(pathError());
        assertThatThrownBy(() -> shared.mkdirs("a/../../x")).isInstanceOf(pathError());
        shared.writeString(d + "/file", "f");
        assertThatThrownBy(() -> shared.mkdirs(d + "/file/sub")).isInstanceOf(InvalidConfigException.class);
        shared.delete(d, true);
    }

    @Test
    void editFileReplacesExactlyOneMatchAndExplainsZeroOrSeveral() {
        String f = "tck-edit-" + UUID.randomUUID().toString().substring(0, 8) + ".txt";
        shared.writeString(f, "alpha\nbeta\nbeta\ngamma\n");
        assertThat(shared.editFile(f, "alpha\n", "ALPHA\n", false)).isEqualTo(1);
        assertThat(shared.readString(f)).isEqualTo("ALPHA\nbeta\nbeta\ngamma\n");
        assertThatThrownBy(() -> shared.editFile(f, "delta", "x", false))
                .isInstanceOf(dev.derrick.api.FileEditException.class).hasMessageContaining("not found")
                .hasMessageContaining(f);
        assertThatThrownBy(() -> shared.editFile(f, "beta", "x", false))
                .isInstanceOf(dev.derrick.api.FileEditException.class).hasMessageContaining("2 times")
                .hasMessageContaining("lines 2, 3");
        assertThat(shared.readString(f)).isEqualTo("ALPHA\nbeta\nbeta\ngamma\n");
        assertThat(shared.editFile(f, "beta", "B", true)).isEqualTo(2);
        assertThat(shared.readString(f)).isEqualTo("ALPHA\nB\nB\ngamma\n");
        assertThatThrownBy(() -> shared.editFile("tck-no-such-edit.txt", "a", "b", false))
                .isInstanceOf(WorkspaceFileNotFoundException.class);
        assertThatThrownBy(() -> shared.editFile(f, "", "b", false)).isInstanceOf(InvalidConfigException.class);
    }

    @Test
    void diffIsAPatchThatGitApplyTurnsIntoTheSameTree() throws Exception {
        Workspace ws = provider.create(config("tck-diff").build());
        try {
            if (!supports(ws, Capability.DIFF, supportsDiff())) {
                assertThatThrownBy(ws::diff).isInstanceOf(OperationNotSupportedException.class)
                        .satisfies(e -> assertThat(e.getMessage()).containsAnyOf("git", "not supported"));
                return;
            }
            assertThat(ws.diff().isEmpty()).as("a fresh workspace has no changes").isTrue();
            byte[] binary = new byte[300];
            for (int i = 0; i < binary.length; i++) {
                binary[i] = (byte) (i * 7);
            }
            ws.writeString(REPO_PATH + "/README.md", README + "a second line\n");
            ws.writeString(REPO_PATH + "/docs/new file.txt", "untracked, with a space\n");
            ws.writeFile(REPO_PATH + "/data.bin", binary);
            ws.exec("rm " + REPO_PATH + "/src/Main.java").orThrow();
            ws.writeString(REPO_PATH + "/.gitignore", "*.log\n");
            ws.writeString(REPO_PATH + "/build.log", "ignored\n");
            ws.writeString("tck-outside.txt", "outside every repository\n");

            dev.derrick.api.WorkspaceDiff diff = ws.diff();
            assertThat(diff.repositories()).hasSize(1);
            dev.derrick.api.RepositoryDiff repo = diff.repositories().get(0);
            assertThat(repo.path()).isEqualTo(REPO_PATH);
            assertThat(repo.base()).isEqualTo(firstCommit);
            assertThat(repo.files()).extracting(dev.derrick.api.ChangedFile::path)
                    .containsExactly(".gitignore", "README.md", "data.bin", "docs/new file.txt", "src/Main.java");
            assertThat(repo.files()).filteredOn(c -> c.path().equals("src/Main.java"))
                    .extracting(dev.derrick.api.ChangedFile::kind).containsExactly(dev.derrick.api.ChangeKind.DELETED);
            assertThat(repo.files()).filteredOn(c -> c.path().equals("README.md"))
                    .extracting(dev.derrick.api.ChangedFile::kind).containsExactly(dev.derrick.api.ChangeKind.MODIFIED);
            assertThat(repo.files()).filteredOn(dev.derrick.api.ChangedFile::binary)
                    .extracting(dev.derrick.api.ChangedFile::path).containsExactly("data.bin");
            assertThat(repo.patch()).contains("GIT binary patch").contains("+a second line")
                    .doesNotContain("build.log");
            if (tracksChangesOutsideRepositories()) {
                assertThat(diff.outsideTracked()).isTrue();
                assertThat(diff.outsideRepositories()).extracting(dev.derrick.api.ChangedFile::path)
                        .contains("tck-outside.txt");
                assertThat(diff.outsideRepositories()).extracting(dev.derrick.api.ChangedFile::path)
                        .noneMatch(p -> p.startsWith(REPO_PATH));
            }
            assertThat(ws.readString(REPO_PATH + "/README.md")).as("diff changes nothing")
                    .isEqualTo(README + "a second line\n");

            java.nio.file.Path clone = java.nio.file.Files.createTempDirectory("derrick-tck-apply-");
            try {
                run(clone.getParent(), "git", "clone", "-q", git.repositoryDir(REPO).toString(), clone.toString());
                run(clone, "git", "checkout", "-q", firstCommit);
                java.nio.file.Path patch = clone.resolve("../" + clone.getFileName() + ".patch");
                java.nio.file.Files.writeString(patch, repo.patch());
                try {
                    run(clone, "git", "apply", "--whitespace=nowarn", patch.toString());
                } finally {
                    java.nio.file.Files.deleteIfExists(patch);
                }
                assertThat(java.nio.file.Files.readString(clone.resolve("README.md")))
                        .isEqualTo(README + "a second line\n");
                assertThat(java.nio.file.Files.readString(clone.resolve("docs/new file.txt")))
                        .isEqualTo("untracked, with a space\n");
                assertThat(java.nio.file.Files.readAllBytes(clone.resolve("data.bin"))).isEqualTo(binary);
                assertThat(clone.resolve("src/Main.java")).doesNotExist();
                assertThat(clone.resolve("build.log")).doesNotExist();
                List<String> applied = new ArrayList<>();
                try (var walk = java.nio.file.Files.walk(clone)) {
                    walk.filter(java.nio.file.Files::isRegularFile).map(p -> clone.relativize(p).toString())
                            .filter(p -> !p.startsWith(".git/")).forEach(applied::add);
                }
                List<String> inWorkspace = new ArrayList<>(List.of(ws.exec("cd " + REPO_PATH
                        + " && find . -type f ! -path './.git/*' ! -name build.log | sed 's|^./||' | sort")
                        .orThrow().stdout().strip().split("\n")));
                java.util.Collections.sort(applied);
                assertThat(applied).isEqualTo(inWorkspace);
                for (String p : applied) {
                    assertThat(java.nio.file.Files.readAllBytes(clone.resolve(p))).as(p)
                            .isEqualTo(ws.readFile(REPO_PATH + "/" + p));
                }
            } finally {
                deleteTree(clone);
            }
            if (ws.capabilities().contains(Capability.RESET)) {
                ws.reset();
                assertThat(ws.diff().repositories().get(0).isEmpty()).as("diff after reset").isTrue();
            }
        } finally {
            ws.close();
        }
    }

    @Test
    @Timeout(120)
    void backgroundProcessesStreamTakeStdinWaitAndAreKilledAsATree() throws Exception {
        if (!supports(shared, Capability.BACKGROUND_PROCESSES, supportsBackgroundProcesses())) {
            assertThatThrownBy(() -> shared.start(ExecRequest.of("sleep 1")))
                    .isInstanceOf(OperationNotSupportedException.class);
            return;
        }
        String marker = "TCK_BG_" + UUID.randomUUID().toString().replace("-", "");
        dev.derrick.api.WorkspaceProcess p = shared.start(ExecRequest.of(
                "echo ready; read line; echo \"got $line\"; echo to-stderr >&2; (sleep 300 &) ; sleep 300")
                .withEnv(marker, "1"));
        assertThat(p.id()).isNotBlank();
        assertThat(shared.process(p.id())).contains(p);
        assertThat(shared.processes()).contains(p);
        List<String> streamed = new CopyOnWriteArrayList<>();
        try (AutoCloseable sub = p.subscribe(0, (kind, chunk) -> streamed.add(chunk))) {
            assertThat(p.waitForOutput("ready", Duration.ofSeconds(30))).isTrue();
            assertThat(p.isAlive()).isTrue();
            p.writeStdin("hello\n".getBytes(StandardCharsets.UTF_8));
            assertThat(p.waitForOutput("got hello", Duration.ofSeconds(30))).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!String.join("", streamed).contains("got hello") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(String.join("", streamed)).contains("ready").contains("got hello");
        }
        dev.derrick.api.ProcessOutput out = p.readOutput(0);
        assertThat(out.running()).isTrue();
        assertThat(out.output()).startsWith("ready\n");
        dev.derrick.api.ProcessOutput rest = p.readOutput(out.nextOffset());
        assertThat(rest.offset()).isEqualTo(out.nextOffset());
        assertThat(p.waitFor(Duration.ofMillis(200))).as("still running").isEmpty();

        ExecResult killed = p.kill();
        assertThat(killed.stdout()).contains("got hello");
        assertThat(killed.stderr()).contains("to-stderr");
        assertThat(p.isAlive()).isFalse();
        assertThat(p.info().killed()).isTrue();
        assertNoProcessLeft(shared, marker);

        dev.derrick.api.WorkspaceProcess quick = shared.start(ExecRequest.of("echo done; exit 7"));
        ExecResult r = quick.waitFor(Duration.ofSeconds(30)).orElseThrow();
        assertThat(r.exitCode()).isEqualTo(7);
        assertThat(r.stdout()).isEqualTo("done\n");
        assertThat(quick.info().exitCode()).isEqualTo(7);
        assertThat(quick.kill().exitCode()).as("killing an ended process returns its result").isEqualTo(7);
        assertThatThrownBy(() -> quick.writeStdin("x".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(DerrickException.class).hasMessageContaining("ended");

        dev.derrick.api.WorkspaceProcess limited = shared.start(ExecRequest.of("sleep 300")
                .withTimeout(Duration.ofMillis(500)));
        ExecResult timedOut = limited.waitFor(Duration.ofSeconds(30)).orElseThrow();
        assertThat(timedOut.timedOut()).as("%s", timedOut).isTrue();
        assertThatThrownBy(() -> shared.process("no-such-process").orElseThrow())
                .isInstanceOf(java.util.NoSuchElementException.class);
    }

    @Test
    @Timeout(120)
    void backgroundProcessesEndWithTheirWorkspace() throws Exception {
        if (!supports(shared, Capability.BACKGROUND_PROCESSES, supportsBackgroundProcesses())) {
            return;
        }
        Workspace ws = provider.create(config("tck-bg-close").build());
        dev.derrick.api.WorkspaceProcess p;
        try {
            p = ws.start(ExecRequest.of("echo up; sleep 300"));
            assertThat(p.waitForOutput("up", Duration.ofSeconds(30))).isTrue();
        } finally {
            ws.close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(p.isAlive()).as("a background process outlived its workspace").isFalse();
    }

    private static void run(java.nio.file.Path dir, String... command) throws Exception {
        Process proc = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!proc.waitFor(60, TimeUnit.SECONDS) || proc.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }

    private static void deleteTree(java.nio.file.Path root) throws java.io.IOException {
        if (!java.nio.file.Files.exists(root)) {
            return;
        }
        try (var walk = java.nio.file.Files.walk(root)) {
            for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        }
    }

    private static String messages(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t).append('\n');
        }
        return all.toString();
    }
}
