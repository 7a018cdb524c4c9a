package dev.derrick.server;

import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.core.Redactor;
import dev.derrick.core.git.TokenHosts;
import dev.derrick.server.internal.ApiConfigPolicy;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.ServerMode;
import dev.derrick.server.internal.ServerModes;
import dev.derrick.server.internal.ServerSettings;
import dev.derrick.server.internal.UsageException;
import dev.derrick.server.internal.nats.NatsAgentOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@code derrick} command: serves a workspace provider over HTTP (or NATS).
 *
 * <pre>
 * java -jar derrick.jar -p local -s http -w workspace.json
 * </pre>
 *
 * Exit codes: 0 after SIGTERM/SIGINT (every workspace removed), 2 for bad input (options, config file), 1 when the
 * server cannot start (port in use, provider unavailable). Errors are one line on stderr, never a stack trace.
 *
 * <p>This class creates no logger before {@code --log-level} is applied: slf4j-simple is configured from the
 * command line in {@link #main} before anything logs.
 */
@Command(name = "derrick", mixinStandardHelpOptions = true, versionProvider = DerrickCli.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = "Provisions isolated workspaces for coding agents and serves them over HTTP or NATS.",
        footer = {"", "Environment:",
                "  DERRICK_API_TOKEN  turns on bearer-token auth (every route but GET /health)",
                "  NATS_URL           default for --nats-url",
                "", "Exit codes: 0 stopped by SIGTERM/SIGINT, 1 could not start, 2 bad input."})
public final class DerrickCli implements Callable<Integer> {
    /** Log levels --log-level accepts. */
    enum Level { error, warn, info, debug, trace }

    // Checked in call(), not by picocli, so subcommands (e.g. a future `derrick cache …`) need no -p.
    @Option(names = {"-p", "--provisioning-mode"}, paramLabel = "<mode>",
            completionCandidates = ProviderNames.class,
            description = "Required. Workspace provider: ${COMPLETION-CANDIDATES} (every backend on the class path).")
    String provisioningMode;

    @Option(names = {"-w", "--workspace-config-path"}, paramLabel = "<file>",
            description = "Workspace config (JSON). Without it, every create request must carry a 'config'.")
    Path workspaceConfigPath;

    @Option(names = {"-s", "--server-mode"}, paramLabel = "<mode>", defaultValue = "http",
            completionCandidates = ModeNames.class,
            description = "How to serve: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    String serverMode;

    @Option(names = "--bind", paramLabel = "<address>", defaultValue = "127.0.0.1",
            description = "HTTP address to listen on (default: ${DEFAULT-VALUE}). A non-loopback address needs DERRICK_API_TOKEN.")
    String bind;

    @Option(names = "--port", paramLabel = "<port>", defaultValue = "50080",
            description = "HTTP port, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--nats-url", paramLabel = "<url>", defaultValue = "${env:NATS_URL:-nats://127.0.0.1:4222}",
            description = "NATS server for -s nats and -p remote_nats (default: $NATS_URL or nats://127.0.0.1:4222).")
    String natsUrl;

    @Option(names = "--cache-dir", paramLabel = "<dir>",
            description = "Where the provider keeps its setup cache (providers that have one).")
    Path cacheDir;

    @Option(names = "--pool", paramLabel = "<N>",
            description = "Keep N workspaces ready per config in use (providers local and docker): a create claims one"
                    + " (checked against its remotes) and a replacement is made in the background. With a pool, a create"
                    + " request's env goes to the workspace's commands, not to the setup script.")
    Integer pool;

    @Option(names = "--token-host", paramLabel = "<VAR=host>",
            description = "Also let create requests send the token in $VAR to host (repeatable). By default a token"
                    + " variable goes only to the hosts of the -w config's repositories that use it; a create request"
                    + " naming any other variable, or another host, is refused with 400.")
    java.util.List<String> tokenHosts = new java.util.ArrayList<>();

    @Option(names = "--allow-local-repos",
            description = "Let create requests clone file:// URLs and paths on this machine (the -w config always"
                    + " may). Off by default: an API caller could otherwise copy any repository on the server's disk.")
    boolean allowLocalRepos;

    @Option(names = "--require-fresh",
            description = "Fail a create from the cache that cannot bring every repository up to date with its remote"
                    + " (default: hand it out with a WARN; info() reports it behind).")
    boolean requireFresh;

    @Option(names = "--log-level", paramLabel = "<level>", defaultValue = "info",
            description = "error, warn, info, debug or trace (default: ${DEFAULT-VALUE}).")
    Level logLevel;

    @Option(names = "--max-body-mib", paramLabel = "<MiB>", defaultValue = "256",
            description = "Largest HTTP request body in MiB; bigger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyMib;

    @Option(names = "--http-threads", paramLabel = "<n>", defaultValue = "256",
            description = "Operations (commands, file operations, creates, ...) the HTTP server runs at once; each"
                    + " running command holds one thread; /health never waits for them (default: ${DEFAULT-VALUE}).")
    int httpThreads;

    @Option(names = "--http-max-requests-per-client", paramLabel = "<n>", defaultValue = "64",
            description = "Operations of one client (remote address) running at once; later ones wait their turn"
                    + " (default: ${DEFAULT-VALUE}).")
    int httpPerClient;

    @Option(names = "--http-max-connections", paramLabel = "<n>", defaultValue = "4096",
            description = "Open HTTP connections; past that no more are accepted until one closes"
                    + " (default: ${DEFAULT-VALUE}).")
    int httpMaxConnections;

    @Option(names = "--http-idle-timeout-s", paramLabel = "<seconds>", defaultValue = "30",
            description = "Close an HTTP connection that sends nothing (headers or body) and receives nothing for"
                    + " this long (default: ${DEFAULT-VALUE}).")
    int httpIdleTimeoutSeconds;

    @CommandLine.Mixin
    NatsAgentOptions nats = new NatsAgentOptions();

    private final Map<String, String> environment;
    private final PrintWriter err;
    private final CountDownLatch stop = new CountDownLatch(1);

    DerrickCli(Map<String, String> environment, PrintWriter err) {
        this.environment = environment;
        this.err = err;
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        configureLogging(args);
        System.exit(run(args, System.getenv(), new PrintWriter(System.err, true)));
    }

    /** Parses and runs; returns the exit code. Blocks until a stop signal when the server starts. */
    static int run(String[] args, Map<String, String> environment, PrintWriter err) {
        DerrickCli cli = new DerrickCli(environment, err);
        CommandLine cmd = new CommandLine(cli);
        cmd.setErr(err);
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.addSubcommand("cache", CacheCommand.commandLine(environment, new PrintWriter(System.out, true), err));
        cmd.setParameterExceptionHandler((ex, a) -> {
            err.println("derrick: " + oneLine(ex.getMessage()) + " (see --help)");
            return 2;
        });
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            err.println("derrick: " + oneLine(ex.toString()));
            return 1;
        });
        return cmd.execute(args);
    }

    @Override
    public Integer call() {
        try {
            return serve();
        } catch (UsageException | DerrickException | IllegalArgumentException e) {
            err.println("derrick: " + oneLine(e.getMessage()));
            return 2;
        } catch (java.io.IOException e) {
            err.println("derrick: " + oneLine(e.getMessage()));
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (Exception e) {
            err.println("derrick: cannot start: " + oneLine(String.valueOf(e)));
            return 1;
        }
    }

    private int serve() throws Exception {
        if (provisioningMode == null || provisioningMode.isBlank()) {
            throw new UsageException("missing required option -p/--provisioning-mode; available: "
                    + String.join(", ", WorkspaceProviders.available()) + " (see --help)");
        }
        ServerMode mode = ServerModes.find(serverMode).orElseThrow(() -> new UsageException("unknown server mode '"
                + serverMode + "'" + dev.derrick.api.spi.DidYouMean.hint(serverMode, ServerModes.names()) + "; available: " + String.join(", ", ServerModes.names())));
        String token = environment.get("DERRICK_API_TOKEN");
        if (token != null && token.isBlank()) {
            token = null;
        }
        Redactor redactor = new Redactor().add(token);
        // credentials in the NATS URL (nats://token@host, nats://user:password@host) are secrets too
        java.util.regex.Matcher userInfo = java.util.regex.Pattern.compile("://([^/@,\\s]+)@").matcher(
                natsUrl == null ? "" : natsUrl);
        while (userInfo.find()) {
            for (String part : userInfo.group(1).split(":")) {
                if (part.length() >= 4) {
                    redactor.add(part);
                }
            }
        }
        if (maxBodyMib < 1 || httpThreads < 1 || httpPerClient < 1 || httpMaxConnections < 1
                || httpIdleTimeoutSeconds < 1) {
            throw new UsageException("--max-body-mib, --http-threads, --http-max-requests-per-client,"
                    + " --http-max-connections and --http-idle-timeout-s must be at least 1");
        }
        if (maxBodyMib > 2047) {
            throw new UsageException("--max-body-mib must be at most 2047");
        }
        ServerSettings settings = new ServerSettings(address(bind), port, natsUrl, token, maxBodyMib * 1024 * 1024,
                httpThreads, redactor, nats, new ServerSettings.HttpLimits(httpPerClient, httpMaxConnections,
                java.time.Duration.ofSeconds(httpIdleTimeoutSeconds)));
        // what the user typed is judged before the machine is: a bad config or provider name is reported as such,
        // whatever holds the port
        WorkspaceConfig config = workspaceConfigPath == null ? null : WorkspaceConfig.fromFile(workspaceConfigPath);
        WorkspaceProviderFactory factory = WorkspaceProviders.factory(provisioningMode);
        if (!settings.bind().isLoopbackAddress() && token == null && mode.name().equals("http")) {
            throw new UsageException("refusing to listen on " + bind + " without an API token: set DERRICK_API_TOKEN"
                    + " (clients then send 'Authorization: Bearer <token>'), or use --bind 127.0.0.1");
        }
        mode.validate(settings);
        Map<String, Object> options = providerOptions(factory);
        Availability availability = factory.probe(options);
        if (!availability.available()) {
            throw new java.io.IOException("provider '" + factory.name() + "' is not available: " + availability.reason());
        }
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("dev.derrick.server");
        ApiConfigPolicy policy = apiConfigPolicy(config);
        // Every credential derrick hands to git in this process obeys the same host policy.
        TokenHosts.installProcessWide(policy.tokenHosts());
        WorkspaceProvider provider = factory.open(options);
        Operations operations = new Operations(provider, config, redactor, policy);
        AutoCloseable server;
        try {
            server = mode.start(settings, operations, stop::countDown);
        } catch (Exception e) {
            operations.close();
            throw e;
        }
        AtomicBoolean stopped = new AtomicBoolean();
        Runnable shutdown = () -> {
            if (stopped.compareAndSet(false, true)) {
                log.info("shutting down: stopping the server and removing every workspace");
                try {
                    server.close();
                } catch (Exception e) {
                    log.warn("stopping the server failed: {}", redactor.redact(String.valueOf(e)));
                }
                operations.close();
                log.info("stopped");
            }
        };
        if (config != null) {
            log.info("workspace config '{}' from {} ({} repositories)", config.name(), workspaceConfigPath,
                    config.repositories().size());
        }
        log.info("create requests may send tokens only to: {}{}", policy.tokenHosts().asMap().isEmpty() ? "nowhere"
                : policy.tokenHosts().asMap(), policy.allowLocalRepos() ? "; local repositories allowed" : "");
        Thread hook = new Thread(shutdown, "derrick-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        boolean signals = handleSignals();
        if (!signals) {
            log.debug("no signal handlers: the shutdown hook cleans up when the JVM stops");
        }
        for (String problem : WorkspaceProviders.problems()) {
            log.warn("a provider on the class path could not be loaded: {}", problem);
        }
        stop.await();
        shutdown.run();
        return 0;
    }

    /** TERM and INT end {@link #serve()} normally, so cleanup runs on the main thread and the exit code is 0. */
    @SuppressWarnings("removal")
    private boolean handleSignals() {
        try {
            for (String name : new String[] {"TERM", "INT"}) {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> stop.countDown());
            }
            return true;
        } catch (Throwable e) {
            return false;
        }
    }

    private ApiConfigPolicy apiConfigPolicy(WorkspaceConfig config) {
        TokenHosts hosts = TokenHosts.fromConfig(config);
        for (String assignment : tokenHosts) {
            try {
                hosts = hosts.plus(assignment);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        return new ApiConfigPolicy(hosts, allowLocalRepos);
    }

    private Map<String, Object> providerOptions(WorkspaceProviderFactory factory) {
        Map<String, Object> options = new LinkedHashMap<>();
        if (cacheDir != null) {
            if (!factory.supportedOptions().contains("cache_dir")) {
                throw new UsageException("provider '" + factory.name() + "' has no setup cache; --cache-dir does not apply");
            }
            options.put("cache_dir", cacheDir);
        }
        if (requireFresh) {
            if (!factory.supportedOptions().contains("require_fresh")) {
                throw new UsageException("provider '" + factory.name() + "' has no setup cache; --require-fresh does not apply");
            }
            options.put("require_fresh", "true");
        }
        if (pool != null) {
            if (!factory.supportedOptions().contains("pool")) {
                throw new UsageException("provider '" + factory.name() + "' has no warm pool; --pool does not apply"
                        + " (use it on the agents: derrick -p local|docker -s nats --pool N)");
            }
            if (pool < 0 || pool > 1000) {
                throw new UsageException("--pool must be between 0 and 1000, got " + pool);
            }
            options.put("pool", pool);
        }
        for (String key : new String[] {"nats_url", "url"}) {
            if (factory.name().equals("remote_nats") && factory.supportedOptions().contains(key)) {
                options.put(key, natsUrl);
                break;
            }
        }
        if (factory.name().equals("remote_nats") && factory.supportedOptions().contains("prefix")) {
            options.put("prefix", nats.prefix());
        }
        return options;
    }

    private static InetAddress address(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new UsageException("--bind: unknown address '" + host + "'");
        }
    }

    static String oneLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        return message.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    /** Sets slf4j-simple's properties from {@code --log-level} before any logger exists. */
    static void configureLogging(String[] args) {
        String level = "info";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-level") && i + 1 < args.length) {
                level = args[i + 1];
            } else if (args[i].startsWith("--log-level=")) {
                level = args[i].substring("--log-level=".length());
            }
        }
        level = level.toLowerCase(Locale.ROOT);
        if (!level.matches("error|warn|info|debug|trace")) {
            level = "info";
        }
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", level);
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
        setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
        // Libraries stay quiet unless asked for debug.
        String libraries = level.equals("debug") || level.equals("trace") ? level : "warn";
        setIfAbsent("org.slf4j.simpleLogger.log.org.eclipse.jgit", libraries);
        // HTTP stacks log request headers (Authorization) and wire bytes at debug: never below info
        String http = libraries.equals("warn") ? "warn" : "info";
        setIfAbsent("org.slf4j.simpleLogger.log.org.apache", http);
        setIfAbsent("org.slf4j.simpleLogger.log.com.github.dockerjava", libraries);
        setIfAbsent("org.slf4j.simpleLogger.log.io.nats", libraries);
        setIfAbsent("org.slf4j.simpleLogger.log.org.eclipse.jetty", http);
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** Provider names for --help, found through ServiceLoader. */
    static final class ProviderNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            java.util.List<String> names = WorkspaceProviders.available();
            return (names.isEmpty() ? java.util.List.of("(none found on the class path)") : names).iterator();
        }
    }

    /** Server mode names for --help. */
    static final class ModeNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ServerModes.names().iterator();
        }
    }

    /** -V: the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = DerrickCli.class.getPackage().getImplementationVersion();
            return new String[] {"derrick " + (v == null ? "(development build)" : v),
                    "Java " + System.getProperty("java.version") + ", providers: "
                            + String.join(", ", WorkspaceProviders.available())};
        }
    }
}
