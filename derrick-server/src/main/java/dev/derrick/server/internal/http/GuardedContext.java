package dev.derrick.server.internal.http;

import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Reply;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;

/** A mounted servlet context (MCP) behind the same bearer-token check and body limit as the API routes. */
final class GuardedContext extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger("dev.derrick.server.http");

    private final ServletContextHandler context;
    private final RequestChecks checks;
    private final Redactor redactor;

    GuardedContext(ServletContextHandler context, RequestChecks checks, Redactor redactor) {
        super(context);
        this.context = context;
        this.checks = checks;
        this.redactor = redactor;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String p = request.getHttpURI().getPath();
        String base = context.getContextPath();
        if (p == null || !(p.equals(base) || p.startsWith(base + "/"))) {
            return false;
        }
        Reply refused = !checks.authorized(request) ? RequestChecks.unauthorized(response)
                : checks.declaredTooLarge(request, response);
        if (refused != null) {
            response.setStatus(refused.status());
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, refused.contentType());
            response.write(true, ByteBuffer.wrap(refused.body()), callback);
            log.info("{} {} {} ({})", request.getMethod(), redactor.redact(p), refused.status(), refused.errorCode());
            return true;
        }
        return super.handle(request, response, callback);
    }
}
