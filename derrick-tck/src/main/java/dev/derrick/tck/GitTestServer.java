package dev.derrick.tck;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.http.server.GitServlet;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.transport.resolver.FileResolver;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * A real smart-HTTP git server for tests: JGit's {@link GitServlet} in an embedded Jetty on 127.0.0.1, demanding a
 * token as the HTTP Basic password (any user name) on every request. Tests create repositories and push commits to
 * them; every request is logged so a test can tell a fetch negotiation from a full clone.
 *
 * <pre>{@code
 * try (GitTestServer git = GitTestServer.start("s3cret-token")) {
 *     git.createRepository("app", Map.of("README.md", "hello"));
 *     String url = git.url("app");   // http://127.0.0.1:PORT/git/app.git
 * }
 * }</pre>
 */
public final class GitTestServer implements AutoCloseable {
    /** The branch every created repository has. */
    public static final String BRANCH = "main";

    /**
     * One request the server saw.
     *
     * @param method      HTTP method
     * @param path        path and query
     * @param status      response status
     * @param service     {@code git-upload-pack} (clone/fetch), {@code git-receive-pack} (push) or null
     * @param haves       number of {@code have} lines in an upload-pack request: 0 for a full clone, more for an
     *                    incremental fetch that negotiated with what the client had
     * @param wants       number of {@code want} lines in an upload-pack request
     * @param authorized  whether the token matched
     */
    public record Request(String method, String path, int status, String service, int haves, int wants, boolean authorized) {
        /** A POST to upload-pack that sent {@code have} lines: an incremental fetch, not a clone. */
        public boolean isNegotiatedFetch() {
            return "git-upload-pack".equals(service) && "POST".equals(method) && haves > 0;
        }

        /** A POST to upload-pack with wants and no haves: a full clone (or first fetch). */
        public boolean isFullClone() {
            return "git-upload-pack".equals(service) && "POST".equals(method) && wants > 0 && haves == 0;
        }
    }

    private final String token;
    private final Path baseDir;
    private final Server server;
    private final List<Request> log = new CopyOnWriteArrayList<>();
    private final java.util.Set<String> forbidden = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final boolean ownsBaseDir;

    private GitTestServer(String token, Path baseDir, boolean ownsBaseDir) throws Exception {
        this.token = token;
        this.baseDir = baseDir;
        this.ownsBaseDir = ownsBaseDir;
        this.server = new Server(new InetSocketAddress("127.0.0.1", 0));
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        GitServlet git = new GitServlet();
        git.setRepositoryResolver(new FileResolver<>(baseDir.toFile(), true));
        context.addServlet(new ServletHolder(git), "/git/*");
        context.addFilter(new FilterHolder(new TokenFilter()), "/*", EnumSet.of(DispatcherType.REQUEST));
        server.setHandler(context);
        server.start();
    }

    /** Starts a server that demands {@code token}, with repositories in a fresh temporary directory. */
    public static GitTestServer start(String token) {
        try {
            return new GitTestServer(token, Files.createTempDirectory("derrick-git-server"), true);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the test git server: " + e, e);
        }
    }

