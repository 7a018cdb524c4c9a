package dev.derrick.core.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProviderNotFoundException;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspaceNotFoundException;

import java.util.function.UnaryOperator;

/**
 * An error on the wire: {@code {"error": code, "message": …}} plus, for a failed command or setup script, its
 * {@code exit_code} and {@code output}. Carries an HTTP-style status so every transport reports the same thing
 * (the NATS agent puts it in a header). {@link #toException()} turns it back into the API's exception on the client
 * side.
 *
 * <table>
 *   <caption>codes</caption>
 *   <tr><th>code</th><th>status</th><th>from</th></tr>
 *   <tr><td>invalid_request</td><td>400</td><td>{@link InvalidConfigException}, malformed JSON, missing field</td></tr>
 *   <tr><td>unauthorized</td><td>401</td><td>missing or wrong bearer token</td></tr>
 *   <tr><td>workspace_not_found</td><td>404</td><td>{@link WorkspaceNotFoundException}</td></tr>
 *   <tr><td>file_not_found</td><td>404</td><td>{@link WorkspaceFileNotFoundException}</td></tr>
 *   <tr><td>checkpoint_not_found</td><td>404</td><td>{@link CheckpointNotFoundException}</td></tr>
 *   <tr><td>not_found</td><td>404</td><td>unknown route</td></tr>
 *   <tr><td>method_not_allowed</td><td>405</td><td>known path, wrong method</td></tr>
 *   <tr><td>workspace_busy</td><td>409</td><td>{@link WorkspaceBusyException}</td></tr>
 *   <tr><td>edit_failed</td><td>409</td><td>{@link dev.derrick.api.FileEditException}: the text to replace occurs
 *       0 or several times; {@code matches} says how often</td></tr>
 *   <tr><td>process_not_found</td><td>404</td><td>no background process of that id in the workspace</td></tr>
 *   <tr><td>stdin_unavailable</td><td>409</td><td>{@link dev.derrick.api.ProcessStdinException}: the process ended,
 *       its stdin is closed, or it does not read what was sent</td></tr>
 *   <tr><td>payload_too_large</td><td>413</td><td>request body over the limit</td></tr>
 *   <tr><td>setup_failed</td><td>422</td><td>{@link SetupFailedException}, with exit_code and output</td></tr>
 *   <tr><td>command_failed</td><td>422</td><td>{@code cmd} exited non-zero or timed out, with exit_code and output</td></tr>
 *   <tr><td>not_supported</td><td>501</td><td>{@link OperationNotSupportedException}</td></tr>
 *   <tr><td>git_failed</td><td>502</td><td>{@link GitOperationException}, with {@code authentication_failed: true}
 *       when the git server rejected or demanded credentials</td></tr>
 *   <tr><td>provider_unavailable</td><td>503</td><td>{@link ProviderUnavailableException}</td></tr>
 *   <tr><td>internal</td><td>500</td><td>anything else (a real fault; the server logs it)</td></tr>
 * </table>
 *
 * @param status   HTTP-style status code (not serialized)
 * @param body     the JSON body
 */
public record WireError(int status, Body body) {
    public static final String INVALID_REQUEST = "invalid_request";
    public static final String UNAUTHORIZED = "unauthorized";
    public static final String WORKSPACE_NOT_FOUND = "workspace_not_found";
    public static final String NOT_FOUND = "not_found";
    public static final String FILE_NOT_FOUND = "file_not_found";
    public static final String CHECKPOINT_NOT_FOUND = "checkpoint_not_found";
    public static final String METHOD_NOT_ALLOWED = "method_not_allowed";
    public static final String WORKSPACE_BUSY = "workspace_busy";
    public static final String STDIN_UNAVAILABLE = "stdin_unavailable";
    public static final String EDIT_FAILED = "edit_failed";
    public static final String PROCESS_NOT_FOUND = "process_not_found";
    public static final String PAYLOAD_TOO_LARGE = "payload_too_large";
    public static final String SETUP_FAILED = "setup_failed";
    public static final String COMMAND_FAILED = "command_failed";
    public static final String NOT_SUPPORTED = "not_supported";
    public static final String GIT_FAILED = "git_failed";
    public static final String PROVIDER_UNAVAILABLE = "provider_unavailable";
    public static final String INTERNAL = "internal";

    /**
     * The JSON body.
     *
     * @param error    a stable machine-readable code (see the table above)
     * @param message  a sentence for a person; never holds a secret
     * @param exitCode the command's or setup script's exit code, when one ran
     * @param output   its interleaved output, when one ran
     * @param timedOut whether the command was killed by its timeout ({@code command_failed} only)
     * @param authenticationFailed whether the git server rejected or demanded credentials ({@code git_failed} only;
     *                 {@link GitOperationException#authenticationFailed()})
     * @param matches  how often the text to replace occurs ({@code edit_failed} only)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Body(String error, String message, Integer exitCode, String output, Boolean timedOut,
                       Boolean authenticationFailed, Integer matches) {
        /** A body without {@code authentication_failed}. */
        public Body(String error, String message, Integer exitCode, String output, Boolean timedOut) {
            this(error, message, exitCode, output, timedOut, null, null);
        }