    /** The port it listens on (127.0.0.1). */
    public int port() {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    /** The token it demands. */
    public String token() {
        return token;
    }

    /** The clone URL of a repository; it carries no credentials. */
    public String url(String name) {
        return "http://127.0.0.1:" + port() + "/git/" + name + ".git";
    }

    /** The bare repository's directory on disk. */
    public Path repositoryDir(String name) {
        return baseDir.resolve(name + ".git");
    }

    /** Creates a bare repository with one commit on {@link #BRANCH} holding {@code files}; returns the commit id. */
    public String createRepository(String name, Map<String, String> files) {
        Path bare = repositoryDir(name);
        try {
            Git.init().setBare(true).setInitialBranch(BRANCH).setDirectory(bare.toFile()).call().close();
        } catch (GitAPIException e) {
            throw new IllegalStateException("cannot create repository " + name, e);
        }
        return commit(name, files, "initial commit");
    }

    /** Pushes a commit to {@link #BRANCH} that writes {@code files} (a null value deletes); returns its id. */
    public synchronized String commit(String name, Map<String, String> files, String message) {
        Map<String, byte[]> bytes = new java.util.LinkedHashMap<>();
        files.forEach((k, v) -> bytes.put(k, v == null ? null : v.getBytes(StandardCharsets.UTF_8)));
        return commitBytes(name, bytes, message);
    }

    /** Like {@link #commit} with binary contents. */
    public synchronized String commitBytes(String name, Map<String, byte[]> files, String message) {
        Path work = null;
        try {
            work = Files.createTempDirectory("derrick-git-work");
            Path bare = repositoryDir(name);
            try (Git git = Git.cloneRepository().setURI(bare.toUri().toString()).setDirectory(work.toFile()).call()) {
                if (git.getRepository().resolve("HEAD") == null) {
                    git.checkout().setOrphan(true).setName(BRANCH).call();
                }
                for (Map.Entry<String, byte[]> file : files.entrySet()) {
                    Path target = work.resolve(file.getKey());
                    if (file.getValue() == null) {
                        Files.deleteIfExists(target);
                        git.rm().addFilepattern(file.getKey()).call();
                    } else {
                        Files.createDirectories(target.getParent());
                        Files.write(target, file.getValue());
                    }
                }
                git.add().addFilepattern(".").call();
                PersonIdent who = new PersonIdent("derrick tests", "tests@derrick.invalid");
                RevCommit commit = git.commit().setMessage(message).setAuthor(who).setCommitter(who)
                        .setAllowEmpty(true).call();
                git.push().setRemote("origin").add("HEAD:refs/heads/" + BRANCH).call();
                return commit.name();
            }
        } catch (IOException | GitAPIException e) {
            throw new IllegalStateException("cannot commit to repository " + name + ": " + e, e);
        } finally {
            deleteRecursively(work);
        }
    }

    /** Creates a tag at the branch tip. */
    public void tag(String name, String tag) {
        try (Repository repo = Git.open(repositoryDir(name).toFile()).getRepository(); Git git = new Git(repo)) {
            git.tag().setName(tag).setObjectId(new org.eclipse.jgit.revwalk.RevWalk(repo)
                    .parseCommit(repo.resolve("refs/heads/" + BRANCH))).setAnnotated(false).call();
        } catch (IOException | GitAPIException e) {
            throw new IllegalStateException("cannot tag " + name, e);
        }
    }

    /** Every request so far, oldest first. */
    /**
     * From now on, requests for repository {@code name} with the right token get HTTP 403 (a token that may not read
     * it), so clients can be tested for telling "forbidden" from "unauthorized".
     */
    public void forbid(String name) {
        forbidden.add("/git/" + name + ".git/");
    }

    public List<Request> requestLog() {
        return List.copyOf(log);
    }

    /** Forgets the request log. */
    public void clearRequestLog() {
        log.clear();
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            // stopping a test server: nothing useful to do
        }
        if (ownsBaseDir) {
            deleteRecursively(baseDir);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // best effort for temporary test data
        }
    }

    private final class TokenFilter implements Filter {
        @Override
        public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
            HttpServletRequest request = (HttpServletRequest) req;
            HttpServletResponse response = (HttpServletResponse) res;
            String query = request.getQueryString();
            String path = request.getRequestURI() + (query == null ? "" : "?" + query);
            String service = request.getRequestURI().endsWith("git-upload-pack") || "service=git-upload-pack".equals(query)
                    ? "git-upload-pack"
                    : request.getRequestURI().endsWith("git-receive-pack") || "service=git-receive-pack".equals(query)
                    ? "git-receive-pack" : null;
            if (!authorized(request.getHeader("Authorization"))) {
                response.setHeader("WWW-Authenticate", "Basic realm=\"derrick-test-git\"");
                response.sendError(401, "token required");
                log.add(new Request(request.getMethod(), path, 401, service, 0, 0, false));
                return;
            }
            if (forbidden.stream().anyMatch(request.getRequestURI()::startsWith)) {
                response.sendError(403, "this token may not read the repository");
                log.add(new Request(request.getMethod(), path, 403, service, 0, 0, true));
                return;
            }
            HttpServletRequest forward = request;
            int haves = 0;
            int wants = 0;
            if ("POST".equals(request.getMethod()) && "git-upload-pack".equals(service)) {
                byte[] body = request.getInputStream().readAllBytes();
                byte[] plain = body;
                if ("gzip".equalsIgnoreCase(request.getHeader("Content-Encoding"))) {
                    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
                        plain = in.readAllBytes();
                    }
                }
                String text = new String(plain, StandardCharsets.ISO_8859_1);
                haves = count(text, "have ");
                wants = count(text, "want ");
                forward = new BufferedRequest(request, body);
            }
            chain.doFilter(forward, response);
            log.add(new Request(request.getMethod(), path, response.getStatus(), service, haves, wants, true));
        }

        private boolean authorized(String header) {
            if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
                return false;
            }
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return false;
            }
            int colon = decoded.indexOf(':');
            String password = colon < 0 ? "" : decoded.substring(colon + 1);
            return MessageDigest.isEqual(password.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8));
        }

        private int count(String text, String what) {
            int n = 0;
            for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
                n++;
            }
            return n;
        }
    }

    /** Replays a request body that the filter has already read. */
    private static final class BufferedRequest extends HttpServletRequestWrapper {
        private final byte[] body;

        BufferedRequest(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public ServletInputStream getInputStream() {
            ByteArrayInputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }
            };
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }
    }

}