        /** A body without {@code matches}. */
        public Body(String error, String message, Integer exitCode, String output, Boolean timedOut,
                    Boolean authenticationFailed) {
            this(error, message, exitCode, output, timedOut, authenticationFailed, null);
        }
    }

    /** An error with just a code and message. */
    public static WireError of(int status, String code, String message) {
        return new WireError(status, new Body(code, message, null, null, null));
    }

    /** The {@code command_failed} error of a {@code cmd} that exited non-zero or timed out. */
    public static WireError commandFailed(ExecResult result) {
        String message = result.timedOut()
                ? "command timed out after " + result.elapsed().toMillis() + " ms"
                : "command exited with code " + result.exitCode();
        return new WireError(422, new Body(COMMAND_FAILED, message, result.exitCode(), result.output(), result.timedOut()));
    }

    /**
     * The wire form of an exception. Messages pass through {@code scrub} (e.g. a {@code Redactor}); a fault that is
     * not one of derrick's own exceptions is reported as {@code internal} with its type and scrubbed message.
     */
    public static WireError from(Throwable e, UnaryOperator<String> scrub) {
        UnaryOperator<String> s = scrub == null ? UnaryOperator.identity() : scrub;
        String message = s.apply(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        if (e instanceof InvalidConfigException || e instanceof IllegalArgumentException) {
            return of(400, INVALID_REQUEST, message);
        }
        if (e instanceof WorkspaceNotFoundException) {
            return of(404, WORKSPACE_NOT_FOUND, message);
        }
        if (e instanceof WorkspaceFileNotFoundException) {
            return of(404, FILE_NOT_FOUND, message);
        }
        if (e instanceof dev.derrick.api.ProcessNotFoundException) {
            return of(404, PROCESS_NOT_FOUND, message);
        }
        if (e instanceof CheckpointNotFoundException) {
            return of(404, CHECKPOINT_NOT_FOUND, message);
        }
        if (e instanceof WorkspaceBusyException) {
            return of(409, WORKSPACE_BUSY, message);
        }
        if (e instanceof dev.derrick.api.ProcessStdinException) {
            return of(409, STDIN_UNAVAILABLE, message);
        }
        if (e instanceof dev.derrick.api.FileEditException f) {
            return new WireError(409, new Body(EDIT_FAILED, message, null, null, null, null, f.matches()));
        }
        if (e instanceof dev.derrick.api.CommandFailedException c) {
            ExecResult r = c.result();
            return new WireError(422, new Body(COMMAND_FAILED, message, r.exitCode(), s.apply(r.output()), r.timedOut()));
        }
        if (e instanceof SetupFailedException f) {
            return new WireError(422, new Body(SETUP_FAILED, message, f.exitCode(), s.apply(f.output()), null));
        }
        if (e instanceof OperationNotSupportedException) {
            return of(501, NOT_SUPPORTED, message);
        }
        if (e instanceof GitOperationException g) {
            return new WireError(502, new Body(GIT_FAILED, message, null, null, null,
                    g.authenticationFailed() ? Boolean.TRUE : null));
        }
        if (e instanceof ProviderUnavailableException || e instanceof ProviderNotFoundException) {
            return of(503, PROVIDER_UNAVAILABLE, message);
        }
        if (e instanceof DerrickException) {
            return of(500, INTERNAL, message);
        }
        return of(500, INTERNAL, "internal error (" + e.getClass().getSimpleName() + "): " + message);
    }

    /** The API exception a client raises for this error. */
    public DerrickException toException() {
        String code = body.error() == null ? INTERNAL : body.error();
        String message = body.message() == null ? code : body.message();
        return switch (code) {
            case INVALID_REQUEST -> new InvalidConfigException(message);
            case WORKSPACE_NOT_FOUND -> new WorkspaceNotFoundException(null, message);
            case FILE_NOT_FOUND -> new WorkspaceFileNotFoundException(null, message);
            case CHECKPOINT_NOT_FOUND -> new CheckpointNotFoundException(null, message);
            case WORKSPACE_BUSY -> new WorkspaceBusyException(message);
            case STDIN_UNAVAILABLE -> new dev.derrick.api.ProcessStdinException(message);
            case EDIT_FAILED -> new dev.derrick.api.FileEditException(message,
                    body.matches() == null ? -1 : body.matches());
            case PROCESS_NOT_FOUND -> new dev.derrick.api.ProcessNotFoundException(message);
            case COMMAND_FAILED -> new dev.derrick.api.CommandFailedException(message, new ExecResult(
                    body.exitCode() == null ? -1 : body.exitCode(), null, null, body.output(), null,
                    Boolean.TRUE.equals(body.timedOut()), false));
            case SETUP_FAILED -> new SetupFailedException(message, body.exitCode() == null ? -1 : body.exitCode(),
                    body.output());
            case NOT_SUPPORTED -> new OperationNotSupportedException(message);
            case GIT_FAILED -> new GitOperationException(message, Boolean.TRUE.equals(body.authenticationFailed()), null);
            case PROVIDER_UNAVAILABLE -> new ProviderUnavailableException(message);
            default -> new DerrickException(message + " (" + code + ", status " + status + ")");
        };
    }

    /** The JSON bytes of the body. */
    public byte[] toJson() {
        return Wire.write(body);
    }
}
